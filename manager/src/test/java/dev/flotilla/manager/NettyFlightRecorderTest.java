package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.cli.ProcessDefaults;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link ProcessDefaults} seen from outside: a {@code flotilla run} replica, started as a process and mirroring a
 * ConfigMap through Vert.x and Netty, never starts the Flight Recorder's metadata repository, which Netty 4.2's buffer
 * events start on the first request; one started with {@code -Dio.netty.jfr.enabled=true} does (so the check can fail,
 * and the user's setting wins). Judged from the JVM's own class-loading log, not from anything the replica reports.
 */
@WithCluster
class NettyFlightRecorderTest {

    /** The class the Flight Recorder's event registration loads first, recording or not. */
    private static final String JFR_METADATA = "jdk.jfr.internal.MetadataRepository";
    private static final Pattern LOADED = Pattern.compile("^(?:\\[[^]]*\\])+ (\\S+) source: ");

    @Test
    void aReplicaLeavesTheFlightRecorderAloneUnlessTheUserAsksForNettysEvents(TestCluster cluster, TestNamespace ns)
            throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "netty-flight-recorder"));
        ShippedRbac rbac = DeployRbacAuditTest.deployAccount(cluster.client(), ns);
        try {
            Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, dir.resolve("kubeconfig"));
            Set<String> byDefault = classesLoadedWhileMirroring(cluster.client(), ns, dir, kubeconfig, "default", List.of());
            Set<String> askedFor = classesLoadedWhileMirroring(cluster.client(), ns, dir, kubeconfig, "asked",
                    List.of("-D" + ProcessDefaults.NETTY_JFR + "=true"));

            assertThat(byDefault.stream().filter(c -> c.startsWith("io.netty.buffer.")).count())
                    .as("Netty's buffer classes a replica loaded: they carried its requests").isPositive();
            assertThat(byDefault.contains(JFR_METADATA)).as("a replica loaded %s by default", JFR_METADATA).isFalse();
            assertThat(askedFor.contains(JFR_METADATA)).as("a replica loaded %s with -D%s=true", JFR_METADATA,
                    ProcessDefaults.NETTY_JFR).isTrue();
        } finally {
            rbac.revoke(cluster.client());
        }
    }

    /** Starts a replica with {@code jvmOptions}, waits until it mirrors a new source, stops it; the classes it loaded. */
    private static Set<String> classesLoadedWhileMirroring(KubernetesClient admin, TestNamespace ns, Path dir, Path kubeconfig,
            String tag, List<String> jvmOptions) throws Exception {
        String pod = "flotilla-" + tag;
        admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                .withNewSpec().addNewContainer().withName("flotilla").withImage("flotilla").endContainer().endSpec().build())
                .create();
        Path classes = dir.resolve(tag + "-classes.log").toAbsolutePath();
        Files.deleteIfExists(classes);
        List<String> options = new ArrayList<>(jvmOptions);
        options.add("-Xlog:class+load=info:file=" + classes);
        Process replica = DeployRbacAuditTest.start(dir.resolve(tag + ".log"), kubeconfig, ns.name(), pod, options, -1);
        try {
            DeployRbacAuditTest.awaitMirrored(admin, DeployRbacAuditTest.sources(admin, ns, tag, 1), "1", List.of(replica));
        } finally {
            new ProcessBuilder("kill", "-TERM", String.valueOf(replica.pid())).start().waitFor();
            if (!replica.waitFor(45, TimeUnit.SECONDS)) {
                replica.destroyForcibly().waitFor();
            }
        }
        try (var lines = Files.lines(classes)) {
            return lines.map(LOADED::matcher).filter(Matcher::find).map(m -> m.group(1)).collect(Collectors.toSet());
        }
    }
}
