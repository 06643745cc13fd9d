package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.manager.aot.AotTraining;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.sharding.auditlog.AuditLog;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Least privilege judged by the API server: three {@code flotilla run} processes authenticated with a token of the
 * deploy's ServiceAccount, bound to exactly the RBAC deploy/base ships, go through every role a replica has (member,
 * coordinator, the coordinator's failover after a SIGKILL, a graceful leave on SIGTERM) while converging a workload;
 * the audit log then holds no forbidden answer to that ServiceAccount, and every permission the RBAC grants was used.
 */
@WithCluster(auditLog = true)
class DeployRbacAuditTest {

    static final String ACCOUNT = DeployManifests.SERVICE_ACCOUNT;
    static final int SOURCES = 12;

    @Test
    void replicasRunningAsTheDeploysServiceAccountPassEveryRoleWithoutOneForbiddenRequest(TestCluster cluster,
            TestNamespace ns) throws Exception {
        KubernetesClient admin = cluster.client();
        Path dir = Path.of("target", "deploy-rbac-audit");
        Files.createDirectories(dir);
        ShippedRbac rbac = deployAccount(admin, ns);
        List<Process> replicas = new ArrayList<>();
        List<Integer> metricsPorts = new ArrayList<>();
        try {
            Path kubeconfig = tokenKubeconfig(cluster, ns, dir.resolve("kubeconfig"));
            List<String> sources = sources(admin, ns, "rbac", SOURCES);
            for (int i = 0; i < 3; i++) {
                String pod = "flotilla-" + i;
                // The replica's own Pod, read for its restart proof (the Deployment's pods get their names by the downward API).
                admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                        .withNewSpec().addNewContainer().withName("flotilla").withImage("flotilla").endContainer().endSpec()
                        .build()).create();
                metricsPorts.add(MetricsScrape.freePort());
                replicas.add(start(dir.resolve(pod + ".log"), kubeconfig, ns.name(), pod, "--metrics-port",
                        String.valueOf(metricsPorts.getLast())));
            }
            awaitMirrored(admin, sources, "1", replicas);
            // Prometheus's scrape: each replica reviews the reader's token (TokenReview, SubjectAccessReview) once.
            String reader = MetricsScrape.account(admin, ns, "prometheus", true);
            for (int port : metricsPorts) {
                assertThat(MetricsScrape.get(URI.create("https://127.0.0.1:" + port + "/metrics"), Optional.of(reader),
                        MetricsScrape.trustAll()).statusCode()).as("a scrape of the replica on port %d", port).isEqualTo(200);
            }
            blockedAndUnblocked(admin, ns);

            // The coordinator dies without a word: another replica must take over its Lease and its shards.
            Lease coordinator = admin.leases().inNamespace(ns.name())
                    .withName(new LeaseNaming(ShardingConfig.DEFAULT_GROUP).coordinatorLease()).get();
            String leader = coordinator.getSpec().getHolderIdentity().split("_", 2)[0];
            Process killed = replicas.get(Integer.parseInt(leader.substring(leader.lastIndexOf('-') + 1)));
            killed.destroyForcibly().waitFor();
            for (String s : sources) {
                admin.resource(AotTraining.source(s, "2")).update();
            }
            await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
                Lease now = admin.leases().inNamespace(ns.name())
                        .withName(new LeaseNaming(ShardingConfig.DEFAULT_GROUP).coordinatorLease()).get();
                assertThat(now.getSpec().getHolderIdentity()).as("a new coordinator").doesNotStartWith(leader + "_");
            });
            awaitMirrored(admin, sources, "2", replicas.stream().filter(p -> p != killed).toList());

            // A graceful leave: SIGTERM, shards handed over, drained, exit 0.
            Process leaving = replicas.stream().filter(p -> p != killed).findFirst().orElseThrow();
            new ProcessBuilder("kill", "-TERM", String.valueOf(leaving.pid())).start().waitFor();
            assertThat(leaving.waitFor(45, TimeUnit.SECONDS)).as("the leaving replica exits").isTrue();
            // 128 + SIGTERM: a JVM ended by a signal exits so once its shutdown hooks (the leave, the drain) have run.
            assertThat(leaving.exitValue()).as("its exit code").isEqualTo(143);
            int left = replicas.indexOf(leaving);
            assertThat(Files.readString(dir.resolve("flotilla-" + left + ".log"))).as("its log")
                    .contains("left sharding group").contains("manager stopped drained=\"true\"");
            for (String s : sources) {
                admin.resource(AotTraining.source(s, "3")).update();
            }
            Process last = replicas.stream().filter(p -> p != killed && p != leaving).findFirst().orElseThrow();
            awaitMirrored(admin, sources, "3", List.of(last));
            new ProcessBuilder("kill", "-TERM", String.valueOf(last.pid())).start().waitFor();
            assertThat(last.waitFor(45, TimeUnit.SECONDS)).isTrue();
        } finally {
            replicas.forEach(Process::destroyForcibly);
            rbac.revoke(admin);
            MetricsScrape.removeReader(admin, ns);
        }

        String user = "system:serviceaccount:" + ns.name() + ":" + ACCOUNT;
        List<AuditedRequest> requests = awaitAudited(cluster, user);
        List<AuditedRequest> forbidden = requests.stream().filter(r -> r.code() == 403).toList();
        // Resource requests only: GET /version and the startup check's self-reviews need no grant.
        Set<String> used = requests.stream().filter(r -> !r.resource().isEmpty() && !AuditedRequest.SELF_REVIEWS.contains(r.resource()))
                .map(r -> r.verb() + " " + resource(r)).collect(Collectors.toCollection(TreeSet::new));
        Set<String> granted = DeployManifests.basePermissions().stream().map(p -> p.verb() + " " + p.resource())
                .collect(Collectors.toCollection(TreeSet::new));
        System.out.printf("DEPLOY-RBAC requests=%d forbidden=%d used=%s granted=%s%n", requests.size(), forbidden.size(), used,
                granted);
        assertThat(forbidden).as("requests of %s the server refused (403)", user).isEmpty();
        assertThat(used).as("what the replicas did, all of it granted").isSubsetOf(granted);
        Set<String> unused = new TreeSet<>(granted);
        unused.removeAll(used);
        // Namespaces are listed and watched only by the per-namespace fallback, for API servers without sharded watches.
        assertThat(unused).as("granted but never used").isEqualTo(Set.of("list namespaces", "watch namespaces"));
    }

    /**
     * The mirror's other path: someone else's {@code settings-mirror} is in the way, so the source is marked blocked
     * (a patch) with a Warning Event, repeated (the Event's count patched) as the foreign ConfigMap changes; once it
     * is deleted, the controller reads the name (a get), clears the mark and writes its mirror.
     */
    private static void blockedAndUnblocked(KubernetesClient admin, TestNamespace ns) throws InterruptedException {
        String name = ("blocked-" + ns.name()).substring(0, Math.min(63, ("blocked-" + ns.name()).length())).replaceAll("-+$", "");
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        ConfigMap foreign = new ConfigMapBuilder().withNewMetadata().withName("settings" + ConfigMapMirror.MIRROR_SUFFIX)
                .withNamespace(name).addToLabels(ConfigMapMirror.ROLE_LABEL, ConfigMapMirror.ROLE_COPY).endMetadata()
                .addToData("owner", "someone else").build();
        admin.resource(foreign).create();
        admin.resource(AotTraining.source(name, "1")).create();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            ConfigMap s = admin.configMaps().inNamespace(name).withName("settings").get();
            return s.getMetadata().getAnnotations() != null
                    && s.getMetadata().getAnnotations().containsKey(ConfigMapMirror.BLOCKED_ANNOTATION);
        });
        for (int i = 0; i < 2; i++) {
            Thread.sleep(1500);
            admin.configMaps().inNamespace(name).withName(foreign.getMetadata().getName())
                    .edit(c -> new ConfigMapBuilder(c).addToData("touched", String.valueOf(System.nanoTime())).build());
        }
        Thread.sleep(1500);
        admin.configMaps().inNamespace(name).withName(foreign.getMetadata().getName()).delete();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            ConfigMap mirror = admin.configMaps().inNamespace(name).withName("settings" + ConfigMapMirror.MIRROR_SUFFIX).get();
            assertThat(mirror).isNotNull();
            assertThat(mirror.getData()).isEqualTo(Map.of("v", "1"));
        });
    }

    /** {@code pods/resize} as RBAC writes it. */
    static String resource(AuditedRequest r) {
        return r.subresource().isEmpty() ? r.resource() : r.resource() + "/" + r.subresource();
    }

    static List<AuditedRequest> awaitAudited(TestCluster cluster, String user) throws InterruptedException {
        Path log = cluster.auditLog().orElseThrow(() -> new AssertionError("the REAL backend writes an audit log"));
        Thread.sleep(1500); // the audit backend writes in batches
        return AuditLog.read(log).stream().filter(r -> r.user().equals(user)).toList();
    }

    /** The deploy's ServiceAccount in {@code ns}, bound to exactly deploy/base's RBAC (moved into {@code ns}). */
    static ShippedRbac deployAccount(KubernetesClient admin, TestNamespace ns) {
        admin.serviceAccounts().inNamespace(ns.name()).resource(new ServiceAccountBuilder().withNewMetadata().withName(ACCOUNT)
                .endMetadata().build()).create();
        ShippedRbac rbac = new ShippedRbac(false, ns.name(), "");
        rbac.grant(admin, ACCOUNT, -1, -1, "");
        return rbac;
    }

    /** Writes {@code file}: a kubeconfig with a fresh token of the deploy's ServiceAccount in {@code ns}. */
    static Path tokenKubeconfig(TestCluster cluster, TestNamespace ns, Path file) throws Exception {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, tokenKubeconfig(cluster.config(), token(cluster.client(), ns)));
        return file;
    }

    /** {@code count} namespaces ({@code <i>-<tag>-<ns>}), each with a source ConfigMap the mirror copies ({@code v=1}). */
    static List<String> sources(KubernetesClient admin, TestNamespace ns, String tag, int count) {
        List<String> sources = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String name = i + "-" + tag + "-" + ns.name();
            name = name.substring(0, Math.min(63, name.length())).replaceAll("-+$", "");
            sources.add(name);
            admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
            admin.resource(AotTraining.source(name, "1")).create();
        }
        return sources;
    }

    static void awaitMirrored(KubernetesClient admin, List<String> sources, String value, List<Process> alive) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                .failFast("a replica exited", () -> alive.stream().anyMatch(p -> !p.isAlive()))
                .untilAsserted(() -> {
                    for (String s : sources) {
                        ConfigMap mirror = admin.configMaps().inNamespace(s).withName("settings" + ConfigMapMirror.MIRROR_SUFFIX).get();
                        assertThat(mirror).as("mirror in %s", s).isNotNull();
                        assertThat(mirror.getData()).as("mirror in %s", s).isEqualTo(Map.of("v", value));
                    }
                });
    }

    /** A token of the deploy's ServiceAccount in {@code ns}, as the kubelet would mount it. */
    static String token(KubernetesClient admin, TestNamespace ns) {
        return admin.serviceAccounts().inNamespace(ns.name()).withName(ACCOUNT).tokenRequest(new TokenRequestBuilder()
                .withNewSpec().withExpirationSeconds(3600L).endSpec().build()).getStatus().getToken();
    }

    /** {@code flotilla run} as the Deployment runs it (pod name and namespace from the environment), logging to {@code log}. */
    static Process start(Path log, Path kubeconfig, String namespace, String pod, String... more) throws Exception {
        return start(log, kubeconfig, namespace, pod, -1, more);
    }

    /** The same, serving /healthz and /readyz on {@code healthPort} (-1: none; 0: any free port, which the log names). */
    static Process start(Path log, Path kubeconfig, String namespace, String pod, int healthPort, String... more)
            throws Exception {
        return start(log, kubeconfig, namespace, pod, List.of(), healthPort, more);
    }

    /** The same, with {@code jvmOptions} (system properties) before the main class. */
    static Process start(Path log, Path kubeconfig, String namespace, String pod, List<String> jvmOptions, int healthPort,
            String... more) throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx384m",
                "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "run",
                "--kubeconfig", kubeconfig.toAbsolutePath().toString(), "--health-port", String.valueOf(healthPort),
                "--shards", "8", "--lease-duration", "6s", "--renew-deadline", "4s", "--retry-period", "1s"));
        if (!List.of(more).contains("--metrics-port")) {
            command.addAll(List.of("--metrics-port", "-1"));
        }
        command.addAll(List.of(more));
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        b.environment().put("POD_NAME", pod);
        b.environment().put("POD_NAMESPACE", namespace);
        b.environment().put("FLOTILLA_CONTAINER_NAME", "flotilla");
        return b.start();
    }

    /** A kubeconfig as a pod's ServiceAccount sees the server: its token, the server's CA, no client certificate. */
    static String tokenKubeconfig(Config config, String token) throws Exception {
        String ca = config.getCaCertData() != null ? config.getCaCertData()
                : Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(Objects.requireNonNull(config.getCaCertFile(),
                        "the test cluster's CA"))));
        return """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster:
                    server: %s
                    certificate-authority-data: %s
                users:
                - name: %s
                  user:
                    token: %s
                contexts:
                - name: test
                  context: {cluster: test, user: %s}
                current-context: test
                """.formatted(config.getMasterUrl(), ca, ACCOUNT, token, ACCOUNT);
    }
}
