package dev.flotilla.resilience.guard;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * How the guard drives one call over an HTTP client it does not know: it reads an attempt's answer, learns what
 * it cannot tell from a failure alone, and asks for the exception to fail with when it sends nothing. The fabric8
 * adapter ({@code dev.flotilla.resilience.fabric8}) implements it for fabric8's responses and WebSockets.
 *
 * <pre>{@code
 * RequestGuard guard;                     // this API server's guard
 * OutgoingRequest request;                // what the client is about to send
 * Transport<String> transport;            // reads the client's answers (here: bodies as strings)
 * Supplier<CompletableFuture<String>> send; // one attempt over the client
 * CompletableFuture<String> answer = guard.execute(request.uri(), RequestClassifier.classify(request),
 *         request.method(), send, transport);
 * }</pre>
 *
 * @param <T> what an attempt yields: a response, a WebSocket
 */
public interface Transport<T> {

    /** The HTTP status of an attempt's answer. */
    int status(T answer);

    /** The answer's {@code Retry-After} header, if it has one. */
    Optional<String> retryAfter(T answer);

    /** Releases an answer that will not reach the caller (closes its body). */
    void discard(T answer);

    /**
     * The HTTP status a failed attempt nevertheless carries, e.g. a WebSocket upgrade the server answered with
     * 503; the guard treats it like that answer.
     */
    default OptionalInt statusOf(Throwable failure) {
        return OptionalInt.empty();
    }

    /**
     * Whether {@code failure} (one link of a failure's cause chain) is the HTTP client's own, e.g. an interceptor
     * that could not refresh a token: it says nothing about the server, so the breaker ignores it and it is not
     * retried.
     */
    default boolean isClientFailure(Throwable failure) {
        return false;
    }

    /** Called for every attempt that ended without an answer, e.g. to count it in request metrics. */
    default void attemptFailed(Throwable failure) {
    }

    /** The exception the call fails with when the guard did not send it. */
    RuntimeException notSent(NotSent reason);
}
