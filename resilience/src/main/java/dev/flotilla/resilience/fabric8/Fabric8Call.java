package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.NotSent;
import dev.flotilla.resilience.guard.Transport;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpHeaders;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.WebSocket;
import io.fabric8.kubernetes.client.http.WebSocketHandshakeException;
import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * fabric8's side of one guarded call: what fabric8's failures mean, the request metrics, and the exceptions a
 * fabric8 caller expects when the guard sends nothing ({@link ApiServerUnavailableException},
 * {@link RequestThrottledException}: {@link KubernetesClientException}s, so blocking calls rethrow them as they
 * are). {@link Responses} reads HTTP responses, {@link Sockets} WebSocket upgrades.
 */
abstract sealed class Fabric8Call<T> implements Transport<T> {

    static final String RETRY_AFTER = "Retry-After";

    /** The request, for exceptions and metrics; null for a WebSocket whose builder does not expose it. */
    private final HttpRequest request;
    private final AttemptMetrics metrics;

    private Fabric8Call(HttpRequest request, AttemptMetrics metrics) {
        this.request = request;
        this.metrics = metrics;
    }

    /** A refused WebSocket upgrade carries the server's answer. */
    @Override
    public OptionalInt statusOf(Throwable failure) {
        return failure instanceof WebSocketHandshakeException handshake && handshake.getResponse() != null
                ? OptionalInt.of(handshake.getResponse().code())
                : OptionalInt.empty();
    }

    /** fabric8 wraps its own failures (an interceptor's, a token refresh's) in a KubernetesClientException. */
    @Override
    public boolean isClientFailure(Throwable failure) {
        return failure instanceof KubernetesClientException;
    }

    @Override
    public void attemptFailed(Throwable failure) {
        metrics.unanswered(request, failure);
    }

    @Override
    public RuntimeException notSent(NotSent reason) {
        return switch (reason) {
            case NotSent.BreakerOpen open -> new ApiServerUnavailableException(open, request);
            case NotSent.Throttled throttled -> new RequestThrottledException(throttled, request);
            case NotSent.Fenced fenced -> new WriteFencedException(fenced, request);
        };
    }

    /** A header by name, ignoring case whatever the implementation's map does. */
    static String header(HttpHeaders headers, String name) {
        String value = headers.header(name);
        if (value != null) {
            return value;
        }
        Map<String, List<String>> all = headers.headers();
        if (all != null) {
            for (var e : all.entrySet()) {
                if (name.equalsIgnoreCase(e.getKey()) && e.getValue() != null && !e.getValue().isEmpty()) {
                    return e.getValue().get(0);
                }
            }
        }
        return null;
    }

    /** Reads fabric8 HTTP responses (of {@code sendAsync} and {@code consumeBytes}). */
    static final class Responses<R extends HttpResponse<?>> extends Fabric8Call<R> {

        Responses(HttpRequest request, AttemptMetrics metrics) {
            super(request, metrics);
        }

        @Override
        public int status(R response) {
            return response.code();
        }

        @Override
        public Optional<String> retryAfter(R response) {
            return Optional.ofNullable(header(response, RETRY_AFTER));
        }

        @Override
        public void discard(R response) {
            Object body = response.body();
            if (body instanceof AsyncBody async) {
                async.cancel();
            } else if (body instanceof Closeable closeable) {
                try {
                    closeable.close();
                } catch (IOException ignored) {
                    // a response we are dropping: nothing to do
                }
            }
        }
    }

    /** Reads WebSocket upgrades: an open socket is a 101; a refused one fails with the server's answer. */
    static final class Sockets extends Fabric8Call<WebSocket> {

        Sockets(HttpRequest request, AttemptMetrics metrics) {
            super(request, metrics);
        }

        @Override
        public int status(WebSocket socket) {
            return 101; // Switching Protocols: the upgrade succeeded
        }

        @Override
        public Optional<String> retryAfter(WebSocket socket) {
            return Optional.empty();
        }

        @Override
        public void discard(WebSocket socket) {
            socket.sendClose(1000, null);
        }
    }
}
