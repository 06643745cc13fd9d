package dev.flotilla.resilience;

import dev.flotilla.resilience.RequestClassifier.Classification;
import dev.flotilla.resilience.RequestKind.RetryPolicy;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.retry.Retry;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One logical request through the guard: per attempt, breaker permission, then a rate-limit permit (waited
 * for on a timer, never on the caller's or an event-loop thread), then the send; after it, the breaker records
 * the outcome and the retry decides whether and when to go again. The caller's future completes with the
 * last answer (an error status included; fabric8 turns it into its exception) or the last error.
 */
final class GuardedCall<T> {

    private static final Logger log = LoggerFactory.getLogger(GuardedCall.class);

    /** How the guard reads an attempt's value. */
    interface Responses<T> {
        int code(T value);

        String retryAfter(T value);

        /** Releases a value that will not be handed to the caller (closes its body). */
        void discard(T value);
    }

    private final RequestGuard guard;
    private final ApiServerGuard server;
    private final Classification classification;
    private final HttpRequest request;
    private final String verb;
    private final Supplier<CompletableFuture<T>> send;
    private final Responses<T> responses;
    private final Retry.AsyncContext<AttemptOutcome> retryContext;
    private final CompletableFuture<T> result = new CompletableFuture<>();
    private volatile CompletableFuture<T> inFlight;

    GuardedCall(RequestGuard guard, ApiServerGuard server, Classification classification, HttpRequest request,
            String verb, Supplier<CompletableFuture<T>> send, Responses<T> responses) {
        this.guard = guard;
        this.server = server;
        this.classification = classification;
        this.request = request;
        this.verb = verb;
        this.send = send;
        this.responses = responses;
        this.retryContext = classification.kind().retryPolicy() == RetryPolicy.NEVER
                ? null : server.retry.asyncContext();
    }

    CompletableFuture<T> start() {
        result.whenComplete((value, error) -> {
            if (result.isCancelled()) {
                CompletableFuture<T> current = inFlight;
                if (current != null) {
                    current.cancel(true);
                }
            }
        });
        attempt();
        return result;
    }

    private void attempt() {
        if (result.isDone()) {
            return;
        }
        boolean gated = classification.kind().gatedByBreaker();
        CircuitBreaker breaker = server.breaker;
        if (gated && !breaker.tryAcquirePermission()) {
            fail(server.unavailable(request));
            return;
        }
        if (gated) {
            // Only a look: the permission itself is taken just before sending, so a half-open probe never
            // waits in the token queue while the breaker's half-open clock runs out.
            breaker.releasePermission();
        }
        TokenBucketRateLimiter limiter = server.limiter(classification.kind().budget());
        long waitNanos = limiter.reservePermission(1);
        if (waitNanos < 0) {
            fail(new RequestThrottledException(server.apiServer, classification.kind().budget().label(),
                    limiter.getRateLimiterConfig().getTimeoutDuration(), request));
            return;
        }
        server.recordPermitWait(verb, waitNanos);
        if (waitNanos == 0) {
            send(gated);
        } else {
            GuardExecutors.after(waitNanos, () -> send(gated));
        }
    }

    private void send(boolean gated) {
        if (result.isDone()) {
            return;
        }
        if (gated && !server.breaker.tryAcquirePermission()) {
            fail(server.unavailable(request));
            return;
        }
        long start = System.nanoTime();
        CompletableFuture<T> attempt;
        try {
            attempt = send.get();
        } catch (RuntimeException | Error e) {
            attempt = CompletableFuture.failedFuture(e);
        }
        inFlight = attempt;
        if (result.isCancelled()) {
            attempt.cancel(true);
        }
        attempt.whenComplete((value, error) -> finished(value, error, System.nanoTime() - start, gated));
    }

    private void finished(T value, Throwable error, long tookNanos, boolean gated) {
        RetryPolicy policy = classification.kind().retryPolicy();
        AttemptOutcome outcome = error == null
                ? AttemptOutcome.ofResponse(responses.code(value), responses.retryAfter(value), policy,
                        server.config.maxRetryAfter())
                : AttemptOutcome.ofError(error, policy);
        if (gated) {
            switch (outcome.verdict()) {
                case SUCCESS -> server.breaker.onSuccess(tookNanos, TimeUnit.NANOSECONDS);
                case FAILURE -> server.breaker.onError(tookNanos, TimeUnit.NANOSECONDS, outcome.breakerError());
                case IGNORE -> server.breaker.releasePermission();
            }
        }
        if (!classification.kind().longRunning()) {
            server.recordLatency(verb, tookNanos);
        }
        if (outcome.code() == AttemptOutcome.NO_CODE && !(outcome.error() instanceof CancellationException)) {
            guard.attemptFailed(request, outcome.error());
        }
        if (result.isDone()) {
            if (value != null) {
                responses.discard(value);
            }
            return;
        }
        if (retryContext == null) {
            complete(value, error);
            return;
        }
        long delayMillis;
        if (error != null) {
            Throwable cause = AttemptOutcome.unwrap(error);
            delayMillis = retryContext.onError(outcome.retryable() ? new RetryableFailure(cause, outcome) : cause);
        } else {
            delayMillis = retryContext.onResult(outcome);
            if (delayMillis < 0) {
                retryContext.onComplete();
            }
        }
        if (delayMillis < 0) {
            complete(value, error);
            return;
        }
        if (value != null) {
            responses.discard(value);
        }
        if (log.isDebugEnabled()) {
            log.atDebug().addKeyValue("apiServer", server.apiServer).addKeyValue("verb", verb)
                    .addKeyValue("kind", classification.kind()).addKeyValue("code", outcome.code())
                    .addKeyValue("failure", outcome.failure()).addKeyValue("delayMs", delayMillis)
                    .log("retrying request");
        }
        GuardExecutors.after(TimeUnit.MILLISECONDS.toNanos(delayMillis), this::attempt);
    }

    private void fail(Throwable error) {
        if (retryContext != null) {
            retryContext.onError(error); // not retryable: counted as the call's end
        }
        result.completeExceptionally(error);
    }

    private void complete(T value, Throwable error) {
        if (error != null) {
            result.completeExceptionally(AttemptOutcome.unwrap(error));
        } else if (!result.complete(value)) {
            responses.discard(value);
        }
    }

    /** Marks an attempt error the retry may repeat; carries the outcome for the interval function. */
    static final class RetryableFailure extends RuntimeException {
        final transient AttemptOutcome outcome;

        RetryableFailure(Throwable cause, AttemptOutcome outcome) {
            super(cause.toString(), cause, false, false);
            this.outcome = outcome;
        }
    }
}
