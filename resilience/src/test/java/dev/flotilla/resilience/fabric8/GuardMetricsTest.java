package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** What the guard exports, as Prometheus scrapes it. */
class GuardMetricsTest {

    @Test
    void exportsClientGoAndResilience4jMetricsTaggedByApiServerWithoutPaths() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (StubApiServer stub = StubApiServer.start()) {
            AtomicInteger n = new AtomicInteger();
            stub.respond((exchange, request) -> {
                if (n.incrementAndGet() == 2) {
                    StubApiServer.status(exchange, 503);
                } else {
                    StubApiServer.ok(exchange, request);
                }
            });
            GuardConfig config = TestClients.quiet().retryMaxAttempts(2).build();
            String scrape;
            try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), config, registry)) {
                client.configMaps().withName("secret-object-name").get();
                client.configMaps().withName("secret-object-name").get(); // 503, then retried
                client.leases().withName("secret-lease-name").get();
                stub.respond((exchange, request) -> StubApiServer.status(exchange, 404));
                assertThat(client.configMaps().withName("secret-object-name").get()).isNull();
                stub.respond((exchange, request) -> StubApiServer.status(exchange, 500));
                assertThatThrownBy(() -> client.configMaps().inNamespace("secret-namespace").withName("x").get())
                        .isInstanceOf(KubernetesClientException.class);
                // Resilience4j's gauges follow the live guard (weakly referenced): scrape while the client is open.
                scrape = registry.scrape();
            }
            String host = stub.apiServer();
            List<String> lines = Arrays.stream(scrape.split("\n")).filter(l -> !l.startsWith("#")).toList();

            assertThat(lines).anyMatch(l -> l.startsWith("rest_client_requests_total{code=\"200\",host=\"" + host
                    + "\",method=\"GET\"} 3"));
            assertThat(lines).anyMatch(l -> l.startsWith("rest_client_requests_total{code=\"503\",host=\"" + host
                    + "\",method=\"GET\"} 1"));
            assertThat(lines).anyMatch(l -> l.startsWith("rest_client_request_duration_seconds_bucket{host=\"" + host
                    + "\",verb=\"GET\",le=\"0.005\"}"));
            assertThat(lines).anyMatch(l -> l.startsWith("rest_client_request_duration_seconds_count{host=\"" + host
                    + "\",verb=\"GET\"} 7"));
            assertThat(lines).anyMatch(l -> l.startsWith("rest_client_rate_limiter_duration_seconds_count{host=\""
                    + host + "\",verb=\"GET\"} 7"));
            assertThat(lines).anyMatch(l -> l.startsWith("resilience4j_circuitbreaker_state{host=\"" + host
                    + "\",name=\"" + host + "\",state=\"closed\"} 1"));
            assertThat(lines).anyMatch(l -> l.startsWith("resilience4j_circuitbreaker_calls_seconds_count{host=\""
                    + host + "\",kind=\"failed\",name=\"" + host + "\"}"));
            assertThat(lines).anyMatch(l -> l.startsWith("resilience4j_ratelimiter_available_permissions{budget=\"requests\",host=\""
                    + host + "\",name=\"" + host + "/requests\"}"));
            assertThat(lines).anyMatch(l -> l.startsWith("resilience4j_ratelimiter_available_permissions{budget=\"leases\",host=\""
                    + host + "\",name=\"" + host + "/leases\"}"));
            assertThat(lines).anyMatch(l -> l.startsWith("resilience4j_retry_calls_total{host=\"" + host
                    + "\",kind=\"successful_with_retry\",name=\"" + host + "\"} 1"));
            assertThat(lines).anyMatch(l -> l.startsWith("resilience4j_retry_calls_total{host=\"" + host
                    + "\",kind=\"failed_with_retry\",name=\"" + host + "\"} 1"));
            // No paths, object names or namespaces in any label.
            assertThat(scrape).doesNotContain("secret-", "/api", "configmaps", "namespaces");
        }
    }
}
