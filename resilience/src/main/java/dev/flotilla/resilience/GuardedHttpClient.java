package dev.flotilla.resilience;

import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpHeaders;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.WebSocket;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A fabric8 {@link HttpClient} whose every request passes the {@link RequestGuard}: plain requests
 * ({@link #sendAsync}), streamed ones ({@link #consumeBytes}: HTTP watches, logs) and WebSockets (watches,
 * exec). Built by {@link GuardedHttpClientFactory}; clients derived from it ({@link #newBuilder()}) share the
 * guard.
 */
final class GuardedHttpClient implements HttpClient {

    static final String RETRY_AFTER = "Retry-After";

    private final HttpClient delegate;
    private final RequestGuard guard;

    GuardedHttpClient(HttpClient delegate, RequestGuard guard) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.guard = Objects.requireNonNull(guard, "guard");
    }

    HttpClient delegate() {
        return delegate;
    }

    RequestGuard guard() {
        return guard;
    }

    @Override
    public <V> CompletableFuture<HttpResponse<V>> sendAsync(HttpRequest request, Class<V> type) {
        return guard.execute(request.uri(), RequestClassifier.classify(request), request, verb(request),
                () -> delegate.sendAsync(request, type), HttpResponses.instance());
    }

    @Override
    public CompletableFuture<HttpResponse<AsyncBody>> consumeBytes(HttpRequest request,
            AsyncBody.Consumer<List<ByteBuffer>> consumer) {
        return guard.execute(request.uri(), RequestClassifier.classify(request), request, verb(request),
                () -> delegate.consumeBytes(request, consumer), HttpResponses.instance());
    }

    @Override
    public WebSocket.Builder newWebSocketBuilder() {
        return new GuardedWebSocketBuilder(delegate.newWebSocketBuilder(), guard);
    }

    @Override
    public HttpRequest.Builder newHttpRequestBuilder() {
        return delegate.newHttpRequestBuilder();
    }

    @Override
    public DerivedClientBuilder newBuilder() {
        return new GuardedHttpClientBuilder.Derived(delegate.newBuilder(), guard);
    }

    @Override
    public boolean isClosed() {
        return delegate.isClosed();
    }

    @Override
    public void close() {
        delegate.close();
    }

    private static String verb(HttpRequest request) {
        return request.method() == null ? "GET" : request.method().toUpperCase(Locale.ROOT);
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

    /** Reads fabric8 responses for the guard. */
    @SuppressWarnings("rawtypes")
    static final class HttpResponses implements GuardedCall.Responses<HttpResponse> {
        private static final HttpResponses INSTANCE = new HttpResponses();

        @SuppressWarnings("unchecked")
        static <R extends HttpResponse<?>> GuardedCall.Responses<R> instance() {
            return (GuardedCall.Responses<R>) (GuardedCall.Responses<?>) INSTANCE;
        }

        @Override
        public int code(HttpResponse response) {
            return response.code();
        }

        @Override
        public String retryAfter(HttpResponse response) {
            return header(response, RETRY_AFTER);
        }

        @Override
        public void discard(HttpResponse response) {
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
}
