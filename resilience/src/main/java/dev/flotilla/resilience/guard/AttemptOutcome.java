package dev.flotilla.resilience.guard;

import dev.flotilla.core.reconcile.CauseChain;

import dev.flotilla.resilience.guard.RequestKind.RetryPolicy;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalInt;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * What one attempt came to, and what the breaker and the retry make of it. The rules:
 *
 * <ul>
 *   <li>Breaker: 5xx answers, timeouts and connection errors are failures; 429 is neither (the server is up
 *       and asks for patience); TLS trust failures and client-side errors (the HTTP client's own, as its
 *       {@link Transport#isClientFailure} says) are neither (they say nothing about the server, and an open
 *       breaker would hide them); every other answer, 404/409/422 included, is a success. A failure that
 *       carries a status ({@link Transport#statusOf}: a refused WebSocket upgrade) counts as that answer.</li>
 *   <li>Retry, for {@link RetryPolicy#IDEMPOTENT} requests: 429, 500, 502, 503, 504, timeouts and connection
 *       errors. For {@link RetryPolicy#NOT_PROCESSED_ONLY}: 429 and failures to connect, the only outcomes
 *       that prove the server did not process the request.</li>
 *   <li>Wait: {@code Retry-After} of a 429 or 503 when it parses (capped), otherwise the jittered backoff.</li>
 * </ul>
 */
record AttemptOutcome(int code, Failure failure, Throwable error, boolean retryable, Duration retryAfter,
        Verdict verdict) {

    /** No HTTP status: the attempt failed before an answer. */
    static final int NO_CODE = -1;

    /** How an attempt without an HTTP answer failed. */
    enum Failure {
        /** No connection was made (refused, unknown host, no route, connect timeout): nothing was sent. */
        NOT_CONNECTED,
        /** The request or the answer timed out. */
        TIMEOUT,
        /** The connection broke (reset, closed, EOF) after the request may have been sent. */
        CONNECTION,
        /** The server's certificate is not trusted: deterministic, retrying cannot help. */
        TLS,
        /** Anything else: client closed, cancelled, an interceptor failed. */
        OTHER
    }

    /** What the circuit breaker records. */
    enum Verdict {
        SUCCESS, FAILURE, IGNORE
    }

    static AttemptOutcome ofResponse(int code, String retryAfterHeader, RetryPolicy policy, Duration maxRetryAfter) {
        return ofResponse(code, retryAfterHeader, () -> policy, maxRetryAfter);
    }

    /**
     * As {@link #ofResponse(int, String, RetryPolicy, Duration)}, asking {@code policy} only for an answer some
     * policy retries (429, 500, 502, 503, 504): a write's policy may need its body read.
     */
    static AttemptOutcome ofResponse(int code, String retryAfterHeader, Supplier<RetryPolicy> policy,
            Duration maxRetryAfter) {
        boolean retriedBySome = code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
        boolean retryable = retriedBySome && switch (policy.get()) {
            case IDEMPOTENT -> true;
            case NOT_PROCESSED_ONLY -> code == 429;
            case NEVER -> false;
        };
        Duration retryAfter = null;
        if (retryable && (code == 429 || code == 503)) {
            retryAfter = RetryAfter.parse(retryAfterHeader, Instant.now(), maxRetryAfter).orElse(null);
        }
        Verdict verdict = code >= 500 ? Verdict.FAILURE : code == 429 ? Verdict.IGNORE : Verdict.SUCCESS;
        return new AttemptOutcome(code, null, null, retryable, retryAfter, verdict);
    }

    static AttemptOutcome ofError(Throwable error, RetryPolicy policy, Transport<?> transport) {
        return ofError(error, () -> policy, transport);
    }

    /** As {@link #ofError(Throwable, RetryPolicy, Transport)}, asking {@code policy} only for a failure some policy retries. */
    static AttemptOutcome ofError(Throwable error, Supplier<RetryPolicy> policy, Transport<?> transport) {
        Throwable cause = unwrap(error);
        OptionalInt status = transport.statusOf(cause);
        if (status.isPresent()) {
            AttemptOutcome answered = ofResponse(status.getAsInt(), null, policy, Duration.ZERO);
            return new AttemptOutcome(answered.code, null, cause, answered.retryable, null, answered.verdict);
        }
        Failure failure = classify(cause, transport);
        boolean retriedBySome = failure == Failure.NOT_CONNECTED || failure == Failure.TIMEOUT
                || failure == Failure.CONNECTION;
        boolean retryable = retriedBySome && switch (policy.get()) {
            case IDEMPOTENT -> true;
            case NOT_PROCESSED_ONLY -> failure == Failure.NOT_CONNECTED;
            case NEVER -> false;
        };
        Verdict verdict = switch (failure) {
            case NOT_CONNECTED, TIMEOUT, CONNECTION -> Verdict.FAILURE;
            case TLS, OTHER -> Verdict.IGNORE;
        };
        return new AttemptOutcome(NO_CODE, failure, cause, retryable, null, verdict);
    }

    /** The exception the breaker records for a failed attempt: cheap, no stack trace. */
    Throwable breakerError() {
        if (error != null && code == NO_CODE) {
            return error;
        }
        return new ServerError(code);
    }

    static Failure classify(Throwable error, Transport<?> transport) {
        Failure found = null;
        boolean io = false;
        for (Throwable t : CauseChain.of(error)) {
            if (t instanceof CancellationException || transport.isClientFailure(t)) {
                return Failure.OTHER;
            }
            if (t instanceof SSLHandshakeException || t instanceof SSLPeerUnverifiedException
                    || t instanceof CertificateException) {
                return Failure.TLS;
            }
            // Netty's connect timeout is a ConnectException too: the connection was never made.
            if (t instanceof ConnectException || t instanceof UnknownHostException
                    || t instanceof NoRouteToHostException || t instanceof UnresolvedAddressException) {
                found = Failure.NOT_CONNECTED;
            } else if (found == null && (t instanceof TimeoutException || t instanceof SocketTimeoutException
                    || t.getClass().getSimpleName().endsWith("TimeoutException"))) {
                found = Failure.TIMEOUT;
            }
            io |= t instanceof IOException || t.getClass().getName().startsWith("io.vertx.")
                    || t.getClass().getName().startsWith("io.netty.");
        }
        if (found != null) {
            return found;
        }
        return io ? Failure.CONNECTION : Failure.OTHER;
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** A 5xx answer, as the breaker records it. */
    static final class ServerError extends IOException {
        ServerError(int code) {
            super("HTTP " + code, null);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
