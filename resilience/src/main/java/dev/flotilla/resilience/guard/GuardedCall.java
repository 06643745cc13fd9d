package dev.flotilla.resilience.guard;

import dev.flotilla.core.fence.Admission;
import dev.flotilla.core.fence.WriteFence;
import dev.flotilla.core.fence.WriteTarget;
import dev.flotilla.resilience.guard.RequestClassifier.Classification;
import dev.flotilla.resilience.guard.RequestKind.RetryPolicy;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.retry.Retry;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One logical request through the guard: per attempt, breaker permission, then a rate-limit permit (waited
 * for on a timer, never on the caller's or an event-loop thread), then the send; after it, the breaker records
 * the outcome and the retry decides whether and when to go again. The caller's future completes with the
 * last answer (an error status included; the HTTP client turns it into its exception) or the last error.
 */
final class GuardedCall<T> {

    private static final Logger log = LoggerFactory.getLogger(GuardedCall.class);

    private final ApiServerGuard server;
    private final Classification classification;
    private final String verb;
    private final Supplier<CompletableFuture<T>> send;
    private final Transport<T> transport;
    private final Retry.AsyncContext<AttemptOutcome> retryContext;
    private final CompletableFuture<T> result = new CompletableFuture<>();
    private volatile CompletableFuture<T> inFlight;
    private static final int ADMITTING = 0;
    private static final int SENDING = 1;
    private static final int STRUCK = 2;
    /** What a write changes (null for anything else): every attempt asks the fence first. */
    private final WriteTarget target;
    private final WriteFence fence;

    GuardedCall(ApiServerGuard server, Classification classification, String verb, Supplier<CompletableFuture<T>> send,
            Transport<T> transport, WriteTarget target, WriteFence fence) {
        this.server = server;
        this.target = target;
        this.fence = fence;
        this.classification = classification;
        this.verb = verb;
        this.send = send;
        this.transport = transport;
        this.retryContext = classification.mayRetry() ? server.retry.asyncContext() : null;
    }

    CompletableFuture<T> start() {
        result.whenComplete((value, error) -> {
            // A write goes on being tracked until its attempt really ends: cancelling the caller's future must
            // not end it early, or a handover could release the shard with the write still on the wire.
            if (result.isCancelled() && target == null) {
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
        boolean gated = classification.gatedByBreaker();
        CircuitBreaker breaker = server.breaker;
        if (gated && !breaker.tryAcquirePermission()) {
            fail(transport.notSent(server.unavailable()));
            return;
        }
        if (gated) {
            // Only a look: the permission itself is taken just before sending, so a half-open probe never
            // waits in the token queue while the breaker's half-open clock runs out.
            breaker.releasePermission();
        }
        TokenBucketRateLimiter limiter = server.limiter(classification.budget());
        long waitNanos = limiter.reservePermission(1);
        if (waitNanos < 0) {
            fail(transport.notSent(new NotSent.Throttled(server.apiServer, classification.budget().label(),
                    limiter.getRateLimiterConfig().getTimeoutDuration())));
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
            fail(transport.notSent(server.unavailable()));
            return;
        }
        Runnable done = null;
        WriteAttempt write = target == null ? null : new WriteAttempt();
        if (write != null) {
            // Last thing before the bytes leave: a permit wait or a backoff may have outlived the shard.
            Admission admission;
            try {
                admission = fence.admit(target, write::strike);
            } catch (RuntimeException e) {
                admission = new Admission.Refused("the write fence failed: " + e);
            }
            switch (admission) {
                case Admission.Refused refused -> {
                    if (gated) {
                        server.breaker.releasePermission(); // says nothing about the server
                    }
                    server.recordFenced(verb);
                    fail(transport.notSent(new NotSent.Fenced(server.apiServer, target, refused.reason())));
                    return;
                }
                case Admission.Admitted admitted -> done = admitted.done();
            }
            if (result.isDone() || !write.state.compareAndSet(ADMITTING, SENDING)) {
                // Cancelled, or fenced, between the admission and here: nothing leaves.
                done.run();
                if (gated) {
                    server.breaker.releasePermission();
                }
                if (!result.isDone()) {
                    server.recordFenced(verb);
                    fail(transport.notSent(new NotSent.Fenced(server.apiServer, target,
                            "the shard was fenced as the write was admitted")));
                }
                return;
            }
        }
        long start = System.nanoTime();
        CompletableFuture<T> attempt;
        try {
            attempt = send.get();
        } catch (RuntimeException | Error e) {
            attempt = CompletableFuture.failedFuture(e);
        }
        inFlight = attempt;
        if (result.isCancelled() && target == null) {
            attempt.cancel(true);
        }
        if (write != null) {
            write.sent = attempt;
            if (write.state.get() == STRUCK) {
                attempt.cancel(true); // struck as it was handed over: ask the client to drop it
            }
        }
        Runnable attemptDone = done;
        attempt.whenComplete((value, error) -> {
            if (attemptDone != null) {
                attemptDone.run();
            }
            finished(value, error, System.nanoTime() - start, gated);
        });
    }

    private void finished(T value, Throwable error, long tookNanos, boolean gated) {
        // The policy only when the outcome needs it: a write's may need its body read (RequestClassifier.Classification).
        Supplier<RetryPolicy> policy = classification::retryPolicy;
        AttemptOutcome outcome = error == null
                ? AttemptOutcome.ofResponse(transport.status(value), transport.retryAfter(value).orElse(null), policy,
                        server.config.retry().maxRetryAfter())
                : AttemptOutcome.ofError(error, policy, transport);
        if (gated) {
            switch (outcome.verdict()) {
                case SUCCESS -> server.breaker.onSuccess(tookNanos, TimeUnit.NANOSECONDS);
                case FAILURE -> server.breaker.onError(tookNanos, TimeUnit.NANOSECONDS, outcome.breakerError());
                case IGNORE -> server.breaker.releasePermission();
            }
        } else if (outcome.verdict() == AttemptOutcome.Verdict.SUCCESS && outcome.code() != AttemptOutcome.NO_CODE) {
            server.answeredOutsideTheBreaker();
        }
        if (!classification.longRunning()) {
            server.recordLatency(verb, tookNanos);
        }
        if (outcome.code() == AttemptOutcome.NO_CODE && !(outcome.error() instanceof CancellationException)) {
            transport.attemptFailed(outcome.error());
        }
        if (result.isDone()) {
            if (value != null) {
                transport.discard(value);
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
            transport.discard(value);
        }
        if (log.isDebugEnabled()) {
            log.atDebug().addKeyValue("apiServer", server.apiServer).addKeyValue("verb", verb)
                    .addKeyValue("kind", classification.kind()).addKeyValue("code", outcome.code())
                    .addKeyValue("failure", outcome.failure()).addKeyValue("delayMs", delayMillis)
                    .log("retrying request");
        }
        GuardExecutors.after(TimeUnit.MILLISECONDS.toNanos(delayMillis), this::attempt);
    }

    /**
     * One write attempt from its admission by the fence to its end. The fence may strike it at any point:
     * before it is handed to the HTTP client it is not sent; after, the caller hears at once that it was
     * fenced (not a cancellation, which a reconcile would count as an error) and the client is asked to drop
     * it (it cannot be recalled once on the wire: the server may still apply it, which the lease's safety
     * margin covers). The strike's work runs on a guard thread: the fencing thread must not run the caller's
     * stages.
     */
    private final class WriteAttempt {
        final AtomicInteger state = new AtomicInteger(ADMITTING);
        volatile CompletableFuture<T> sent;

        void strike() {
            if (state.compareAndSet(ADMITTING, STRUCK)) {
                return; // not handed over yet: send() sees it and sends nothing
            }
            state.set(STRUCK);
            GuardExecutors.now(() -> {
                if (!result.isDone()) {
                    server.recordFenced(verb);
                    fail(transport.notSent(new NotSent.Fenced(server.apiServer, target,
                            "the shard was fenced while the write was in flight", true)));
                }
                CompletableFuture<T> attempt = sent;
                if (attempt != null) {
                    attempt.cancel(true);
                }
            });
        }
    }

    private void fail(Throwable error) {
        if (result.completeExceptionally(error) && retryContext != null) {
            retryContext.onError(error); // not retryable: counted as the call's end, once
        }
    }

    private void complete(T value, Throwable error) {
        if (error != null) {
            result.completeExceptionally(AttemptOutcome.unwrap(error));
        } else if (!result.complete(value)) {
            transport.discard(value);
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
