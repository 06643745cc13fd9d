package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Log hygiene under a persistent 403, from {@code flotilla run}'s own output: a running replica whose permissions are
 * taken away logs the failure once when it starts, a reminder with a count at most once a minute, and never the same
 * exception text several times in a line; at most 10 lines in any minute. Before RepeatingFailures, a replica whose
 * informers were refused wrote 200 lines in the first minute (each retry twice, the exception text repeated).
 *
 * <p>The two scenarios run side by side ({@link ExecutionMode#CONCURRENT}; the manager's surefire configuration runs
 * everything else one at a time): each has its own namespace, ServiceAccount, RBAC objects (named after the namespace),
 * replicas and log files, and after their start the replicas mostly wait on refused requests.
 */
@WithCluster
class ForbiddenLogHygieneTest {

    static final Duration OBSERVED = Duration.ofSeconds(60);
    static final Path DIR = Path.of("target", "forbidden-log-hygiene");
    static final int MAX_LINES = 10;
    /** The replica runs with {@code --shards 8} ({@link DeployRbacAuditTest#start}): it holds them all, alone. */
    static final int SHARDS = 8;

    /**
     * A replica that may keep its Leases but may no longer list what it reconciles, and then takes over a dead
     * replica's shards: its new informers are refused on every retry, and its shards cannot sync.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aReplicaWhoseInformersAreRefusedAfterATakeoverWritesAtMostTenLinesAMinute(TestCluster cluster, TestNamespace ns)
            throws Exception {
        KubernetesClient admin = cluster.client();
        ShippedRbac rbac = DeployRbacAuditTest.deployAccount(admin, ns);
        Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, DIR.resolve("kubeconfig-takeover"));
        Path logA = DIR.resolve("takeover-a.log");
        Path logB = DIR.resolve("takeover-b.log");
        Process a = DeployRbacAuditTest.start(logA, kubeconfig, ns.name(), "flotilla-a", SHORT_PERIODS, -1);
        Process b = DeployRbacAuditTest.start(logB, kubeconfig, ns.name(), "flotilla-b", SHORT_PERIODS, -1);
        try {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                    .failFast("a replica exited", () -> !a.isAlive() || !b.isAlive())
                    .until(() -> acquired(logA) > 0 && acquired(logB) > 0 && acquired(logA) + acquired(logB) >= SHARDS);
            Thread.sleep(2000);
            rbac.unbindClusterWide(admin); // ConfigMaps, Events and namespaces forbidden; Leases still allowed
            Thread.sleep(1000);
            long before = Files.readAllLines(logB).size();
            a.destroyForcibly().waitFor(); // its shards go to b after a lease duration, and b's new informers are refused
            long start = System.nanoTime();
            Thread.sleep(OBSERVED_TAKEOVER.toMillis());
            List<String> lines = Files.readAllLines(logB);
            List<String> during = lines.subList((int) before, lines.size());
            System.out.printf("FORBIDDEN-LOG takeover lines=%d alive=%s in %d s%n", during.size(), b.isAlive(),
                    Duration.ofNanos(System.nanoTime() - start).toSeconds());
            during.forEach(l -> System.out.println("  | " + l.substring(0, Math.min(400, l.length()))));
            assertThat(b.isAlive()).as("the replica keeps running").isTrue();
            // The takeover's own events (each shard re-assigned) come first; the 403 starts with the informers' line.
            int onset = indexOf(during, "informers of ConfigMap failing");
            assertThat(onset).as("the refused lists were reported").isNotNegative();
            List<String> persistent = during.subList(onset, during.size());
            assertThat(persistent).as("the periods the replica was given").first(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                    .contains("one reminder every 30.0 s while it lasts");
            assertThat(persistent).as("a reminder while it lasts").anyMatch(l -> l.contains("informers of ConfigMap still failing"))
                    .anyMatch(l -> l.contains("shard caches (each shard handed back and taken again) still failing"))
                    .anyMatch(l -> l.contains("caches did not sync within " + SYNC_TIMEOUT));
            assertThat(persistent).as("the server's message at most once in a line")
                    .allMatch(l -> l.split("is forbidden", -1).length <= 2);
            assertThat(maxPerMinute(persistent)).as("log lines in any minute of a persistent 403").isLessThanOrEqualTo(MAX_LINES);
        } finally {
            a.destroyForcibly();
            b.destroyForcibly();
            rbac.revoke(admin);
        }
    }

    /**
     * The takeover's replicas remind every {@link #REMINDER} and hand a shard whose caches do not sync back after
     * {@link #SYNC_TIMEOUT} (production: a minute each), so that both streaks' reminders fall within
     * {@link #OBSERVED_TAKEOVER}: the informers' about 8 + 30 s after the kill (lease expiry, then a reminder period),
     * the shard caches' about 8 + 15 + 30 s. Twice the reminders a minute, and four times the sync cycles, under the same
     * bound of 10 lines in any minute.
     */
    static final Duration REMINDER = Duration.ofSeconds(30);
    static final Duration SYNC_TIMEOUT = Duration.ofSeconds(15);
    static final List<String> SHORT_PERIODS = List.of("-Dflotilla.failures.reminder=" + REMINDER,
            "-Dflotilla.sharding.syncTimeout=" + SYNC_TIMEOUT);
    static final Duration OBSERVED_TAKEOVER = Duration.ofSeconds(75);

    private static int indexOf(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
    }

    private static long acquired(Path log) throws java.io.IOException {
        return Files.readString(log).split("shard acquired", -1).length - 1;
    }

    /** The most lines with a timestamp in any 60 s window starting at a line. */
    static int maxPerMinute(List<String> lines) {
        List<java.time.Instant> at = lines.stream().filter(l -> l.length() > 24 && Character.isDigit(l.charAt(0)))
                .map(l -> java.time.Instant.parse(l.substring(0, l.indexOf(' ')))).toList();
        int max = 0;
        for (int i = 0; i < at.size(); i++) {
            int n = 0;
            for (int j = i; j < at.size() && at.get(j).isBefore(at.get(i).plusSeconds(60)); j++) {
                n++;
            }
            max = Math.max(max, n);
        }
        return Math.max(max, (int) lines.stream().filter(l -> !(l.length() > 24 && Character.isDigit(l.charAt(0)))).count());
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aReplicaWhosePermissionsAreRevokedWritesAtMostTenLinesAMinute(TestCluster cluster, TestNamespace ns) throws Exception {
        KubernetesClient admin = cluster.client();
        ShippedRbac rbac = DeployRbacAuditTest.deployAccount(admin, ns);
        Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, DIR.resolve("kubeconfig"));
        Path log = DIR.resolve("replica.log");
        Process replica = DeployRbacAuditTest.start(log, kubeconfig, ns.name(), "flotilla-0");
        try {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .failFast("the replica exited", () -> !replica.isAlive())
                    .until(() -> Files.readString(log).split("shard acquired", -1).length - 1 == SHARDS);
            Thread.sleep(2000);
            long before = Files.readAllLines(log).size();
            rbac.unbind(admin); // Leases, ConfigMaps, Events and namespaces are now all forbidden
            Thread.sleep(OBSERVED.toMillis());
            List<String> lines = Files.readAllLines(log);
            List<String> during = lines.subList((int) before, lines.size());
            System.out.printf("FORBIDDEN-LOG lines=%d alive=%s%n", during.size(), replica.isAlive());
            during.forEach(l -> System.out.println("  | " + l.substring(0, Math.min(300, l.length()))));
            assertThat(during).as("the lost membership was reported").anyMatch(l -> l.contains("membership renewal failed"));
            assertThat(during).as("the server's message at most once in a line").allMatch(l -> l.split("is forbidden", -1).length <= 2);
            assertThat(during.size()).as("log lines in %s of a persistent 403", OBSERVED).isLessThanOrEqualTo(MAX_LINES);
        } finally {
            replica.destroyForcibly();
            rbac.revoke(admin);
        }
    }
}
