package dev.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.chaos.experiment.ChaosDocuments;
import dev.flotilla.chaos.experiment.ChaosPlan;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.Schedule;
import dev.flotilla.chaos.experiment.Workflow;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.testing.ApiServerBinaries;
import dev.flotilla.testing.K3sCluster;
import dev.flotilla.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.MountableFile;

/**
 * The experiments of deploy/chaos on a real cluster, with the real Chaos Mesh: k3s in Docker (the K3S backend, its API
 * server writing an audit log with the policy the local engine's server uses), Flotilla's image built by
 * {@code deploy/image/build.sh} and imported into k3s's containerd, {@code deploy/base} applied with kubectl, Chaos
 * Mesh installed from its Helm chart; then each experiment (Schedule and Workflow included) applied, left to run its
 * course, removed, and judged by {@code flotilla chaos verify} on k3s's audit log once the group has settled.
 *
 * <p>Needs a Docker engine and the internet (the k3s and Chaos Mesh images, the chart): where there is no Docker engine
 * it is skipped with that reason. The workflow {@code .github/workflows/chaos.yml} runs it; by hand:
 * {@code ./mvnw -B -ntp install -DskipTests && ./mvnw -B -ntp -pl chaos-tests verify -Dit.test=K3sChaosIT -Dtest=none
 * -Dsurefire.failIfNoSpecifiedTests=false}. Verdicts go to {@code target/chaos-report-k3s}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class K3sChaosIT {

    static final String NAMESPACE = "flotilla-system";
    static final String DEPLOYMENT = "flotilla";
    static final int REPLICAS = 3;
    static final String CHAOS_MESH_CHART_VERSION = "2.8.3";
    static final String CHAOS_MESH_REPO = "https://charts.chaos-mesh.org";
    /** Where k3s keeps the server's own files; the audit log and its policy go there. */
    static final String AUDIT_POLICY = "/var/lib/rancher/k3s/server/audit-policy.yaml";
    static final String AUDIT_LOG = "/var/lib/rancher/k3s/server/logs/audit.log";
    /** The Deployment's image (deploy/base: flotilla, tag 0.1.0-SNAPSHOT) as containerd names it. */
    static final String TAG = "0.1.0-SNAPSHOT";
    static final String IMAGE = "docker.io/library/flotilla:" + TAG;
    static final Duration SETTLE_LIMIT = Duration.ofMinutes(5);
    /** Where the verdicts go, under the module: what the CI pipeline publishes. */
    static final String REPORT_DIR = "target/chaos-report-k3s";
    /** The system property that turns the suite on where Docker is (failsafe passes it through). */
    static final String ENABLED = "flotilla.chaos.k3s";

    K3sCluster k3s;
    Path work;
    Path kubeconfig;
    Path reports;

    /**
     * Starts k3s and installs everything; skips the suite, with the reason, where there is no Docker engine or where
     * it was not asked for ({@value #ENABLED}: an hour, and the internet).
     */
    void start() throws Exception {
        K3sCluster.dockerUnavailable().ifPresent(why -> org.junit.jupiter.api.Assumptions.abort("k3s chaos suite skipped: "
                + why + "; it runs where Docker is, with -D" + ENABLED + "=true"));
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean(ENABLED), () -> "k3s chaos suite skipped: it takes "
                + "about an hour and the internet; run it with -D" + ENABLED + "=true");
        // A large maximum: the default (100 MB) would rotate the log under the suite and lose the Lease history.
        k3s = K3sCluster.start(List.of("--kube-apiserver-arg=audit-policy-file=" + AUDIT_POLICY,
                "--kube-apiserver-arg=audit-log-path=" + AUDIT_LOG, "--kube-apiserver-arg=audit-log-maxsize=100000"),
                c -> c.withCopyToContainer(Transferable.of(RealApiServer.AUDIT_POLICY), AUDIT_POLICY));
        work = Files.createDirectories(Path.of("target/k3s-chaos").toAbsolutePath());
        reports = Files.createDirectories(Path.of(REPORT_DIR).toAbsolutePath());
        kubeconfig = work.resolve("kubeconfig");
        Files.writeString(kubeconfig, k3s.kubeconfigYaml());
        Path repo = ChaosDocumentsTest.home();

        // The image, built as ImageIT builds it, copied into a docker-archive under the name the Deployment asks for
        // (containerd names an imported docker-archive by its RepoTags; pull policy IfNotPresent: nothing is pulled).
        Path image = work.resolve("image");
        run(List.of("bash", repo.resolve("deploy/image/build.sh").toString(), repo.resolve("manager/target/flotilla.jar").toString(),
                repo.resolve("manager/target/flotilla-sbom.json").toString(), image.toString()), Duration.ofMinutes(10));
        String skopeo = run(List.of("bash", repo.resolve("scripts/debian-tool.sh").toString(), "skopeo", "skopeo",
                "the k3s chaos suite's image import"), Duration.ofMinutes(5)).strip().lines().reduce((a, b) -> b).orElseThrow();
        Path archive = work.resolve("flotilla-docker.tar");
        Files.deleteIfExists(archive);
        run(List.of(skopeo, "copy", "--quiet", "oci:" + image.resolve("oci") + ":" + TAG, "docker-archive:" + archive + ":" + IMAGE),
                Duration.ofMinutes(5));
        k3s.container().copyFileToContainer(MountableFile.forHostPath(archive), "/tmp/flotilla-docker.tar");
        exec("ctr", "-n", "k8s.io", "images", "import", "/tmp/flotilla-docker.tar");
        String images = exec("ctr", "-n", "k8s.io", "images", "ls", "-q");
        assertThat(images.lines()).as("images in k3s's containerd after the import").contains(IMAGE);

        kubectl("apply", "--server-side", "--field-manager=flotilla-k3s-chaos", "-k", repo.resolve("deploy/base").toString());
        kubectl("-n", NAMESPACE, "rollout", "status", "deployment/" + DEPLOYMENT, "--timeout=300s");

        // Chaos Mesh from its chart, its daemon on k3s's containerd.
        // scripts/helm.sh prints what it builds, then the binary's path last.
        String helm = run(List.of("bash", repo.resolve("scripts/helm.sh").toString()), Duration.ofMinutes(15)).strip()
                .lines().reduce((a, b) -> b).orElseThrow();
        run(List.of(helm, "install", "chaos-mesh", "chaos-mesh", "--repo", CHAOS_MESH_REPO, "--version", CHAOS_MESH_CHART_VERSION,
                "--namespace", "chaos-mesh", "--create-namespace", "--kubeconfig", kubeconfig.toString(),
                "--set", "chaosDaemon.runtime=containerd", "--set", "chaosDaemon.socketPath=/run/k3s/containerd/containerd.sock",
                "--set", "dashboard.create=false", "--wait", "--timeout", "10m"), Duration.ofMinutes(12));
        awaitSettled();
    }

    @AfterAll
    void stop() throws Exception {
        if (k3s != null) {
            try {
                k3s.container().copyFileFromContainer(AUDIT_LOG, work.resolve("audit.log").toString());
            } finally {
                k3s.close();
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyExperimentOfDeployChaosHoldsOnK3sWithChaosMesh() throws Exception {
        // Here rather than in a @BeforeAll, and the abort passed on by a test of its own: an abort in either place
        // skips the class with no test and no reason in the report.
        try {
            start();
        } catch (org.opentest4j.TestAbortedException skipped) {
            return Stream.of(DynamicTest.dynamicTest("k3s with Chaos Mesh", () -> {
                throw skipped;
            }));
        }
        List<Path> files;
        try (Stream<Path> all = Files.list(ChaosDocumentsTest.home().resolve("deploy/chaos"))) {
            files = all.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        return files.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> judge(file)));
    }

    private void judge(Path file) throws Exception {
        ChaosPlan plan = ChaosDocuments.readPlan(file);
        awaitSettled();
        Instant since = Instant.now();
        kubectl("apply", "-f", file.toString());
        List<Instant> faultEnds = awaitFaultEnds(plan);
        Instant faultEnd = faultEnds.getLast();
        // An experiment object stays after its duration; a Schedule fires until it is deleted.
        kubectl("delete", "-f", file.toString(), "--wait=true", "--timeout=120s");
        awaitSettled();
        Duration bound = ShardingConfig.DEFAULT_LEASE_DURATION.plus(ShardingConfig.DEFAULT_RETRY_PERIOD).plusSeconds(1);
        long wait = Duration.between(Instant.now(), faultEnd.plus(bound)).toMillis();
        if (wait > 0) {
            Thread.sleep(wait);
        }
        Instant until = Instant.now();
        Path audit = work.resolve("audit-" + plan.name() + ".log");
        k3s.container().copyFileFromContainer(AUDIT_LOG, audit.toString());
        // After every firing, and not only the last: each up to the next one.
        for (int k = 0; k + 1 < faultEnds.size(); k++) {
            verify(plan, "-" + (k + 1), audit, faultEnds.get(k), faultEnds.get(k + 1), faultEnds.get(k));
        }
        verify(plan, "", audit, since, until, faultEnd);
    }

    /** {@code flotilla chaos verify} as users run it: the CLI jar the image carries, on k3s's audit log. */
    private void verify(ChaosPlan plan, String suffix, Path audit, Instant since, Instant until, Instant faultEnd) throws Exception {
        String name = plan.name() + suffix;
        List<String> verify = List.of(ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                "-jar", ChaosDocumentsTest.home().resolve("manager/target/flotilla.jar").toString(), "chaos", "verify",
                "--audit-log", audit.toString(), "--since", since.toString(), "--until", until.toString(),
                "--fault-end", faultEnd.toString(), "--lease-namespace", NAMESPACE,
                "--json", reports.resolve(name + ".json").toString(), "--markdown", reports.resolve(name + ".md").toString());
        Path log = reports.resolve(name + ".verify.txt");
        Process p = new ProcessBuilder(verify).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("flotilla chaos verify finished").isTrue();
        assertThat(p.exitValue()).as("%s%s on k3s, flotilla chaos verify from %s to %s, fault end %s:%n%s", plan.describe(),
                suffix, since, until, faultEnd, Files.readString(log)).isZero();
    }

    /**
     * When each fault was over, as Chaos Mesh reports it on its own objects: one instant for an experiment or a
     * workflow, one per firing for a Schedule (when its chaos was created: a pod-kill is done once injected).
     */
    private List<Instant> awaitFaultEnds(ChaosPlan plan) throws Exception {
        return switch (plan) {
            case Experiment e -> {
                // Injected (a one-shot is done then); a lasting fault, recovered after its duration.
                awaitCondition(e.kind(), e.name(), "AllInjected", Duration.ofMinutes(2));
                if (e.action().lasting()) {
                    Thread.sleep(e.faultDuration().toMillis());
                    awaitCondition(e.kind(), e.name(), "AllRecovered", Duration.ofMinutes(2));
                }
                yield List.of(Instant.now());
            }
            case Schedule s -> {
                Thread.sleep(s.length().toMillis());
                String kind = switch (s.item()) {
                    case Experiment e -> e.kind();
                    case Workflow w -> "Workflow";
                    case Schedule nested -> throw new AssertionError("a Schedule of a Schedule");
                };
                List<GenericKubernetesResource> spawned = new ArrayList<>(awaitSpawned(kind, s.name(), s.firings()));
                spawned.sort(java.util.Comparator.comparing(r -> Instant.parse(r.getMetadata().getCreationTimestamp())));
                List<Instant> ends = new ArrayList<>();
                for (GenericKubernetesResource r : spawned) {
                    if (kind.equals("Workflow")) {
                        awaitAccomplished(r.getMetadata().getName(), Schedule.longest(s.item()).plusMinutes(2));
                    } else {
                        awaitCondition(kind, r.getMetadata().getName(), "AllInjected", Duration.ofMinutes(2));
                    }
                    ends.add(Instant.parse(r.getMetadata().getCreationTimestamp()).plus(Schedule.longest(s.item())));
                }
                yield ends;
            }
            case Workflow w -> {
                // Accomplished follows the deadlines whether or not anything was injected: each chaos node's chaos
                // must have been seen injected while the workflow ran.
                java.util.Set<String> injected = new java.util.TreeSet<>();
                List<String> kinds = w.faults().stream().map(Experiment::kind).distinct().toList();
                long deadline = System.nanoTime() + w.entry().longest().plusMinutes(2).toNanos();
                while (!accomplished(w.name())) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("Workflow " + w.name() + " not Accomplished within " + w.entry().longest()
                                .plusMinutes(2));
                    }
                    for (String kind : kinds) {
                        for (GenericKubernetesResource r : chaos(kind).inNamespace(NAMESPACE).list().getItems()) {
                            if (conditionTrue(r.getAdditionalProperties().get("status"), "AllInjected")) {
                                injected.add(kind + "/" + r.getMetadata().getName());
                            }
                        }
                    }
                    Thread.sleep(500);
                }
                assertThat(injected).as("%s: the chaos its nodes created, each seen injected", w.describe())
                        .hasSize(w.faults().size());
                yield List.of(Instant.now());
            }
        };
    }

    private List<GenericKubernetesResource> awaitSpawned(String kind, String schedule, int firings) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        List<GenericKubernetesResource> items = List.of();
        while (System.nanoTime() < deadline) {
            items = chaos(kind).inNamespace(NAMESPACE).withLabel("managed-by", schedule).list().getItems();
            if (items.size() >= firings) {
                return items;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("Schedule " + schedule + " made " + items.size() + " " + kind + "s, expected " + firings);
    }

    private void awaitCondition(String kind, String name, String condition, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        Object last = null;
        while (System.nanoTime() < deadline) {
            GenericKubernetesResource r = chaos(kind).inNamespace(NAMESPACE).withName(name).get();
            last = r == null ? null : r.getAdditionalProperties().get("status");
            if (conditionTrue(last, condition)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError(kind + " " + name + " not " + condition + " within " + limit + "; status: " + last);
    }

    private void awaitAccomplished(String name, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!accomplished(name)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Workflow " + name + " not Accomplished within " + limit);
            }
            Thread.sleep(1000);
        }
    }

    private boolean accomplished(String workflow) {
        GenericKubernetesResource r = chaos("Workflow").inNamespace(NAMESPACE).withName(workflow).get();
        return r != null && conditionTrue(r.getAdditionalProperties().get("status"), "Accomplished");
    }

    private static boolean conditionTrue(Object status, String type) {
        if (!(status instanceof Map<?, ?> s) || !(s.get("conditions") instanceof List<?> conditions)) {
            return false;
        }
        return conditions.stream().anyMatch(c -> c instanceof Map<?, ?> m && type.equals(m.get("type"))
                && "True".equals(m.get("status")));
    }

    private io.fabric8.kubernetes.client.dsl.MixedOperation<GenericKubernetesResource,
            io.fabric8.kubernetes.api.model.GenericKubernetesResourceList,
            io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource>> chaos(String kind) {
        return k3s.client().genericKubernetesResources(ChaosDocuments.CHAOS_MESH_API_VERSION, kind);
    }

    /** All replicas ready and the coordinator's word that its layout is in place, as the local engine waits. */
    private void awaitSettled() throws InterruptedException {
        KubernetesClient client = k3s.client();
        String coordinatorLease = new LeaseNaming(ShardingConfig.DEFAULT_GROUP).coordinatorLease();
        long deadline = System.nanoTime() + SETTLE_LIMIT.toNanos();
        String why = "";
        while (System.nanoTime() < deadline) {
            Deployment d = client.apps().deployments().inNamespace(NAMESPACE).withName(DEPLOYMENT).get();
            Lease coordinator = client.leases().inNamespace(NAMESPACE).withName(coordinatorLease).get();
            int ready = d == null || d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0
                    : d.getStatus().getReadyReplicas();
            boolean settled = coordinator != null && coordinator.getMetadata().getAnnotations() != null
                    && "true".equals(coordinator.getMetadata().getAnnotations().get(LeaseNaming.ANNOTATION_LAYOUT_SETTLED));
            if (ready == REPLICAS && settled) {
                return;
            }
            why = ready + " of " + REPLICAS + " replicas ready, layout " + (settled ? "settled" : "not settled");
            Thread.sleep(1000);
        }
        throw new AssertionError("the group did not settle within " + SETTLE_LIMIT + ": " + why);
    }

    private String kubectl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(ApiServerBinaries.binaryDir().resolve("kubectl").toString(),
                "--kubeconfig", kubeconfig.toString()));
        command.addAll(List.of(args));
        return run(command, Duration.ofMinutes(6));
    }

    private String exec(String... command) throws Exception {
        var result = k3s.container().execInContainer(command);
        assertThat(result.getExitCode()).as("%s in k3s: %s%s", String.join(" ", command), result.getStdout(), result.getStderr())
                .isZero();
        return result.getStdout();
    }

    /** Runs a command to its end; its output when it exits 0, else the test fails with it. */
    private static String run(List<String> command, Duration limit) throws Exception {
        Path log = Files.createTempFile("k3s-chaos-", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within " + limit + ": " + Files.readString(log));
        }
        String out = Files.readString(log);
        Files.deleteIfExists(log);
        assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), out).isZero();
        return Objects.requireNonNull(out);
    }
}
