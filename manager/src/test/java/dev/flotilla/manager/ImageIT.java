package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.testing.docs.MarkdownBlocks;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The image, after the jar is packaged (failsafe, {@code verify}): built here by {@code deploy/image/build.sh} (no base
 * image pulled), unpacked with umoci, and its entrypoint started three times as the image says (its user, its
 * arguments, its environment) in a root of its own: a chroot in a new mount and PID namespace, the root read-only,
 * {@code /proc} mounted, a tmpfs on {@code /tmp}, and what a pod gets for in-cluster configuration (the service
 * account's token, CA and namespace at their standard path, {@code KUBERNETES_SERVICE_HOST/PORT}). The three replicas,
 * bound to exactly deploy/base's RBAC, converge a workload on the REAL API server. They start from the image's AOT
 * cache, trained by the build on the image's own runtime and jar: the replicas run with {@code -XX:AOTMode=on}, so a
 * cache the JVM could not use at its path in the image stops them.
 */
@WithCluster
class ImageIT {

    static final String TAG = "0.1.0-SNAPSHOT";
    static final int SOURCES = 9;

    @Test
    void theImageBuiltHereRunsThreeReplicasInClusterStyleAsItsOwnUserAndTheyConverge(TestCluster cluster, TestNamespace ns)
            throws Exception {
        // Mount namespaces with bind mounts, and chroot, need root; CI runs as root.
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "ImageIT starts the image in a chroot with its own mounts, which needs root");
        Path repo = MarkdownBlocks.repositoryFile(".").toAbsolutePath().normalize();
        Path out = Path.of("target", "image").toAbsolutePath();
        Run build = run(List.of("bash", repo.resolve("deploy/image/build.sh").toString(),
                repo.resolve("manager/target/flotilla.jar").toString(), repo.resolve("manager/target/flotilla-sbom.json").toString(),
                out.toString()), Duration.ofMinutes(5));
        assertThat(build.code()).as("deploy/image/build.sh: %s", build.out()).isZero();
        Matcher size = Pattern.compile("image: (\\S+) \\((\\d+) bytes; unpacked root (\\d+) bytes\\)").matcher(build.out());
        assertThat(size.find()).as(build.out()).isTrue();
        System.out.printf("IMAGE tar=%s bytes=%s unpackedRootBytes=%s%n", size.group(1), size.group(2), size.group(3));

        @SuppressWarnings("unchecked")
        Map<String, Object> sbom = new KubernetesSerialization().unmarshal(Files.readString(out.resolve("sbom.json")), Map.class);
        assertThat(sbom).containsEntry("bomFormat", "CycloneDX");
        assertThat(String.valueOf(sbom.get("components"))).contains("kubernetes-client").contains("logback-classic")
                .contains("resilience4j");

        Path bundle = out.resolve("bundle");
        run(List.of("rm", "-rf", bundle.toString()), Duration.ofMinutes(1));
        Run unpacked = run(List.of("umoci", "unpack", "--image", out.resolve("oci") + ":" + TAG, bundle.toString()),
                Duration.ofMinutes(2));
        assertThat(unpacked.code()).as("umoci unpack: %s", unpacked.out()).isZero();
        @SuppressWarnings("unchecked")
        Map<String, Object> process = (Map<String, Object>) new KubernetesSerialization()
                .unmarshal(Files.readString(bundle.resolve("config.json")), Map.class).get("process");
        @SuppressWarnings("unchecked")
        Map<String, Object> user = (Map<String, Object>) process.get("user");
        @SuppressWarnings("unchecked")
        List<String> args = (List<String>) process.get("args");
        @SuppressWarnings("unchecked")
        List<String> env = (List<String>) process.get("env");
        assertThat(((Number) user.get("uid")).intValue()).as("the image's user").isEqualTo(65532);
        assertThat(args).as("no shell: the runtime's java").startsWith("/opt/flotilla/runtime/bin/java").endsWith("run");
        Path rootfs = bundle.resolve("rootfs");
        assertThat(rootfs.resolve("bin/sh")).as("no shell in the image").doesNotExist();
        assertThat(args).as("the entrypoint uses the image's AOT cache").contains("-XX:AOTCache=/opt/flotilla/flotilla.aot");
        assertThat(Files.size(rootfs.resolve("opt/flotilla/flotilla.aot"))).as("the AOT cache").isGreaterThan(1 << 20);
        try (var files = Files.list(rootfs.resolve("opt/flotilla"))) {
            assertThat(files.map(f -> f.getFileName().toString()).sorted().toList()).as("nothing left from the training run")
                    .containsExactly("flotilla.aot", "flotilla.jar", "runtime", "sbom.json");
        }

        KubernetesClient admin = cluster.client();
        ShippedRbac rbac = DeployRbacAuditTest.deployAccount(admin, ns);
        URI server = URI.create(cluster.config().getMasterUrl());
        byte[] ca = cluster.config().getCaCertData() != null ? Base64.getDecoder().decode(cluster.config().getCaCertData())
                : Files.readAllBytes(Path.of(cluster.config().getCaCertFile()));
        List<String> sources = DeployRbacAuditTest.sources(admin, ns, "image", SOURCES);
        List<Process> replicas = new ArrayList<>();
        List<ProcessHandle> left = List.of();
        try {
            for (int i = 0; i < 3; i++) {
                String pod = "flotilla-" + i;
                admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                        .withNewSpec().addNewContainer().withName("flotilla").withImage("flotilla:" + TAG).endContainer().endSpec()
                        .build()).create();
                // What the kubelet mounts for the pod's service account.
                Path secrets = out.resolve("serviceaccount-" + i);
                Files.createDirectories(secrets);
                Files.writeString(secrets.resolve("token"), DeployRbacAuditTest.token(admin, ns));
                Files.write(secrets.resolve("ca.crt"), ca);
                Files.writeString(secrets.resolve("namespace"), ns.name());
                run(List.of("chmod", "-R", "a+rX", secrets.toString()), Duration.ofSeconds(10));
                List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--pid", "--fork", "--kill-child", "bash",
                        "-c", String.join(" && ",
                                "mount --bind '" + rootfs + "' '" + rootfs + "'",
                                "mount -o remount,bind,ro '" + rootfs + "'",
                                "mount --bind -o ro '" + secrets + "' '" + rootfs + "/var/run/secrets/kubernetes.io/serviceaccount'",
                                "mount -t proc proc '" + rootfs + "/proc'",
                                "mount -t tmpfs -o size=64m,mode=1777 tmpfs '" + rootfs + "/tmp'",
                                "exec chroot --userspec=" + user.get("uid") + ":" + user.get("gid") + " '" + rootfs + "' \"$@\""),
                        "image"));
                command.addAll(args);
                // Only the suite's timings differ from the Deployment's; health on a free port (the replicas share a host).
                command.addAll(List.of("--health-port", "0", "--metrics-port", "0", "--shards", "8", "--lease-duration", "6s", "--renew-deadline", "4s",
                        "--retry-period", "1s"));
                ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.resolve(pod + ".log").toFile());
                b.environment().clear();
                for (String e : env) {
                    b.environment().put(e.substring(0, e.indexOf('=')), e.substring(e.indexOf('=') + 1));
                }
                // On: a cache the JVM cannot use is an error that stops the replica, not a silent slow start.
                b.environment().merge("JAVA_TOOL_OPTIONS", "-XX:AOTMode=on", (a, c) -> a + " " + c);
                b.environment().put("KUBERNETES_SERVICE_HOST", server.getHost());
                b.environment().put("KUBERNETES_SERVICE_PORT", String.valueOf(server.getPort()));
                b.environment().put("POD_NAME", pod);
                b.environment().put("POD_NAMESPACE", ns.name());
                b.environment().put("FLOTILLA_CONTAINER_NAME", "flotilla");
                replicas.add(b.start());
            }
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
                    .failFast("a replica exited", () -> replicas.stream().anyMatch(p -> !p.isAlive()))
                    .untilAsserted(() -> {
                        for (String s : sources) {
                            ConfigMap mirror = admin.configMaps().inNamespace(s).withName("settings" + ConfigMapMirror.MIRROR_SUFFIX).get();
                            assertThat(mirror).as("mirror in %s", s).isNotNull();
                            assertThat(mirror.getData()).isEqualTo(Map.of("v", "1"));
                        }
                    });
            for (int i = 0; i < 3; i++) {
                String log = Files.readString(out.resolve("flotilla-" + i + ".log"));
                assertThat(log).as("replica %d's log", i).contains("in-cluster service account").contains("joined sharding group")
                        .doesNotContain("[aot]");
                long uid = replicas.get(i).descendants().filter(h -> h.info().command().orElse("").endsWith("/java"))
                        .mapToLong(h -> uidOf(h.pid())).findFirst().orElse(-1);
                assertThat(uid).as("replica %d runs as the image's user", i).isEqualTo(65532);
            }
        } finally {
            left = stopReplicas(replicas);
            rbac.revoke(admin);
        }
        assertThat(left).as("processes of the replicas still running 10 s after they were killed").isEmpty();
    }

    /**
     * Kills each replica's whole tree and returns what still runs 10 s later. Killing {@code unshare} alone is not
     * enough: the replica's JVM is the init of its own PID namespace, and {@code chroot --userspec} changing its user
     * cleared the parent-death signal that {@code --kill-child} relies on (seen: three image replicas still retrying a
     * stopped API server half an hour after this test ended).
     */
    private static List<ProcessHandle> stopReplicas(List<Process> replicas) throws InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>();
        for (Process p : replicas) {
            tree.addAll(p.descendants().toList());
            tree.add(p.toHandle());
        }
        tree.forEach(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        return tree.stream().filter(ProcessHandle::isAlive).toList();
    }

    private static long uidOf(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream().filter(l -> l.startsWith("Uid:"))
                    .mapToLong(l -> Long.parseLong(l.split("\\s+")[1])).findFirst().orElse(-1);
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    record Run(int code, String out) {
    }

    private static Run run(List<String> command, Duration timeout) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout);
        }
        return new Run(p.exitValue(), out);
    }
}
