package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.Sharding;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Chaos experiments aim at the coordinator by label: three {@code flotilla run} replicas, each in its own Pod and
 * authenticated as the deploy's ServiceAccount with exactly deploy/base's RBAC, keep
 * {@code flotilla.dev/role=coordinator} on the coordinator's Pod through a SIGKILL of the coordinator, the killed one's
 * restart in the same Pod (which clears the label it left), and graceful leaves (SIGTERM), after which no Pod carries it.
 */
@WithCluster
class CoordinatorPodLabelTest {

    private static final String COORDINATOR_LEASE = new LeaseNaming(ShardingConfig.DEFAULT_GROUP).coordinatorLease();

    @Test
    void theCoordinatorsPodCarriesTheLabelAcrossAKillARestartAndGracefulLeaves(TestCluster cluster, TestNamespace ns)
            throws Exception {
        KubernetesClient admin = cluster.client();
        Path dir = Path.of("target", "coordinator-pod-label");
        Files.createDirectories(dir);
        ShippedRbac rbac = DeployRbacAuditTest.deployAccount(admin, ns);
        Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, dir.resolve("kubeconfig"));
        List<Process> replicas = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                String pod = "flotilla-" + i;
                admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod)
                        .addToLabels("app", "flotilla").endMetadata().withNewSpec().addNewContainer().withName("flotilla")
                        .withImage("flotilla").endContainer().endSpec().build()).create();
                replicas.add(start(dir, kubeconfig, ns, i));
            }
            String first = awaitLabelledIsCoordinator(admin, ns, "", replicas);
            assertThat(labelled(admin, ns)).as("one Pod labelled").containsExactly(first);
            Pod pod = admin.pods().inNamespace(ns.name()).withName(first).get();
            assertThat(pod.getMetadata().getLabels()).as("the other labels are left alone").containsEntry("app", "flotilla");
            assertThat(pod.getMetadata().getManagedFields()).as("written as sharding's field manager")
                    .anyMatch(f -> Sharding.FIELD_MANAGER.equals(f.getManager()));

            // SIGKILL: the killed replica cannot remove its label; the next coordinator labels its own Pod.
            int killedAt = index(first);
            replicas.get(killedAt).destroyForcibly().waitFor();
            String second = awaitLabelledIsCoordinator(admin, ns, first, replicas.stream()
                    .filter(p -> p != replicas.get(killedAt)).toList());
            assertThat(labelled(admin, ns)).as("the killed coordinator's Pod keeps its stale label (no kubelet replaces it "
                    + "here)").containsExactlyInAnyOrder(first, second);

            // Its container restarted in the same Pod: the new incarnation clears what the old one left.
            replicas.set(killedAt, start(dir, kubeconfig, ns, killedAt));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> assertThat(labelled(admin, ns)).as("after the restart").containsExactly(second));

            // SIGTERM the coordinator: a graceful leave removes its label; the next coordinator labels its own.
            Process leaving = replicas.get(index(second));
            terminate(leaving);
            assertThat(labels(admin, ns, second)).as("the Pod of the coordinator that left gracefully")
                    .doesNotContainKey(LeaseNaming.LABEL_POD_ROLE);
            String third = awaitLabelledIsCoordinator(admin, ns, second, replicas.stream().filter(Process::isAlive).toList());
            assertThat(labelled(admin, ns)).containsExactly(third);

            for (Process p : replicas.stream().filter(Process::isAlive).toList()) {
                terminate(p);
            }
            assertThat(labelled(admin, ns)).as("every replica left gracefully").isEmpty();
        } finally {
            replicas.forEach(Process::destroyForcibly);
            rbac.revoke(admin);
        }
    }

    private static Process start(Path dir, Path kubeconfig, TestNamespace ns, int i) throws Exception {
        String pod = "flotilla-" + i;
        Path log = dir.resolve(pod + ".log");
        if (Files.exists(log)) {
            Files.move(log, dir.resolve(pod + "-" + System.nanoTime() + ".log"));
        }
        return DeployRbacAuditTest.start(log, kubeconfig, ns.name(), pod);
    }

    private static void terminate(Process p) throws Exception {
        new ProcessBuilder("kill", "-TERM", String.valueOf(p.pid())).start().waitFor();
        assertThat(p.waitFor(45, TimeUnit.SECONDS)).as("a replica exits on SIGTERM").isTrue();
        assertThat(p.exitValue()).as("128 + SIGTERM, after its leave").isEqualTo(143);
    }

    /** Waits until the coordinator Lease names a replica other than {@code not} and that replica's Pod is labelled. */
    private static String awaitLabelledIsCoordinator(KubernetesClient admin, TestNamespace ns, String not, List<Process> alive) {
        String[] holder = {""};
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                .failFast("a replica exited", () -> alive.stream().anyMatch(p -> !p.isAlive()))
                .untilAsserted(() -> {
                    Lease lease = admin.leases().inNamespace(ns.name()).withName(COORDINATOR_LEASE).get();
                    assertThat(lease).isNotNull();
                    String h = lease.getSpec().getHolderIdentity() == null ? "" : LeaseNaming.identityOf(lease.getSpec().getHolderIdentity());
                    assertThat(h).as("the coordinator").isNotEmpty().isNotEqualTo(not);
                    assertThat(labels(admin, ns, h)).as("the coordinator's Pod %s", h)
                            .containsEntry(LeaseNaming.LABEL_POD_ROLE, LeaseNaming.ROLE_COORDINATOR);
                    holder[0] = h;
                });
        return holder[0];
    }

    private static java.util.Map<String, String> labels(KubernetesClient admin, TestNamespace ns, String pod) {
        java.util.Map<String, String> labels = admin.pods().inNamespace(ns.name()).withName(pod).get().getMetadata().getLabels();
        return labels == null ? java.util.Map.of() : labels;
    }

    /** The Pods a chaos experiment's selector picks. */
    private static Set<String> labelled(KubernetesClient admin, TestNamespace ns) {
        Set<String> out = new TreeSet<>();
        admin.pods().inNamespace(ns.name()).withLabel(LeaseNaming.LABEL_POD_ROLE, LeaseNaming.ROLE_COORDINATOR).list().getItems()
                .forEach(p -> out.add(p.getMetadata().getName()));
        return out;
    }

    private static int index(String pod) {
        return Integer.parseInt(pod.substring(pod.lastIndexOf('-') + 1));
    }
}
