package dev.flotilla.bench;

import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.http.StandardHttpRequest;
import io.fabric8.kubernetes.client.http.TlsVersion;
import io.fabric8.kubernetes.client.http.WebSocket;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * A fabric8 HTTP transport that answers every request at once, in the calling thread, with the same 200 and
 * body: no sockets, no event loop. Lets a benchmark measure what sits above the transport (fabric8's DSL and
 * deserialization, and the guard) without the noise of a network round trip.
 */
final class InMemoryHttpClientFactory implements HttpClient.Factory {

    private final byte[] body;

    InMemoryHttpClientFactory(String body) {
        this.body = body.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public HttpClient.Builder newBuilder() {
        return new MemoryBuilder();
    }

    private final class MemoryBuilder implements HttpClient.Builder {
        @Override
        public HttpClient build() {
            return new Client();
        }

        @Override
        public HttpClient.DerivedClientBuilder tag(Object value) {
            return this;
        }

        @Override
        public HttpClient.Builder connectTimeout(long connectTimeout, TimeUnit unit) {
            return this;
        }

        @Override
        public HttpClient.Builder websocketPingInterval(long interval, TimeUnit unit) {
            return this;
        }

        @Override
        public HttpClient.Builder addOrReplaceInterceptor(String name, Interceptor interceptor) {
            return this;
        }

        @Override
        public HttpClient.Builder authenticatorNone() {
            return this;
        }

        @Override
        public HttpClient.Builder sslContext(KeyManager[] keyManagers, TrustManager[] trustManagers) {
            return this;
        }

        @Override
        public HttpClient.Builder followAllRedirects() {
            return this;
        }

        @Override
        public HttpClient.Builder proxyAddress(InetSocketAddress proxyAddress) {
            return this;
        }

        @Override
        public HttpClient.Builder proxyAuthorization(String credentials) {
            return this;
        }

        @Override
        public HttpClient.Builder tlsVersions(TlsVersion... tlsVersions) {
            return this;
        }

        @Override
        public HttpClient.Builder tlsServerName(String serverName) {
            return this;
        }

        @Override
        public HttpClient.Builder preferHttp11() {
            return this;
        }

        @Override
        public HttpClient.Builder proxyType(HttpClient.ProxyType type) {
            return this;
        }
    }

    private final class Client implements HttpClient {
        private volatile boolean closed;

        @Override
        @SuppressWarnings("unchecked")
        public <V> CompletableFuture<HttpResponse<V>> sendAsync(HttpRequest request, Class<V> type) {
            Object value;
            if (type == byte[].class) {
                value = body;
            } else if (type == String.class) {
                value = new String(body, StandardCharsets.UTF_8);
            } else if (type == java.io.InputStream.class) {
                value = new ByteArrayInputStream(body);
            } else if (type == java.io.Reader.class) {
                value = new InputStreamReader(new ByteArrayInputStream(body), StandardCharsets.UTF_8);
            } else {
                return CompletableFuture.failedFuture(new UnsupportedOperationException("body type " + type));
            }
            return CompletableFuture.completedFuture(new Response<>(request, (V) value));
        }

        @Override
        public CompletableFuture<HttpResponse<AsyncBody>> consumeBytes(HttpRequest request,
                AsyncBody.Consumer<List<ByteBuffer>> consumer) {
            return CompletableFuture.failedFuture(new UnsupportedOperationException("streaming"));
        }

        @Override
        public WebSocket.Builder newWebSocketBuilder() {
            throw new UnsupportedOperationException("websocket");
        }

        @Override
        public HttpRequest.Builder newHttpRequestBuilder() {
            return new StandardHttpRequest.Builder();
        }

        @Override
        public DerivedClientBuilder newBuilder() {
            return new MemoryBuilder();
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private record Response<V>(HttpRequest request, V body) implements HttpResponse<V> {
        private static final Map<String, List<String>> HEADERS = Map.of("Content-Type", List.of("application/json"));

        @Override
        public int code() {
            return 200;
        }

        @Override
        public Optional<HttpResponse<?>> previousResponse() {
            return Optional.empty();
        }

        @Override
        public List<String> headers(String key) {
            return HEADERS.getOrDefault(key, List.of());
        }

        @Override
        public Map<String, List<String>> headers() {
            return HEADERS;
        }
    }
}
