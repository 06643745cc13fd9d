package dev.flotilla.resilience;

import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.utils.HttpClientUtils;
import java.util.Objects;

/**
 * A fabric8 {@link HttpClient.Factory} decorator: the clients it builds send every request through a
 * {@link RequestGuard}, so a {@code KubernetesClient} built with it is guarded everywhere (informer LIST and
 * WATCH, reconcile reads and writes, lease renewals) without any change to the code that uses the client.
 * Prefer {@link GuardedClients#newClient}, which also installs the request metrics.
 *
 * <pre>{@code
 * KubernetesClient client = new KubernetesClientBuilder()
 *         .withConfig(config)
 *         .withHttpClientFactory(new GuardedHttpClientFactory(RequestGuard.create(GuardConfig.defaults(), registry)))
 *         .build();
 * }</pre>
 */
public final class GuardedHttpClientFactory implements HttpClient.Factory {

    private final HttpClient.Factory delegate;
    private final RequestGuard guard;

    /** Decorates fabric8's default factory (the highest-priority one on the class path: Vert.x 5). */
    public GuardedHttpClientFactory(RequestGuard guard) {
        this(HttpClientUtils.getHttpClientFactory(), guard);
    }

    public GuardedHttpClientFactory(HttpClient.Factory delegate, RequestGuard guard) {
        if (delegate instanceof GuardedHttpClientFactory) {
            throw new IllegalArgumentException("the factory is already guarded; two guards would multiply retries");
        }
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.guard = Objects.requireNonNull(guard, "guard");
    }

    public RequestGuard guard() {
        return guard;
    }

    @Override
    public HttpClient.Builder newBuilder() {
        return new GuardedHttpClientBuilder(delegate.newBuilder(), guard);
    }

    @Override
    public int priority() {
        return delegate.priority();
    }
}
