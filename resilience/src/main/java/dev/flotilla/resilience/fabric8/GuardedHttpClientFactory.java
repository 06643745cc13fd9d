package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.RequestGuard;
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
 * var factory = new GuardedHttpClientFactory(RequestGuard.create(
 *         dev.flotilla.resilience.guard.GuardConfig.defaults(), registry));
 * KubernetesClient client = new KubernetesClientBuilder()
 *         .withConfig(config)
 *         .withHttpClientFactory(factory)
 *         .withHttpClientBuilderConsumer(factory::installRestClientMetrics) // optional
 *         .build();
 * }</pre>
 */
public final class GuardedHttpClientFactory implements HttpClient.Factory {

    private final HttpClient.Factory delegate;
    private final RequestGuard guard;
    private final AttemptMetrics metrics;

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
        this.metrics = new AttemptMetrics(guard.meterRegistry());
    }

    public RequestGuard guard() {
        return guard;
    }

    /**
     * Installs core's {@code rest_client_requests_total{code,method,host}} (in the guard's registry) on a builder
     * of this factory's clients, and makes their guarded calls count the attempts that got no answer
     * ({@code code="<error>"}): fabric8 8 reports a connection failure to interceptors only from inside its own
     * retry decision, which the guard switches off. For {@code KubernetesClientBuilder.withHttpClientBuilderConsumer}.
     */
    public void installRestClientMetrics(HttpClient.Builder builder) {
        metrics.install(builder);
    }

    @Override
    public HttpClient.Builder newBuilder() {
        return new GuardedHttpClientBuilder(delegate.newBuilder(), guard, metrics);
    }

    @Override
    public int priority() {
        return delegate.priority();
    }
}
