package dev.flotilla.core.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.metrics.RestClientMetrics;
import dev.flotilla.core.reconcile.Result;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Scrapes /metrics the way Prometheus does and checks controller-runtime's names and labels. */
@WithCluster
class MetricsEndpointTest {

    private static HttpResponse<String> get(int port, String path) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void metricsCarryControllerRuntimeNamesAndLabelsAndProbesReportState(TestCluster cluster, TestNamespace ns) throws Exception {
        var registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (KubernetesClient instrumented = new KubernetesClientBuilder().withConfig(cluster.config())
                .withHttpClientBuilderConsumer(b -> RestClientMetrics.install(b, registry)).build()) {
            var calls = new AtomicInteger();
            Manager manager = new Manager(instrumented,
                    ManagerOptions.defaults().withHealthPort(0).withHealthBindAddress("127.0.0.1"),
                    KeyGate.admitAll(), registry);
            try (manager) {
                manager.controller(io.fabric8.kubernetes.api.model.ConfigMap.class).named("scraped")
                        .withLabelSelector("scrape=" + ns.name())
                        .complete(r -> calls.incrementAndGet() == 1
                                ? Result.failed(new RuntimeException("first try fails")) : Result.done());
                instrumented.resource(new ConfigMapBuilder().withNewMetadata().withName("a").withNamespace(ns.name())
                        .addToLabels("scrape", ns.name()).endMetadata().build()).create();
                manager.start();
                int port = manager.healthPort();
                await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() >= 2);

                HttpResponse<String> metrics = get(port, "/metrics");
                assertThat(metrics.statusCode()).isEqualTo(200);
                assertThat(metrics.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
                String body = metrics.body();
                assertThat(body)
                        .contains("controller_runtime_reconcile_total{controller=\"scraped\",result=\"success\"} 1.0")
                        .contains("controller_runtime_reconcile_total{controller=\"scraped\",result=\"error\"} 1.0")
                        .contains("controller_runtime_reconcile_total{controller=\"scraped\",result=\"requeue\"} 0.0")
                        .contains("controller_runtime_reconcile_total{controller=\"scraped\",result=\"requeue_after\"} 0.0")
                        .contains("controller_runtime_reconcile_errors_total{controller=\"scraped\"} 1.0")
                        .contains("controller_runtime_terminal_reconcile_errors_total{controller=\"scraped\"} 0.0")
                        .contains("controller_runtime_reconcile_time_seconds_bucket{controller=\"scraped\",le=\"0.005\"}")
                        .contains("controller_runtime_reconcile_time_seconds_count{controller=\"scraped\"} 2")
                        .contains("controller_runtime_max_concurrent_reconciles{controller=\"scraped\"} 2")
                        .contains("controller_runtime_active_workers{controller=\"scraped\"}")
                        .contains("workqueue_depth{controller=\"scraped\",name=\"scraped\"} 0")
                        .contains("workqueue_adds_total{controller=\"scraped\",name=\"scraped\"} 2.0")
                        .contains("workqueue_retries_total{controller=\"scraped\",name=\"scraped\"} 1.0")
                        .contains("workqueue_queue_duration_seconds_bucket{controller=\"scraped\",name=\"scraped\",le=\"1.0E-8\"}")
                        .contains("workqueue_work_duration_seconds_count{controller=\"scraped\",name=\"scraped\"} 2")
                        .contains("workqueue_unfinished_work_seconds{controller=\"scraped\",name=\"scraped\"}")
                        .contains("workqueue_longest_running_processor_seconds{controller=\"scraped\",name=\"scraped\"}")
                        .containsPattern("rest_client_requests_total\\{code=\"200\",host=\"[^\"]+\",method=\"GET\"\\} [1-9]")
                        .containsPattern("rest_client_requests_total\\{code=\"201\",host=\"[^\"]+\",method=\"POST\"\\} 1.0");
                // No object names or paths leak into labels.
                assertThat(body).doesNotContain("/api/v1");

                assertThat(get(port, "/healthz").statusCode()).isEqualTo(200);
                HttpResponse<String> ready = get(port, "/readyz");
                assertThat(ready.statusCode()).isEqualTo(200);
                assertThat(ready.body()).isEqualTo("ok\n");
            }
        }
    }

    @Test
    void readyzExplainsWhyItIsNotReady(KubernetesClient client) throws Exception {
        Manager manager = new Manager(client,
                ManagerOptions.defaults().withHealthPort(0).withHealthBindAddress("127.0.0.1")
                        .withCacheSyncTimeout(Duration.ofSeconds(5)),
                KeyGate.admitAll());
        try (manager) {
            manager.controller(io.fabric8.kubernetes.api.model.ConfigMap.class).named("late").complete(r -> Result.done());
            assertThat(manager.readinessProblems()).containsExactly("manager is new");
            manager.start();
            assertThat(get(manager.healthPort(), "/readyz").statusCode()).isEqualTo(200);
        }
    }
}
