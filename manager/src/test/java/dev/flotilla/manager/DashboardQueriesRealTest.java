package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flotilla.manager.aot.AotTraining;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.api.WorkloadKind;
import dev.flotilla.tuning.controller.ScriptedExporter;
import dev.flotilla.tuning.controller.TunerMetrics;
import dev.flotilla.tuning.signals.PrometheusServer;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every dashboard query returns data from real replicas: three sharded {@code flotilla run --prometheus-url} processes
 * on the REAL API server (deploy RBAC, tuner included) mirror source ConfigMaps through updates, one is SIGKILLed and the
 * others take its shards over, while a real Prometheus scrapes them with the target labels a ServiceMonitor adds
 * ({@code job}, {@code namespace}, {@code pod}, {@code container}, {@code instance}) and a scripted cAdvisor the tuner
 * reads. Then each template variable ({@code label_values} through Prometheus's label API) must have values, and each
 * panel target, with the variables set as Grafana would and {@code $__rate_interval} as 1m, at least one series.
 */
@WithCluster(auditLog = true)
class DashboardQueriesRealTest {

    private static final String JOB = "flotilla-metrics";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyPanelAndVariableQueryReturnsSeriesFromRealReplicas(TestCluster cluster, TestNamespace ns) throws Exception {
        long started = System.nanoTime();
        KubernetesClient admin = cluster.client();
        Path dir = Path.of("target", "dashboard-queries");
        Files.createDirectories(dir);
        DeployTunerAuditTest.installShippedCrd(admin);
        admin.serviceAccounts().inNamespace(ns.name()).resource(new ServiceAccountBuilder().withNewMetadata()
                .withName(DeployManifests.SERVICE_ACCOUNT).endMetadata().build()).create();
        ShippedRbac rbac = new ShippedRbac(true, ns.name(), "");
        rbac.grant(admin, DeployManifests.SERVICE_ACCOUNT, -1, -1, "");
        String node = "node-" + ns.name();
        String tuned = ("tuned-" + ns.name()).substring(0, Math.min(63, 6 + ns.name().length())).replaceAll("-+$", "");
        List<Process> replicas = new ArrayList<>();
        List<Integer> ports = List.of(PrometheusServer.freePort(), PrometheusServer.freePort(), PrometheusServer.freePort());
        List<PrometheusServer.Target> targets = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            // The labels a ServiceMonitor's endpoints discovery attaches (instance is the address itself).
            targets.add(new PrometheusServer.Target("127.0.0.1:" + ports.get(i), Map.of("namespace", ns.name(),
                    "pod", "flotilla-" + i, "container", "flotilla", "service", JOB)));
        }
        // Prometheus scrapes as the ServiceMonitor does: HTTPS, its own ServiceAccount's token, bound to the reader role.
        String reader = MetricsScrape.account(admin, ns, "prometheus", true);
        try (ScriptedExporter exporter = new ScriptedExporter();
                PrometheusServer prometheus = PrometheusServer.start(List.of(new PrometheusServer.Job(JOB, targets, Optional.of(reader)),
                        new PrometheusServer.Job("cadvisor", List.of(new PrometheusServer.Target(exporter.target(), Map.of())))))) {
            admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(node).endMetadata().build()).create();
            admin.nodes().resource(new NodeBuilder(admin.nodes().withName(node).get()).withNewStatus()
                    .withAllocatable(DeployTunerAuditTest.res("7", "16Gi")).withCapacity(DeployTunerAuditTest.res("7", "16Gi"))
                    .endStatus().build()).updateStatus();
            DeployTunerAuditTest.workload(admin, exporter, tuned, node, false, null);
            DeployTunerAuditTest.shippedKillSwitch(admin, ns.name());
            List<String> sources = DeployRbacAuditTest.sources(admin, ns, "dash", 12);
            Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, dir.resolve("kubeconfig"));
            for (int i = 0; i < 3; i++) {
                String pod = "flotilla-" + i;
                admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                        .withNewSpec().addNewContainer().withName("flotilla").withImage("flotilla").endContainer().endSpec()
                        .build()).create();
                replicas.add(DeployRbacAuditTest.start(dir.resolve(pod + ".log"), kubeconfig, ns.name(), pod,
                        "--metrics-port", String.valueOf(ports.get(i)), "--prometheus-url", prometheus.uri().toString()));
            }
            admin.resource(DeployTunerAuditTest.policy(tuned, "Apply", WorkloadKind.Deployment)).create();
            DeployRbacAuditTest.awaitMirrored(admin, sources, "1", replicas);
            for (String s : sources) {
                admin.resource(AotTraining.source(s, "2")).update();
            }
            DeployRbacAuditTest.awaitMirrored(admin, sources, "2", replicas);
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                    assertThat(admin.resources(ResourceTuningPolicy.class).inNamespace(tuned).withName("web").get().getStatus())
                            .as("the tuner sized the workload").isNotNull()
                            .satisfies(st -> assertThat(st.getContainers()).isNotEmpty()));
            Files.writeString(dir.resolve("flotilla-0.metrics"), MetricsScrape.get(URI.create("https://127.0.0.1:" + ports.get(0)
                    + "/metrics"), Optional.of(reader), MetricsScrape.trustAll()).body());

            Process killed = replicas.remove(2);
            killed.destroyForcibly(); // SIGKILL: its shards move to the others after a lease duration
            assertThat(killed.waitFor(10, TimeUnit.SECONDS)).isTrue();
            for (String s : sources) {
                admin.resource(AotTraining.source(s, "3")).update();
            }
            DeployRbacAuditTest.awaitMirrored(admin, sources, "3", replicas);
            // The mirrors' recovery says nothing of the tuned namespace's shard: when the killed replica held it, its
            // gauges went stale at its first failed scrape, and a survivor exports them again only once it has taken
            // that shard (a lease duration later) and re-run the policy. Wait for that, not for a fixed time (a
            // run that queried 3 s after the mirrors found the tuner's panels empty).
            String survivors = "exported_namespace=\"" + tuned + "\", pod!=\"flotilla-2\"";
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1)).until(() ->
                    series(prometheus.uri(), TunerMetrics.RECOMMENDED_CPU_CORES + "{" + survivors + "}") > 0
                            && series(prometheus.uri(), TunerMetrics.CURRENT_MEMORY_BYTES + "{" + survivors + "}") > 0);
            Thread.sleep(3000); // a few more scrapes of the survivors

            int variables = 0;
            int queries = 0;
            List<String> empty = new ArrayList<>();
            for (Dashboards.Dashboard d : Dashboards.load()) {
                Map<String, String> values = new LinkedHashMap<>();
                for (Dashboards.Variable v : Dashboards.variables(d.json())) {
                    String selector = Dashboards.substitute(v.selector(), "1m", values);
                    List<String> found = labelValues(prometheus.uri(), v.label(), selector);
                    variables++;
                    if (found.isEmpty()) {
                        empty.add(d.file() + " variable " + v.name() + ": label_values(" + selector + ", " + v.label() + ")");
                        values.put(v.name(), "no-value");
                        continue;
                    }
                    // Grafana's "All" of a multi-value variable is the values as one regex alternation.
                    values.put(v.name(), v.multi() ? found.stream().map(DashboardQueriesRealTest::regexQuote)
                            .collect(Collectors.joining("|", "(", ")")) : found.getFirst());
                }
                for (String expr : Dashboards.expressions(d.json())) {
                    String query = Dashboards.substitute(expr, "1m", values);
                    queries++;
                    if (series(prometheus.uri(), query) == 0) {
                        empty.add(d.file() + ": " + query);
                    }
                }
            }
            // The check can fail: a query for a pod that never existed has no series.
            assertThat(series(prometheus.uri(), "controller_runtime_reconcile_total{pod=\"no-such-pod\"}")).isZero();
            System.out.printf("DASHBOARD-QUERIES variables=%d queries=%d empty=%d took=%.0fs%n", variables, queries, empty.size(),
                    (System.nanoTime() - started) / 1e9);
            assertThat(empty).as("dashboard queries without a series").isEmpty();
        } finally {
            replicas.forEach(Process::destroyForcibly);
            rbac.revoke(admin);
            admin.nodes().withName(node).delete();
        }
    }

    private static String regexQuote(String value) {
        // RE2 metacharacters, each behind a backslash, itself doubled inside a PromQL string.
        return value.replaceAll("([.\\\\+*?\\[^\\]$(){}|])", "\\\\\\\\$1");
    }

    private static String get(URI uri) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s: %s", uri, r.body()).isEqualTo(200);
        return r.body();
    }

    private static int series(URI prometheus, String query) throws Exception {
        JsonNode answer = JSON.readTree(get(prometheus.resolve("/api/v1/query?query=" + URLEncoder.encode(query,
                StandardCharsets.UTF_8))));
        assertThat(answer.path("status").asText()).as("%s: %s", query, answer).isEqualTo("success");
        return answer.path("data").path("result").size();
    }

    private static List<String> labelValues(URI prometheus, String label, String selector) throws Exception {
        JsonNode answer = JSON.readTree(get(prometheus.resolve("/api/v1/label/" + label + "/values?match[]="
                + URLEncoder.encode(selector, StandardCharsets.UTF_8))));
        List<String> out = new ArrayList<>();
        answer.path("data").forEach(v -> out.add(v.asText()));
        return out;
    }
}
