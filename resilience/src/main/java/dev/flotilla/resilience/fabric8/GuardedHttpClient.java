package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.RequestClassifier;
import dev.flotilla.resilience.guard.RequestGuard;
import dev.flotilla.resilience.guard.RequestKind;
import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A fabric8 {@link HttpClient} whose every request passes the {@link RequestGuard}: plain requests
 * ({@link #sendAsync}), streamed ones ({@link #consumeBytes}: watches, logs) and WebSockets (exec, attach,
 * port-forward). Built by {@link GuardedHttpClientFactory}; clients derived from it ({@link #newBuilder()}) share the
 * guard.
 */
final class GuardedHttpClient implements HttpClient {

    private final HttpClient delegate;
    private final RequestGuard guard;
    private final AttemptMetrics metrics;

    GuardedHttpClient(HttpClient delegate, RequestGuard guard, AttemptMetrics metrics) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.guard = Objects.requireNonNull(guard, "guard");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    HttpClient delegate() {
        return delegate;
    }

    RequestGuard guard() {
        return guard;
    }

    @Override
    public <V> CompletableFuture<HttpResponse<V>> sendAsync(HttpRequest request, Class<V> type) {
        return guard.execute(request.uri(), RequestClassifier.classify(new Fabric8Request(request)), verb(request),
                () -> delegate.sendAsync(request, type), new Fabric8Call.Responses<>(request, metrics));
    }

    @Override
    public CompletableFuture<HttpResponse<AsyncBody>> consumeBytes(HttpRequest request,
            AsyncBody.Consumer<List<ByteBuffer>> consumer) {
        RequestClassifier.Classification classification = RequestClassifier.classify(new Fabric8Request(request));
        // A watch's events reach fabric8's WatchHTTPManager as ASCII: it decodes each buffer on its own, and loses
        // multi-byte characters (AsciiJsonStream). Other streams (logs) are not JSON and pass unchanged. (Only a
        // decided kind is looked at: a write's kind may need its body read.)
        boolean watch = classification instanceof RequestClassifier.Classification.Decided d
                && (d.kind() == RequestKind.WATCH || d.kind() == RequestKind.LEASE_WATCH);
        AsyncBody.Consumer<List<ByteBuffer>> decoded = watch ? new AsciiWatchConsumer(consumer) : consumer;
        return guard.execute(request.uri(), classification, verb(request),
                () -> delegate.consumeBytes(request, decoded), new Fabric8Call.Responses<>(request, metrics));
    }

    /** Hands a watch's buffers to fabric8 re-encoded as ASCII, one {@link AsciiJsonStream} per response. */
    private static final class AsciiWatchConsumer implements AsyncBody.Consumer<List<ByteBuffer>> {

        private final AsyncBody.Consumer<List<ByteBuffer>> delegate;
        private final AsciiJsonStream ascii = new AsciiJsonStream();

        AsciiWatchConsumer(AsyncBody.Consumer<List<ByteBuffer>> delegate) {
            this.delegate = delegate;
        }

        @Override
        public void consume(List<ByteBuffer> value, AsyncBody asyncBody) throws Exception {
            List<ByteBuffer> out = new ArrayList<>(value.size());
            for (ByteBuffer b : value) {
                out.add(ascii.next(b));
            }
            delegate.consume(out, asyncBody);
        }

        @Override
        public <U> U unwrap(Class<U> target) {
            return delegate.unwrap(target);
        }
    }

    @Override
    public WebSocket.Builder newWebSocketBuilder() {
        return new GuardedWebSocketBuilder(delegate.newWebSocketBuilder(), guard, metrics);
    }

    @Override
    public HttpRequest.Builder newHttpRequestBuilder() {
        return delegate.newHttpRequestBuilder();
    }

    @Override
    public DerivedClientBuilder newBuilder() {
        return new GuardedHttpClientBuilder.Derived(delegate.newBuilder(), guard, metrics);
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
}
