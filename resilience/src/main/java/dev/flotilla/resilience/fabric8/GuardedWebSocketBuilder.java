package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.RequestClassifier;
import dev.flotilla.resilience.guard.RequestGuard;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.StandardWebSocketBuilder;
import io.fabric8.kubernetes.client.http.WebSocket;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Opens WebSockets (exec, attach, port-forward; watches only on a client configured for them, which
 * {@link GuardedClients} never is) through the guard: the
 * breaker may reject the connection, it costs one rate-limit permit, and it is never retried here (fabric8's
 * watch manager reconnects with its own backoff, and each reconnect passes the guard again). A connection lost
 * without a close frame reaches the listener as an error ({@link AbnormalClosureListener}).
 */
final class GuardedWebSocketBuilder implements WebSocket.Builder {

    private final WebSocket.Builder delegate;
    private final RequestGuard guard;
    private final AttemptMetrics metrics;
    private URI uri;

    GuardedWebSocketBuilder(WebSocket.Builder delegate, RequestGuard guard, AttemptMetrics metrics) {
        this.delegate = delegate;
        this.guard = guard;
        this.metrics = metrics;
    }

    @Override
    public CompletableFuture<WebSocket> buildAsync(WebSocket.Listener given) {
        WebSocket.Listener listener = new AbnormalClosureListener(given);
        if (uri == null) {
            return delegate.buildAsync(listener); // fabric8 reports the missing URI
        }
        HttpRequest request = delegate instanceof StandardWebSocketBuilder standard ? standard.asHttpRequest() : null;
        return guard.execute(uri, RequestClassifier.classifyWebSocket(uri), "GET",
                () -> delegate.buildAsync(listener), new Fabric8Call.Sockets(request, metrics));
    }

    @Override
    public WebSocket.Builder subprotocol(String protocol) {
        delegate.subprotocol(protocol);
        return this;
    }

    @Override
    public WebSocket.Builder header(String name, String value) {
        delegate.header(name, value);
        return this;
    }

    @Override
    public WebSocket.Builder setHeader(String k, String v) {
        delegate.setHeader(k, v);
        return this;
    }

    @Override
    public WebSocket.Builder uri(URI uri) {
        this.uri = uri;
        delegate.uri(uri);
        return this;
    }

    @Override
    public WebSocket.Builder connectTimeout(long timeout, TimeUnit timeUnit) {
        delegate.connectTimeout(timeout, timeUnit);
        return this;
    }
}
