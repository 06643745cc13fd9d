package dev.flotilla.tuning.vpa;

import dev.flotilla.testing.TestCluster;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
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

/**
 * The Kubernetes VPA recommender (k8s.io/autoscaler/vertical-pod-autoscaler, built by scripts/vpa-recommender.sh)
 * run as a process against a test's API server, with Prometheus as its only history source
 * ({@code --storage=prometheus}). It reads the history once, at start; afterwards it would add live samples from
 * metrics.k8s.io every {@code --recommender-interval}, which the test servers do not serve (it logs "Cannot get
 * ContainerMetricsSnapshot from MetricsClient" each loop and recommends from the history alone).
 * Logs to {@code target/vpa-recommender/<name>.log} of the module, kept after close.
 */
public final class VpaRecommenderProcess implements AutoCloseable {

    public static final String VERSION = "v1.8.1";
    public static final ResourceDefinitionContext VPA = new ResourceDefinitionContext.Builder().withGroup("autoscaling.k8s.io")
            .withVersion("v1").withKind("VerticalPodAutoscaler").withPlural("verticalpodautoscalers").withNamespaced(true).build();

    /** The built recommender and the CRDs of the same module version. */
    public record Tool(Path binary, Path crds) {
        /** Runs scripts/vpa-recommender.sh (a no-op once cached; the first build takes about two minutes on 2 cores). */
        public static Tool build() {
            Path script = repositoryFile("scripts/vpa-recommender.sh");
            try {
                Process p = new ProcessBuilder("bash", script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(15, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    throw new IllegalStateException(script + " did not finish building the VPA recommender within 15 minutes");
                }
                List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
                if (p.exitValue() != 0 || lines.size() != 2 || !Files.isExecutable(Path.of(lines.get(0)))) {
                    throw new IllegalStateException("could not build the VPA recommender " + VERSION + " with " + script + " (exit "
                            + p.exitValue() + ", printed " + lines + "; its reason is on stderr): it needs Go and the Go module proxy"
                            + " or a module cache holding k8s.io/autoscaler/vertical-pod-autoscaler@" + VERSION);
                }
                return new Tool(Path.of(lines.get(0)), Path.of(lines.get(1)));
            } catch (IOException e) {
                throw new UncheckedIOException("could not run " + script, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * Where and how the recommender reads its history. The defaults ({@link #forAgent}) match the node agent's
     * series: cAdvisor names with labels {@code namespace}, {@code pod}, {@code container}, scraped by {@code job}.
     *
     * @param podLabelsMetric a range selector (the recommender sends it as an instant query and wants a matrix back)
     *     whose series carry {@code namespace}, {@code pod} and each pod label as {@code <podLabelPrefix><name>}
     * @param confidenceInterval scales the bounds' confidence (the default 24h makes a test's seconds of history
     *     give an upper bound thousands of times the target)
     */
    public record Options(URI prometheus, String cadvisorJob, String namespace, String podLabelsMetric, String podLabelPrefix,
            Duration interval, String historyLength, String historyResolution, Duration confidenceInterval, List<String> extraFlags) {

        /**
         * Reads the agent's series of {@code job} in {@code namespace}, pod labels from a kube-state-metrics-style
         * {@code kube_pod_labels{job=podLabelsJob}} ({@code label_<name>}), history of the last 10 minutes at 3 s steps
         * (the CPU rate's window is the step: 3 scrapes at Prometheus's 1 s), a loop every 2 s.
         */
        public static Options forAgent(URI prometheus, String job, String podLabelsJob, String namespace) {
            return new Options(prometheus, job, namespace, "kube_pod_labels{job=\"" + podLabelsJob + "\"}[10m]", "label_",
                    Duration.ofSeconds(2), "10m", "3s", Duration.ofSeconds(10), List.of());
        }

        public Options withPodLabelsMetric(String metric) {
            return new Options(prometheus, cadvisorJob, namespace, metric, podLabelPrefix, interval, historyLength, historyResolution,
                    confidenceInterval, extraFlags);
        }

        /** The recommender's flags for these options (beyond --kubeconfig and --address). */
        public List<String> flags() {
            List<String> f = new ArrayList<>(List.of(
                    "--storage=prometheus",
                    "--prometheus-address=" + prometheus,
                    "--prometheus-cadvisor-job-name=" + cadvisorJob,
                    "--history-length=" + historyLength,
                    "--history-resolution=" + historyResolution,
                    "--container-namespace-label=namespace",
                    "--container-pod-name-label=pod",
                    "--container-name-label=container",
                    "--metric-for-pod-labels=" + podLabelsMetric,
                    "--pod-label-prefix=" + podLabelPrefix,
                    "--pod-namespace-label=namespace",
                    "--pod-name-label=pod",
                    "--recommender-interval=" + interval.toMillis() + "ms",
                    "--confidence-interval-cpu=" + confidenceInterval.toMillis() + "ms",
                    "--confidence-interval-memory=" + confidenceInterval.toMillis() + "ms",
                    "--v=4"));
            if (namespace != null) {
                f.add("--vpa-object-namespace=" + namespace);
            }
            f.addAll(extraFlags);
            return f;
        }
    }

    /** One container's recommendation, as the recommender wrote it to the VPA's status. */
    public record ContainerRecommendation(String container, Map<String, Quantity> target, Map<String, Quantity> lowerBound,
            Map<String, Quantity> upperBound, Map<String, Quantity> uncappedTarget) {
    }

    private final Process process;
    private final Path log;
    private final Path kubeconfig;
    private final List<String> command;

    private VpaRecommenderProcess(Process process, Path log, Path kubeconfig, List<String> command) {
        this.process = process;
        this.log = log;
        this.kubeconfig = kubeconfig;
        this.command = command;
    }

    /** Installs (server-side apply) the module's VPA CRDs and waits until the server serves them. */
    public static void installCrds(KubernetesClient client, Path crds) throws Exception {
        List<HasMetadata> items;
        try (InputStream in = Files.newInputStream(crds)) {
            items = client.load(in).items();
        }
        for (HasMetadata item : items) {
            client.resource(item).fieldManager("flotilla-vpa-test").forceConflicts().serverSideApply();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (HasMetadata item : items) {
            while (true) {
                CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
                        .withName(item.getMetadata().getName()).get();
                // A CRD just applied can have a status with no conditions yet (a null list): not established yet.
                if (crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
                        && crd.getStatus().getConditions().stream()
                        .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()))) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("CRD " + item.getMetadata().getName() + " not established within 30 s");
                }
                Thread.sleep(100);
            }
        }
    }

    /** Starts the recommender against {@code cluster} with the admin kubeconfig; logs to target/vpa-recommender/{name}.log. */
    public static VpaRecommenderProcess start(Tool tool, TestCluster cluster, Options options, String name) throws IOException {
        Path dir = Path.of("target", "vpa-recommender").toAbsolutePath();
        Files.createDirectories(dir);
        Path kubeconfig = Files.createTempFile("flotilla-vpa-kubeconfig-", ".yaml");
        Files.writeString(kubeconfig, cluster.kubeconfigYaml());
        Path log = dir.resolve(name + ".log");
        List<String> command = new ArrayList<>(List.of(tool.binary().toString(), "--kubeconfig=" + kubeconfig,
                "--address=127.0.0.1:" + dev.flotilla.tuning.signals.PrometheusServer.freePort()));
        command.addAll(options.flags());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new VpaRecommenderProcess(p, log, kubeconfig, command);
    }

    /** A VerticalPodAutoscaler (updateMode Off: recommend only) for the Deployment {@code deployment}. */
    public static GenericKubernetesResource createVpa(KubernetesClient client, String namespace, String name, String deployment) {
        GenericKubernetesResource vpa = new GenericKubernetesResource();
        vpa.setApiVersion("autoscaling.k8s.io/v1");
        vpa.setKind("VerticalPodAutoscaler");
        vpa.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
        vpa.setAdditionalProperty("spec", Map.of(
                "targetRef", Map.of("apiVersion", "apps/v1", "kind", "Deployment", "name", deployment),
                "updatePolicy", Map.of("updateMode", "Off")));
        return client.genericKubernetesResources(VPA).inNamespace(namespace).resource(vpa).create();
    }

    /** The recommendation in the VPA's status, if any. */
    @SuppressWarnings("unchecked")
    public static Optional<List<ContainerRecommendation>> recommendation(KubernetesClient client, String namespace, String name) {
        GenericKubernetesResource vpa = client.genericKubernetesResources(VPA).inNamespace(namespace).withName(name).get();
        if (vpa == null || !(vpa.getAdditionalProperties().get("status") instanceof Map<?, ?> status)
                || !(status.get("recommendation") instanceof Map<?, ?> rec)
                || !(rec.get("containerRecommendations") instanceof List<?> containers) || containers.isEmpty()) {
            return Optional.empty();
        }
        List<ContainerRecommendation> out = new ArrayList<>();
        for (Object o : containers) {
            Map<String, Object> c = (Map<String, Object>) o;
            out.add(new ContainerRecommendation((String) c.get("containerName"), quantities(c.get("target")),
                    quantities(c.get("lowerBound")), quantities(c.get("upperBound")), quantities(c.get("uncappedTarget"))));
        }
        return Optional.of(out);
    }

    /** Waits for the VPA's recommendation; on timeout fails with the VPA's status and the log's last lines. */
    public List<ContainerRecommendation> awaitRecommendation(KubernetesClient client, String namespace, String name, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<List<ContainerRecommendation>> r = recommendation(client, namespace, name);
            if (r.isPresent()) {
                return r.get();
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("the VPA recommender exited (" + process.exitValue() + "): " + logTail(40));
            }
            Thread.sleep(200);
        }
        GenericKubernetesResource vpa = client.genericKubernetesResources(VPA).inNamespace(namespace).withName(name).get();
        throw new IllegalStateException("no recommendation in VPA " + namespace + "/" + name + " within " + timeout + "; status "
                + (vpa == null ? "(no VPA)" : vpa.getAdditionalProperties().get("status")) + "; log " + log + ":\n" + logTail(40));
    }

    /**
     * Waits until the recommender has finished {@code runs} loops (each lists VPAs and Pods, tries metrics.k8s.io,
     * writes the VPAs' status; its last line at --v=3 is "ClusterState is tracking" aggregateContainerStates=...).
     */
    public void awaitRuns(int runs, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (runsDone() < runs) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the VPA recommender exited (" + process.exitValue() + "): " + logTail(40));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(runsDone() + " of " + runs + " recommender loops within " + timeout + ": " + logTail(40));
            }
            Thread.sleep(200);
        }
    }

    private long runsDone() throws IOException {
        return Files.readAllLines(log).stream().filter(l -> l.contains("\"ClusterState is tracking\" aggregateContainerStates=")).count();
    }

    private static Map<String, Quantity> quantities(Object o) {
        Map<String, Quantity> out = new LinkedHashMap<>();
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> out.put(String.valueOf(k), new Quantity(String.valueOf(v))));
        }
        return out;
    }

    public Path log() {
        return log;
    }

    public List<String> command() {
        return command;
    }

    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(kubeconfig);
        } catch (IOException ignored) {
            // a temp file
        }
    }

    /** A file of the repository, found from the working directory (a module's, under Maven) upwards. */
    static Path repositoryFile(String relative) {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve(relative))) {
                return d.resolve(relative);
            }
        }
        throw new IllegalStateException(relative + " not found above " + Path.of("").toAbsolutePath());
    }
}
