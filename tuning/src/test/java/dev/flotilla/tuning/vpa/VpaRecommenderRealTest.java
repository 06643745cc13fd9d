package dev.flotilla.tuning.vpa;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.testing.ClusterBackend;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.tuning.signals.PrometheusServer;
import dev.flotilla.tuning.vpa.VpaRecommenderProcess.ContainerRecommendation;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The real VPA recommender (v1.8.1) on the REAL API server, with the node agent's series in a real Prometheus as its
 * only usage history (no metrics-server): one Deployment, two Running Pods, two containers each with steady scripted
 * usage. Expected before measuring, from the recommender's rules (target = the end of the histogram bucket holding the
 * 90th percentile, plus the 15% safety margin; buckets grow by 5% from 10m cores / 10 MB): each target between 1.15x
 * and about 1.21x of the scripted usage (1.26x for 50m, where the buckets are relatively wider); asserted within
 * [0.9x, 1.5x] of the usage and within one bucket of the exact bucket end x 1.15.
 */
@WithCluster(backends = ClusterBackend.REAL)
class VpaRecommenderRealTest {

    static final String AGENT_JOB = "flotilla-node-agent";
    static final String KSM_JOB = "kube-state-metrics";
    static final long MIB = 1L << 20;
    /** container -> (cores, working set bytes), the same in both pods. */
    static final Map<String, double[]> USAGE = Map.of("app", new double[] {0.4, 600 * MIB}, "sidecar", new double[] {0.05, 300 * MIB});

    @Test
    void recommendsFromPrometheusHistoryAloneWithinToleranceOfTheScriptedUsage(TestCluster cluster, TestNamespace ns) throws Exception {
        long t0 = System.nanoTime();
        VpaRecommenderProcess.Tool tool = VpaRecommenderProcess.Tool.build();
        long built = System.nanoTime();
        KubernetesClient client = cluster.client();
        VpaRecommenderProcess.installCrds(client, tool.crds());
        long crds = System.nanoTime();
        try (AgentSeriesExporter agent = AgentSeriesExporter.agent(); AgentSeriesExporter ksm = AgentSeriesExporter.podLabels();
                PrometheusServer prometheus = PrometheusServer.start(List.of(
                        new PrometheusServer.Job(AGENT_JOB, List.of(new PrometheusServer.Target(agent.target(), Map.of()))),
                        new PrometheusServer.Job(KSM_JOB, List.of(new PrometheusServer.Target(ksm.target(), Map.of())))))) {
            long promReady = System.nanoTime();
            Map<String, String> labels = Map.of("app", "web");
            var requests = new ResourceRequirementsBuilder().withRequests(Map.of("cpu", new Quantity("100m"), "memory",
                    new Quantity("128Mi"))).build();
            var containers = USAGE.keySet().stream().sorted().map(c -> new ContainerBuilder().withName(c).withImage("example/" + c + ":1")
                    .withResources(requests).build()).toList();
            client.resource(new DeploymentBuilder().withNewMetadata().withName("web").withNamespace(ns.name()).endMetadata()
                    .withNewSpec().withReplicas(2).withSelector(new LabelSelectorBuilder().addToMatchLabels(labels).build())
                    .withNewTemplate().withNewMetadata().addToLabels(labels).endMetadata().withNewSpec().withContainers(containers)
                    .endSpec().endTemplate().endSpec().build()).create();
            for (int i = 0; i < 2; i++) {
                Pod pod = client.resource(new PodBuilder().withNewMetadata().withName("web-" + i).withNamespace(ns.name())
                        .addToLabels(labels).endMetadata().withNewSpec().withNodeName("node-a").withContainers(containers).endSpec()
                        .build()).create();
                // As a kubelet would: the recommender watches only Pods whose phase is not Pending.
                pod.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Running")
                        .withContainerStatuses(containers.stream().map(c -> new ContainerStatusBuilder().withName(c.getName())
                                .withImage(c.getImage()).withImageID("").withReady(true).withStarted(true).withRestartCount(0)
                                .withNewState().withNewRunning().withStartedAt("2026-01-01T00:00:00Z").endRunning().endState().build())
                                .toList()).build());
                client.resource(pod).updateStatus();
                for (var e : USAGE.entrySet()) {
                    var c = new AgentSeriesExporter.Container(ns.name(), pod.getMetadata().getName(), pod.getMetadata().getUid(),
                            labels, e.getKey(), e.getValue()[0], (long) e.getValue()[1]);
                    agent.register(c);
                    ksm.register(c);
                }
            }
            // The history is read once, at the recommender's start: let Prometheus hold 12 s of it first.
            HttpClient http = HttpClient.newHttpClient();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (scrapedSamples(http, prometheus.uri(), ns.name()) < 12 && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            long history = System.nanoTime();
            VpaRecommenderProcess.createVpa(client, ns.name(), "web", "web");
            var options = VpaRecommenderProcess.Options.forAgent(prometheus.uri(), AGENT_JOB, KSM_JOB, ns.name());
            List<ContainerRecommendation> recs;
            long started;
            long recommended;
            try (VpaRecommenderProcess recommender = VpaRecommenderProcess.start(tool, cluster, options, "history-" + ns.name())) {
                started = System.nanoTime();
                recs = recommender.awaitRecommendation(client, ns.name(), "web", Duration.ofSeconds(30));
                recommended = System.nanoTime();
                System.out.println("recommendation " + recs + "; VPA conditions " + client.genericKubernetesResources(
                        VpaRecommenderProcess.VPA).inNamespace(ns.name()).withName("web").get().get("status", "conditions"));
                System.out.println("VPA recommender command: " + String.join(" ", recommender.command()));
                String log = Files.readString(recommender.log());
                System.out.println("VPA recommender log lines about history and metrics:");
                log.lines().filter(l -> l.contains("query") || l.contains("MetricsClient") || l.contains("metrics.k8s.io")
                        || l.contains("history") || l.contains("Cannot")).limit(12).forEach(l -> System.out.println("  " + l));
                assertThat(log).as("no metrics-server: the recommender says it cannot get live metrics")
                        .contains("Cannot get ContainerMetricsSnapshot from MetricsClient");
                assertThat(log).doesNotContain("Cannot get cluster history");
            }
            // The same history, but Prometheus knows no pod labels (kube_pod_labels absent; the agent's series carry none):
            // the history lands in an aggregation keyed by the empty label set, which the VPA's selector app=web does
            // not match, and the live pods' containers (labels from the API) start a new, empty one. The VPA still gets a
            // recommendation, silently: the pod minimum (--pod-recommendation-min-cpu-millicores=25,
            // --pod-recommendation-min-memory-mb=250) split over the two containers, far below their usage.
            var noLabels = options.withPodLabelsMetric("kube_pod_labels{job=\"absent\"}[10m]");
            VpaRecommenderProcess.createVpa(client, ns.name(), "web-no-pod-labels", "web");
            try (VpaRecommenderProcess recommender = VpaRecommenderProcess.start(tool, cluster, noLabels, "no-labels-" + ns.name())) {
                long s0 = System.nanoTime();
                recommender.awaitRuns(2, Duration.ofSeconds(20));
                var without = VpaRecommenderProcess.recommendation(client, ns.name(), "web-no-pod-labels");
                System.out.printf("without pod labels in Prometheus, after 2 loops (%.1f s): %s%n", secs(System.nanoTime() - s0), without);
                assertThat(without).as("history without pod labels does not reach the VPA: the floor, not the usage").hasValueSatisfying(
                        floor -> assertThat(floor).hasSize(2).allSatisfy(r -> {
                            assertThat(r.target()).containsEntry("cpu", new Quantity("12m")).containsEntry("memory", new Quantity("125Mi"));
                            assertThat(r.upperBound()).isEqualTo(r.target());
                        }));
            }
            String queries = Files.readString(prometheus.queryLog());
            System.out.println("Queries Prometheus answered:");
            queries.lines().filter(q -> !q.contains("scrapedSamplesProbe")).forEach(q -> System.out.println("  " + q));
            assertThat(queries).contains("rate(container_cpu_usage_seconds_total{job=\\\"" + AGENT_JOB + "\\\", pod=~\\\".+\\\","
                    + " container!=\\\"POD\\\", container!=\\\"\\\", namespace=\\\"" + ns.name() + "\\\"}[3s])");
            assertThat(queries).contains("container_memory_working_set_bytes{job=\\\"" + AGENT_JOB + "\\\"");
            assertThat(queries).contains("kube_pod_labels{job=\\\"" + KSM_JOB + "\\\"}[10m]");
            // The history is read once per process, at its start, whatever the loops after it (the second ran two).
            assertThat(queries.lines().filter(q -> q.contains("\"query\":\"container_memory_working_set_bytes{job="))).hasSize(2);

            System.out.printf("timings: tool %.1f s, CRDs %.1f s, Prometheus ready %.1f s, history %.1f s, recommender start to"
                    + " recommendation %.1f s, total %.1f s%n", secs(built - t0), secs(crds - built), secs(promReady - crds),
                    secs(history - promReady), secs(recommended - started), secs(System.nanoTime() - t0));
            assertThat(recs).extracting(ContainerRecommendation::container).containsExactlyInAnyOrder("app", "sidecar");
            for (ContainerRecommendation r : recs) {
                double cores = USAGE.get(r.container())[0];
                double bytes = USAGE.get(r.container())[1];
                double cpu = r.target().get("cpu").getNumericalAmount().doubleValue();
                double mem = r.target().get("memory").getNumericalAmount().doubleValue();
                System.out.printf("%s: scripted %.3f cores %.0f MiB; target %s (%.2fx) %s (%.2fx); lower %s; upper %s; uncapped %s%n",
                        r.container(), cores, bytes / MIB, r.target().get("cpu"), cpu / cores, r.target().get("memory"),
                        mem / bytes, r.lowerBound(), r.upperBound(), r.uncappedTarget());
                assertThat(cpu).as("%s CPU target", r.container()).isBetween(0.9 * cores, 1.5 * cores);
                assertThat(mem).as("%s memory target", r.container()).isBetween(0.9 * bytes, 1.5 * bytes);
                double cpuExpected = 1.15 * bucketEnd(cores, 0.01);
                double memExpected = 1.15 * bucketEnd(bytes, 1e7);
                System.out.printf("%s: expected from the bucket rule %.4f cores, %.0f bytes%n", r.container(), cpuExpected, memExpected);
                assertThat(cpu).as("%s CPU target vs the bucket rule", r.container()).isBetween(cpuExpected / 1.06, cpuExpected * 1.06);
                assertThat(mem).as("%s memory target vs the bucket rule", r.container()).isBetween(memExpected / 1.06, memExpected * 1.06);
                for (String res : List.of("cpu", "memory")) {
                    double target = r.target().get(res).getNumericalAmount().doubleValue();
                    assertThat(r.lowerBound().get(res).getNumericalAmount().doubleValue()).isLessThanOrEqualTo(target);
                    assertThat(r.upperBound().get(res).getNumericalAmount().doubleValue()).isGreaterThanOrEqualTo(target);
                    assertThat(r.uncappedTarget().get(res)).isEqualTo(r.target().get(res));
                }
            }
        }
    }

    /**
     * The recommender's histogram bucket end for {@code value}: buckets start at first * (1.05^n - 1) / 0.05
     * (util.NewExponentialHistogramOptions with ratio 1.05; CPU first bucket 0.01 cores, memory 1e7 bytes).
     */
    static double bucketEnd(double value, double first) {
        double r = 1.05;
        int n = (int) (Math.log(value * (r - 1) / first + 1) / Math.log(r));
        return first * (Math.pow(r, n + 1) - 1) / (r - 1);
    }

    /**
     * With the recommender's default --metric-for-pod-labels, {@code up{job="kubernetes-pods"}}, an instant selector, the
     * history provider gets a vector where it wants a matrix, and the whole history read fails: logged once at start,
     * nothing loaded.
     */
    @Test
    void theDefaultPodLabelsMetricFailsTheWholeHistoryRead(TestCluster cluster, TestNamespace ns) throws Exception {
        VpaRecommenderProcess.Tool tool = VpaRecommenderProcess.Tool.build();
        KubernetesClient client = cluster.client();
        VpaRecommenderProcess.installCrds(client, tool.crds());
        try (PrometheusServer prometheus = PrometheusServer.start(List.of())) {
            var options = VpaRecommenderProcess.Options.forAgent(prometheus.uri(), AGENT_JOB, KSM_JOB, ns.name())
                    .withPodLabelsMetric("up{job=\"kubernetes-pods\"}");
            try (VpaRecommenderProcess recommender = VpaRecommenderProcess.start(tool, cluster, options, "default-labels-" + ns.name())) {
                recommender.awaitRuns(1, Duration.ofSeconds(20));
                String log = Files.readString(recommender.log());
                log.lines().filter(l -> l.contains("Cannot get cluster history")).forEach(l -> System.out.println("  " + l));
                assertThat(log).contains("Cannot get cluster history")
                        .contains("expected query to return a matrix; got result type model.Vector");
            }
        }
    }

    static double secs(long nanos) {
        return nanos / 1e9;
    }

    static final Pattern VALUE = Pattern.compile("\"value\":\\[[^,]+,\"([0-9.]+)\"\\]");

    /** The fewest memory samples any of the namespace's containers has in Prometheus. */
    static int scrapedSamples(HttpClient http, URI prometheus, String namespace) throws Exception {
        String q = "min(count_over_time(container_memory_working_set_bytes{namespace=\"" + namespace + "\"}[1m]))"
                + " or vector(0) # scrapedSamplesProbe";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(prometheus.resolve("/api/v1/query?query="
                + URLEncoder.encode(q, StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
        Matcher m = VALUE.matcher(r.body());
        return m.find() ? (int) Double.parseDouble(m.group(1)) : 0;
    }
}
