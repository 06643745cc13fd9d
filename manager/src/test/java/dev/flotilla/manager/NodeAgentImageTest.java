package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.testing.docs.MarkdownBlocks;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The node agent's image, built here by {@code deploy/image/build-node-agent.sh} from the binary {@code node-agent/build.sh}
 * prints (no base image pulled), unpacked with umoci: its entrypoint is the static binary, its user 0, and it holds
 * nothing else (no shell, no libraries). Then its entrypoint is started the way deploy/components/node-agent's DaemonSet
 * runs it: uid 0 with every capability dropped but CAP_BPF and CAP_PERFMON, no_new_privs, a read-only root, the host's
 * cgroup hierarchy read-only where the DaemonSet mounts it (no tracefs: the programs attach by BTF id), the DaemonSet's
 * arguments, and in-cluster
 * configuration whose token is a ServiceAccount bound to exactly the component's ClusterRole. It loads its programs,
 * lists its node's Pods on the REAL API server and serves /healthz and /metrics.
 *
 * <p>Needs root (mount namespaces, chroot), a kernel with BTF, and the agent's build tools; {@code node-agent/build.sh} is
 * taken from the repository, or from {@code $FLOTILLA_NODE_AGENT_BUILD}.
 */
@WithCluster
class NodeAgentImageTest {

    static final String TAG = "0.1.0-SNAPSHOT";
    static final String NODE = "image-test-node";

    @Test
    void theAgentsImageHoldsOnlyItsStaticBinaryAndRunsWithTheDaemonSetsPrivileges(TestCluster cluster, TestNamespace ns)
            throws Exception {
        // As the tuner's real-kernel scenarios: a machine that cannot load eBPF fails this test with the reason, unless
        // FLOTILLA_EBPF=off says to skip it.
        Assumptions.assumeFalse("off".equals(System.getenv("FLOTILLA_EBPF")), "FLOTILLA_EBPF=off: the node agent's image is not run");
        assertThat(System.getProperty("user.name")).as("the agent's image is started in a chroot with its own mounts, which "
                + "needs root (FLOTILLA_EBPF=off skips this)").isEqualTo("root");
        Path repo = MarkdownBlocks.repositoryFile(".").toAbsolutePath().normalize();
        Path buildScript = Path.of(System.getenv().getOrDefault("FLOTILLA_NODE_AGENT_BUILD",
                repo.resolve("node-agent/build.sh").toString()));
        assertThat(buildScript).as("node-agent/build.sh, which builds the agent").isRegularFile();
        assertThat(Path.of("/sys/kernel/btf/vmlinux")).as("the kernel's BTF, which the agent's CO-RE programs need "
                + "(FLOTILLA_EBPF=off skips this)").exists();

        Run binary = run(List.of("bash", buildScript.toString()), Duration.ofMinutes(10));
        assertThat(binary.code()).as("node-agent/build.sh: %s", binary.out()).isZero();
        String binaryPath = binary.out().strip().lines().reduce((a, b) -> b).orElseThrow();
        Path out = Path.of("target", "node-agent-image").toAbsolutePath();
        Run build = run(List.of("bash", repo.resolve("deploy/image/build-node-agent.sh").toString(), binaryPath, out.toString()),
                Duration.ofMinutes(5));
        assertThat(build.code()).as("deploy/image/build-node-agent.sh: %s", build.out()).isZero();
        Matcher size = Pattern.compile("image: (\\S+) \\((\\d+) bytes; unpacked root (\\d+) bytes\\)").matcher(build.out());
        assertThat(size.find()).as(build.out()).isTrue();
        System.out.printf("NODE-AGENT-IMAGE tar=%s bytes=%s unpackedRootBytes=%s%n", size.group(1), size.group(2), size.group(3));

        // A dynamically linked binary is refused (the image has no loader).
        Run refused = run(List.of("bash", repo.resolve("deploy/image/build-node-agent.sh").toString(), "/bin/ls",
                out.resolveSibling("node-agent-image-refused").toString()), Duration.ofMinutes(1));
        assertThat(refused.code()).as(refused.out()).isNotZero();
        assertThat(refused.out()).contains("dynamically linked");

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
        assertThat(args).as("the entrypoint: the binary itself, no shell").containsExactly("/usr/local/bin/node-agent");
        assertThat(((Number) user.get("uid")).intValue()).as("the image's user").isZero();
        Path rootfs = bundle.resolve("rootfs");
        try (Stream<Path> files = Files.walk(rootfs)) {
            assertThat(files.filter(p -> !Files.isDirectory(p)).map(p -> rootfs.relativize(p).toString()))
                    .as("nothing but the binary, passwd and group (no shell, no libraries)")
                    .containsExactlyInAnyOrder("usr/local/bin/node-agent", "etc/passwd", "etc/group");
        }
        Run file = run(List.of("file", "-b", rootfs.resolve("usr/local/bin/node-agent").toString()), Duration.ofSeconds(30));
        assertThat(file.out()).as("the binary").contains("statically linked").doesNotContain("interpreter");

        // What the DaemonSet grants: its ServiceAccount, bound to the component's ClusterRole as shipped.
        KubernetesClient admin = cluster.client();
        Path component = repo.resolve("deploy/components/node-agent");
        List<HasMetadata> shipped = new ArrayList<>();
        for (String f : List.of("namespace.yaml", "rbac.yaml")) {
            shipped.addAll(DeployManifestsTest.documents(Files.readString(component.resolve(f))));
        }
        DaemonSet daemonSet = (DaemonSet) DeployManifestsTest.documents(Files.readString(component.resolve("daemonset.yaml")))
                .getFirst();
        String agentNamespace = daemonSet.getMetadata().getNamespace();
        String account = daemonSet.getSpec().getTemplate().getSpec().getServiceAccountName();
        for (HasMetadata o : shipped) {
            admin.resource(o).serverSideApply();
        }
        admin.serviceAccounts().inNamespace(agentNamespace).resource(new ServiceAccountBuilder().withNewMetadata()
                .withName(account).endMetadata().build()).serverSideApply();
        // A Pod on the agent's node (no kubelet here: it stays Pending, which is all the listing needs).
        admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName("on-the-node").endMetadata()
                .withNewSpec().withNodeName(NODE).addNewContainer().withName("c").withImage("none").endContainer().endSpec()
                .build()).create();
        String token = admin.serviceAccounts().inNamespace(agentNamespace).withName(account).tokenRequest(new TokenRequestBuilder()
                .withNewSpec().withExpirationSeconds(3600L).endSpec().build()).getStatus().getToken();
        Path secrets = out.resolve("serviceaccount");
        Files.createDirectories(secrets);
        Files.writeString(secrets.resolve("token"), token);
        Files.write(secrets.resolve("ca.crt"), cluster.config().getCaCertData() != null
                ? Base64.getDecoder().decode(cluster.config().getCaCertData())
                : Files.readAllBytes(Path.of(cluster.config().getCaCertFile())));
        Files.writeString(secrets.resolve("namespace"), agentNamespace);
        URI server = URI.create(cluster.config().getMasterUrl());

        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> agentArgs = new ArrayList<>(args);
        agentArgs.addAll(daemonSet.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs());
        agentArgs.add("--listen=127.0.0.1:" + port); // the DaemonSet's :9435 is its Pod's own; here the host's
        try {
            Path log = out.resolve("agent.log");
            Process agent = start(rootfs, secrets, server, agentArgs, log);
            try {
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                        .failFast("the agent exited", () -> !agent.isAlive())
                        .untilAsserted(() -> {
                            assertThat(get(http, port, "/healthz")).isEqualTo("ok\n");
                            assertThat(Files.readString(log)).containsPattern("event=pods_listed .*pods=1 ");
                        });
                String metrics = get(http, port, "/metrics");
                assertThat(metrics).contains("flotilla_node_run_queue_latency_seconds_bucket")
                        .contains("flotilla_node_agent_pods_refresh_errors_total 0");
                long uid = agent.descendants().filter(h -> h.info().command().orElse("").endsWith("node-agent"))
                        .mapToLong(h -> statusField(h.pid(), "Uid:")).findFirst().orElse(-1);
                assertThat(uid).as("the agent runs as the image's user").isZero();
                long capEff = agent.descendants().filter(h -> h.info().command().orElse("").endsWith("node-agent"))
                        .mapToLong(h -> Long.parseLong(statusText(h.pid(), "CapEff:"), 16)).findFirst().orElse(-1);
                assertThat(capEff).as("effective capabilities: CAP_BPF (39) and CAP_PERFMON (38) only")
                        .isEqualTo((1L << 39) | (1L << 38));
            } finally {
                agent.destroyForcibly();
                agent.waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            for (HasMetadata o : shipped) {
                if (!(o instanceof io.fabric8.kubernetes.api.model.Namespace)) {
                    admin.resource(o).delete();
                }
            }
        }
    }

    /**
     * The image's entrypoint in a root of its own, as the DaemonSet's container: a new mount and PID namespace, the root
     * read-only, /proc, the host's /sys read-only without its submounts, the host's cgroup hierarchy read-only at
     * /host/sys/fs/cgroup, the service account's files;
     * then uid 0 with a bounding set of CAP_BPF and CAP_PERFMON only, no_new_privs, and the in-cluster environment.
     */
    private static Process start(Path rootfs, Path secrets, URI server, List<String> agentArgs, Path log)
            throws Exception {
        String r = rootfs.toString();
        List<String> mounts = new ArrayList<>(List.of(
                "mount --bind '" + r + "' '" + r + "'", "mount -o remount,bind,ro '" + r + "'",
                "mount -t proc proc '" + r + "/proc'",
                "mount --bind /sys '" + r + "/sys'", "mount -o remount,bind,ro '" + r + "/sys'",
                "mount --rbind /sys/fs/cgroup '" + r + "/host/sys/fs/cgroup'",
                "mount -o remount,bind,ro '" + r + "/host/sys/fs/cgroup'",
                "mount --bind -o ro '" + secrets + "' '" + r + "/var/run/secrets/kubernetes.io/serviceaccount'"));
        // Every capability this kernel knows but the two: dropped from the bounding set, so uid 0's exec gets only those.
        mounts.add("last=$(cat /proc/sys/kernel/cap_last_cap)");
        mounts.add("drop=$(capsh --decode=$(printf '0x%x' $(( (1 << (last + 1)) - 1 ))) | cut -d= -f2 | tr , '\\n'"
                + " | grep -vx 'cap_bpf\\|cap_perfmon' | paste -sd,)");
        mounts.add("exec env -i KUBERNETES_SERVICE_HOST=" + server.getHost() + " KUBERNETES_SERVICE_PORT=" + server.getPort()
                + " NODE_NAME=" + NODE + " \"$(command -v capsh)\" --chroot='" + r + "' --drop=\"$drop\" --no-new-privs"
                + " --shell=\"$0\" -- \"$@\"");
        List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--pid", "--fork", "--kill-child",
                "--propagation", "private", "bash", "-c", String.join(" && ", mounts)));
        command.addAll(agentArgs);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static String get(HttpClient http, int port, String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("GET %s", path).isEqualTo(200);
        return response.body();
    }

    private static long statusField(long pid, String field) {
        return Long.parseLong(statusText(pid, field).split("\\s+")[0]);
    }

    private static String statusText(long pid, String field) {
        try {
            return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream().filter(l -> l.startsWith(field))
                    .map(l -> l.substring(field.length()).strip()).findFirst().orElse("-1");
        } catch (java.io.IOException e) {
            return "-1";
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
