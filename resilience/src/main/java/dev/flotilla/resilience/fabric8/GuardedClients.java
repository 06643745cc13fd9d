package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The one way Flotilla builds a Kubernetes client: every request passes the guard (rate limits, circuit breaker
 * per API server, retry with full jitter and {@code Retry-After}), fabric8's own request retry is off so there is
 * exactly one retry layer, and {@code rest_client_requests_total{code,method,host}} counts every attempt.
 *
 * <pre>{@code
 * Config config = Config.autoConfigure(null);
 * RequestGuard guard = RequestGuard.create(GuardConfig.from(SettingsFile.read(Path.of("flotilla.properties"))), registry);
 * try (KubernetesClient client = GuardedClients.newClient(config, guard)) {
 *     client.configMaps().inNamespace("shop").withName("settings").get();   // guarded
 * } catch (ApiServerUnavailableException e) {
 *     // breaker open, nothing sent: back off for at least e.retryAfter()
 * }
 * }</pre>
 */
public final class GuardedClients {

    private GuardedClients() {
    }

    /** A guarded client with a new guard of {@code guardConfig}, metrics in {@code registry}. */
    public static KubernetesClient newClient(Config config, GuardConfig guardConfig, MeterRegistry registry) {
        return newClient(config, RequestGuard.create(guardConfig, registry));
    }

    /**
     * A guarded client, with core's {@code rest_client_requests_total} in the guard's registry. Sets
     * {@code config.requestRetryBackoffLimit} to 0 and {@code config.onlyHttpWatches} to true (in place, so that what
     * the config says matches what the client does); the guard also strips fabric8's retry from every request
     * configuration that reaches the HTTP client. Watches stream over HTTP rather than a WebSocket: the JDK's
     * WebSocket can miss the end of a connection and leave an informer waiting forever.
     * fabric8's watch reconnects (with their own backoff) are kept: they are how an informer recovers, and each
     * reconnect passes the guard. Keep {@code guard} to read breaker states, e.g. for a readiness check.
     */
    public static KubernetesClient newClient(Config config, RequestGuard guard) {
        return newClient(config, new GuardedHttpClientFactory(guard));
    }

    /**
     * As {@link #newClient(Config, RequestGuard)}, over {@code httpClients} rather than fabric8's pick (the
     * highest-priority factory on the class path: the JDK's, as in {@code flotilla run}).
     */
    public static KubernetesClient newClient(Config config, RequestGuard guard, HttpClient.Factory httpClients) {
        return newClient(config, new GuardedHttpClientFactory(httpClients, guard));
    }

    private static KubernetesClient newClient(Config config, GuardedHttpClientFactory factory) {
        config.setRequestRetryBackoffLimit(0);
        // Watches stream over HTTP, as client-go's do, never over a WebSocket. The JDK's WebSocket (25.0.3) loses the
        // end of a connection that arrives while its listener has no outstanding demand: its transport reads the EOF
        // without checking demand, its acknowledgeReception() then throws InternalError on the selector thread, and
        // neither onClose nor onError is ever called. fabric8 asks for the next frame only after it has handled the
        // last one, so a watch whose connection dies right behind an event (a server restart, a proxy cut) hung with
        // its socket in CLOSE_WAIT and its informer stale until its watch timed out, 5-10 minutes on (CutWatchesTest).
        // fabric8's own HTTP watch mangles multi-byte characters; GuardedHttpClient feeds it ASCII (AsciiJsonStream).
        config.setOnlyHttpWatches(true);
        return new KubernetesClientBuilder()
                .withConfig(config)
                .withHttpClientFactory(factory)
                .withHttpClientBuilderConsumer(factory::installRestClientMetrics)
                .build();
    }
}
