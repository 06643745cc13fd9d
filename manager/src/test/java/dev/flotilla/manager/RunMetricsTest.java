package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.sharding.ShardMetrics;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code flotilla run} serves on {@code /metrics} for the alerts of deploy/components/monitoring: the process
 * metrics under the client libraries' names, each once, with this process's numbers; the JVM's; and sharding's shard
 * count and Lease renewal failures at zero.
 */
@WithCluster
class RunMetricsTest {

    @TempDir
    Path tmp;

    @Test
    void flotillaRunServesProcessJvmAndShardingMetrics(TestCluster cluster, TestNamespace ns) throws Exception {
        Path kubeconfig = tmp.resolve("kubeconfig");
        Files.writeString(kubeconfig, cluster.kubeconfigYaml());
        String pod = "flotilla-0";
        cluster.client().pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                .withNewSpec().addNewContainer().withName("flotilla").withImage("flotilla").endContainer().endSpec().build())
                .create();
        Path log = tmp.resolve("run.log");
        // Plain metrics on any free port, which the log names (SecureMetricsTest covers the secure default).
        Process replica = DeployRbacAuditTest.start(log, kubeconfig, ns.name(), pod, 0, "--metrics-port", "0",
                "--metrics-secure=false");
        try {
            AtomicReference<String> url = new AtomicReference<>();
            Pattern metricsUrl = Pattern.compile("http://[^\\s\"]+/metrics");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
                Matcher m = metricsUrl.matcher(Files.readString(log));
                return m.find() && url.compareAndSet(null, m.group());
            });
            HttpClient http = HttpClient.newHttpClient();
            AtomicReference<String> scrape = new AtomicReference<>();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                scrape.set(http.send(HttpRequest.newBuilder(URI.create(url.get())).build(), HttpResponse.BodyHandlers.ofString())
                        .body());
                assertThat(scrape.get()).contains(ShardMetrics.SHARDS + " 8.0");
            });
            List<String> lines = scrape.get().lines().filter(l -> !l.startsWith("#")).toList();
            for (String name : List.of(MetricNames.PROCESS_CPU_SECONDS_TOTAL, MetricNames.PROCESS_RESIDENT_MEMORY_BYTES,
                    MetricNames.PROCESS_OPEN_FDS, MetricNames.PROCESS_MAX_FDS, MetricNames.PROCESS_START_TIME_SECONDS)) {
                assertThat(lines).as("samples of %s", name).filteredOn(l -> l.startsWith(name + " ")).hasSize(1);
            }
            double start = lines.stream().filter(l -> l.startsWith(MetricNames.PROCESS_START_TIME_SECONDS + " "))
                    .mapToDouble(l -> Double.parseDouble(l.split(" ")[1])).findFirst().orElseThrow();
            Instant started = replica.info().startInstant().orElseThrow();
            assertThat(start).as("the replica's own start").isCloseTo(started.toEpochMilli() / 1000.0,
                    org.assertj.core.data.Offset.offset(2.0));
            assertThat(lines).anyMatch(l -> l.startsWith("jvm_memory_used_bytes{"))
                    .anyMatch(l -> l.startsWith("jvm_threads_live_threads "))
                    .anyMatch(l -> l.startsWith("jvm_classes_loaded_classes "));
            for (ShardMetrics.LeaseKind kind : ShardMetrics.LeaseKind.values()) {
                assertThat(lines).contains(ShardMetrics.LEASE_RENEWAL_FAILURES_TOTAL + "{" + ShardMetrics.LABEL_LEASE + "=\""
                        + kind.label() + "\"} 0.0");
            }
            System.out.printf("RunMetricsTest: /metrics of flotilla run: %d bytes, %d samples%n", scrape.get().length(),
                    lines.size());
        } finally {
            replica.destroyForcibly().waitFor();
        }
    }
}
