package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.sharding.audit.FileAuditTrail;
import dev.flotilla.sharding.audit.LeaseTransition;
import dev.flotilla.sharding.audit.OverlapChecker;
import dev.flotilla.sharding.audit.ReconcileRecord;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Replicas as separate JVMs against the real API server: killed with SIGKILL, frozen with
 * SIGSTOP, and measured for retained heap. Audit trails are files (flushed per line) whose
 * System.nanoTime() stamps are comparable across processes on one Linux machine.
 */
@WithCluster
class ReplicaProcessesTest {

    static final int LEASE_SECONDS = 6;
    static final int RENEW_DEADLINE_SECONDS = 4;
    static final int RETRY_MILLIS = 1000;

    /** Under target/, kept after the run: each replica's log and audit trail, for a post-mortem. */
    Path dir;

    @org.junit.jupiter.api.BeforeEach
    void workDir(org.junit.jupiter.api.TestInfo info) throws IOException {
        dir = Path.of("target", "replica-processes", info.getTestMethod().orElseThrow().getName());
        if (Files.exists(dir)) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
        }
        Files.createDirectories(dir);
    }

    private final List<Child> children = new ArrayList<>();

    /** One replica JVM. */
    final class Child {
        final String identity;
        final Process process;
        final Path audit;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final PrintWriter stdin;
        /** Counts down when the process's output has all been copied to its log (it exited and closed stdout). */
        final java.util.concurrent.CountDownLatch logged = new java.util.concurrent.CountDownLatch(1);

        Child(String identity, Path kubeconfig, String leaseNamespace, String group, String label) throws IOException {
            this(identity, kubeconfig, leaseNamespace, group, label, List.of(), java.util.Map.of());
        }

        /** With {@code prefix} before the java command (e.g. faketime) and extra environment variables. */
        Child(String identity, Path kubeconfig, String leaseNamespace, String group, String label, List<String> prefix,
                java.util.Map<String, String> env) throws IOException {
            this.identity = identity;
            this.audit = dir.resolve(identity + ".audit");
            Path log = dir.resolve(identity + ".log");
            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> command = new ArrayList<>(prefix);
            command.addAll(List.of(java, "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), ReplicaProcess.class.getName(),
                    kubeconfig.toString(), identity, leaseNamespace, group, label, audit.toString(),
                    String.valueOf(LEASE_SECONDS), String.valueOf(RENEW_DEADLINE_SECONDS), String.valueOf(RETRY_MILLIS)));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            builder.environment().putAll(env);
            process = builder.start();
            stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                        PrintWriter out = new PrintWriter(Files.newBufferedWriter(log), true)) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        out.println(line);
                        if (line.startsWith("BASELINE ") || line.startsWith("READY ") || line.startsWith("HEAP ")
                                || line.startsWith("CLOCK ")) {
                            lines.add(line);
                        }
                    }
                } catch (IOException e) {
                    // the process died
                } finally {
                    logged.countDown();
                }
            });
            children.add(this);
        }

        String await(String prefix, Duration timeout) throws InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < end) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (line != null && line.startsWith(prefix)) {
                    return line;
                }
                if (!process.isAlive()) {
                    throw new AssertionError(identity + " exited with " + process.exitValue() + "; see " + dir.resolve(identity + ".log"));
                }
            }
            throw new AssertionError(identity + " printed no " + prefix + " within " + timeout);
        }

        /** Shards this replica works on, from its audit trail. */
        Set<Integer> active() throws IOException {
            Set<Integer> active = new TreeSet<>();
            for (LeaseTransition t : FileAuditTrail.readTransitions(List.of(audit))) {
                switch (t.kind()) {
                    case ACTIVE -> active.add(t.shard());
                    case RELEASED, FENCED -> active.remove(t.shard());
                    case ACQUIRED -> { }
                }
            }
            return active;
        }

        void signal(String sig) throws Exception {
            new ProcessBuilder("kill", "-" + sig, String.valueOf(process.pid())).inheritIO().start().waitFor();
        }
    }

    @AfterEach
    void stopChildren() {
        children.forEach(c -> c.process.destroyForcibly());
    }

    private Path kubeconfig(TestCluster cluster) throws IOException {
        Path file = dir.resolve("kubeconfig");
        Files.writeString(file, cluster.kubeconfigYaml());
        return file;
    }

    static List<String> populate(KubernetesClient client, TestNamespace ns, String label, int namespaces, int perNamespace,
            int dataBytes) throws Exception {
        List<String> names = new ArrayList<>();
        String payload = "x".repeat(dataBytes);
        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            List<Future<?>> created = new ArrayList<>();
            for (int i = 0; i < namespaces; i++) {
                // The varying part first: FNV-1a barely moves the high bits (which pick the shard) for a
                // change in the last characters, so "x-1" ... "x-40" would crowd into a few shards.
                String full = i + "-" + label + "-" + ns.name();
                String name = full.substring(0, Math.min(63, full.length())).replaceAll("-+$", "");
                names.add(name);
                client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
                for (int j = 0; j < perNamespace; j++) {
                    int n = j;
                    created.add(pool.submit(() -> client.resource(new ConfigMapBuilder().withNewMetadata().withName("cm-" + n)
                            .withNamespace(name).addToLabels(Replica.LABEL, label).endMetadata().addToData("v", "0")
                            .addToData("payload", payload).build()).create()));
                }
            }
            for (Future<?> f : created) {
                f.get();
            }
        }
        return names;
    }

    static void awaitTrue(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private static boolean settled(List<Child> live, int shards) {
        try {
            Set<Integer> union = new HashSet<>();
            int total = 0;
            for (Child c : live) {
                Set<Integer> a = c.active();
                if (a.size() < shards / live.size()) {
                    return false; // balanced: a newcomer has its share
                }
                union.addAll(a);
                total += a.size();
            }
            return union.size() == shards && total == shards;
        } catch (IOException e) {
            return false;
        }
    }

    private static String coordinator(KubernetesClient client, String ns, String group) {
        var lease = client.leases().inNamespace(ns).withName(new LeaseNaming(group).coordinatorLease()).get();
        return lease == null || lease.getSpec().getHolderIdentity() == null ? ""
                : LeaseNaming.identityOf(lease.getSpec().getHolderIdentity());
    }

    /** Three replica JVMs of {@code group}, started, joined and sharing the 32 shards. */
    private List<Child> startThree(Path kubeconfig, TestNamespace ns, String group) throws Exception {
        List<Child> live = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            live.add(new Child("replica-" + i, kubeconfig, ns.name(), group, group));
        }
        for (Child c : live) {
            c.await("READY", Duration.ofSeconds(60));
        }
        awaitTrue("3 replicas to share 32 shards", Duration.ofSeconds(30), () -> settled(live, 32));
        return live;
    }

    private List<Path> audits() {
        return children.stream().map(c -> c.audit).toList();
    }

    /**
     * A replica whose wall clock runs 5 minutes ahead (libfaketime; the monotonic clock left alone) joins a
     * group with a live coordinator. Judged by the wall clock, the coordinator's last renewTime would look
     * 5 minutes old, long expired; judged as Flotilla does, from when this replica saw the Lease change on
     * its own monotonic clock, it is live, and the newcomer never takes it.
     */
    @Test
    void aReplicaWhoseWallClockRunsFiveMinutesAheadDoesNotTakeTheCoordinatorLeaseFromALiveCoordinator(TestCluster cluster,
            TestNamespace ns) throws Exception {
        String faketime = findFaketime();
        Path kubeconfig = kubeconfig(cluster);
        String group = "skew";
        Child first = new Child("replica-0", kubeconfig, ns.name(), group, group);
        first.await("READY", Duration.ofSeconds(60));
        awaitTrue("replica-0 to coordinate", Duration.ofSeconds(30),
                () -> coordinator(cluster.client(), ns.name(), group).equals("replica-0"));

        Child ahead = new Child("replica-1", kubeconfig, ns.name(), group, group, List.of(faketime, "-f", "+5m"),
                java.util.Map.of("FAKETIME_DONT_FAKE_MONOTONIC", "1"));
        ahead.await("READY", Duration.ofSeconds(60));
        String clock = ahead.await("CLOCK ", Duration.ofSeconds(5));
        long skewSeconds = Long.parseLong(clock.substring("CLOCK ".length()).strip()) - java.time.Instant.now().getEpochSecond();
        assertThat(skewSeconds).as("replica-1's wall clock is 5 minutes ahead").isBetween(290L, 310L);

        // Three lease durations, looking every 20 ms: the coordinator never changes, and replica-1 still gets its shards.
        long end = System.nanoTime() + Duration.ofSeconds(3L * LEASE_SECONDS).toNanos();
        while (System.nanoTime() < end) {
            assertThat(coordinator(cluster.client(), ns.name(), group)).as("coordinator").isEqualTo("replica-0");
            Thread.sleep(20);
        }
        awaitTrue("both replicas to share 32 shards", Duration.ofSeconds(30), () -> settled(List.of(first, ahead), 32));
        assertThat(coordinator(cluster.client(), ns.name(), group)).isEqualTo("replica-0");
    }

    /** Debian's faketime (test.sh installs it); a missing one fails naming the package. */
    private static String findFaketime() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, "faketime");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new AssertionError("no faketime on PATH: install Debian's faketime package (test.sh does: scripts/debian-tool.sh)");
    }

    @Test
    void afterSigkillEveryNamespaceOfTheDeadReplicaIsReconciledAgainWithinEightSeconds(TestCluster cluster, TestNamespace ns)
            throws Exception {
        String group = "kill";
        List<String> namespaces = populate(cluster.client(), ns, group, 40, 5, 10);
        Path kubeconfig = kubeconfig(cluster);
        List<Child> live = startThree(kubeconfig, ns, group);
        ShardSpace space = new ShardSpace(32);
        List<Long> coordinatorKills = new ArrayList<>();
        List<Long> memberKills = new ArrayList<>();
        for (int trial = 0; trial < 10; trial++) {
            awaitTrue("a live coordinator", Duration.ofSeconds(20), () -> live.stream()
                    .anyMatch(c -> c.identity.equals(coordinator(cluster.client(), ns.name(), group))));
            String leader = coordinator(cluster.client(), ns.name(), group);
            boolean killLeader = trial % 3 == 0;
            Child victim = live.stream().filter(c -> c.identity.equals(leader) == killLeader).findFirst().orElseThrow();
            Set<Integer> itsShards = victim.active();
            for (Child c : live) {
                System.out.printf("trial %d: %s active %s%s%n", trial, c.identity, c.active(), c.identity.equals(leader) ? " (coordinator)" : "");
            }
            Set<String> itsNamespaces = new TreeSet<>();
            namespaces.stream().filter(n -> itsShards.contains(space.shardOf(n))).forEach(itsNamespaces::add);
            assertThat(itsNamespaces).as("namespaces of %s's shards %s", victim.identity, itsShards).isNotEmpty();
            long killed = System.nanoTime();
            victim.process.destroyForcibly(); // SIGKILL
            live.remove(victim);
            Map<String, Long> reconciledAt = new HashMap<>();
            awaitTrue("the dead replica's namespaces to be reconciled elsewhere", Duration.ofSeconds(30), () -> {
                try {
                    for (ReconcileRecord r : FileAuditTrail.readReconciles(live.stream().map(c -> c.audit).toList())) {
                        if (r.startNanos() >= killed && itsNamespaces.contains(r.namespace())) {
                            reconciledAt.merge(r.namespace(), r.endNanos(), Math::min);
                        }
                    }
                } catch (IOException e) {
                    return false;
                }
                return reconciledAt.keySet().containsAll(itsNamespaces);
            });
            long worst = Duration.ofNanos(Collections.max(reconciledAt.values()) - killed).toMillis();
            (killLeader ? coordinatorKills : memberKills).add(worst);
            System.out.printf("trial %d: SIGKILL %s (%s, %d shards, %d namespaces): all reconciled elsewhere after %d ms%n",
                    trial, victim.identity, killLeader ? "coordinator" : "member", itsShards.size(), itsNamespaces.size(), worst);
            Child replacement = new Child("replica-" + (3 + trial), kubeconfig, ns.name(), group, group);
            replacement.await("READY", Duration.ofSeconds(60));
            live.add(replacement);
            awaitTrue("the replacement to get its shards", Duration.ofSeconds(30), () -> settled(live, 32));
        }
        List<Long> all = new ArrayList<>(memberKills);
        all.addAll(coordinatorKills);
        Collections.sort(all);
        System.out.printf("failover after SIGKILL over %d trials (ms): sorted %s; member kills %s; coordinator kills %s%n",
                all.size(), all, memberKills, coordinatorKills);
        assertThat(all).as("every trial within 8 s").allMatch(ms -> ms <= 8000);
        List<ReconcileRecord> trail = FileAuditTrail.readReconciles(audits());
        assertThat(trail.size()).as("reconciles recorded").isGreaterThan(1000);
        assertThat(OverlapChecker.overlaps(trail)).isEmpty();
    }

    @Test
    void onSigtermAReplicaLeavesTheGroupFirstHandingItsShardsOverThenDrainsAndExits(TestCluster cluster, TestNamespace ns)
            throws Exception {
        String group = "term";
        populate(cluster.client(), ns, group, 10, 2, 10);
        Path kubeconfig = kubeconfig(cluster);
        List<Child> live = startThree(kubeconfig, ns, group);
        LeaseNaming naming = new LeaseNaming(group);
        var leases = cluster.client().leases().inNamespace(ns.name());
        Child leaving = live.get(1);
        Set<Integer> itsShards = leaving.active();
        String holder = leases.withName(naming.shardLease(itsShards.iterator().next())).get().getSpec().getHolderIdentity();
        assertThat(holder).startsWith(leaving.identity + "_");
        long signalled = System.nanoTime();
        leaving.process.toHandle().destroy(); // SIGTERM from the JVM itself (no kill process to fork), stdin kept open
        live.remove(leaving);
        // Judged from the API server: the shards' Leases no longer name it, and the survivors work on them.
        awaitTrue("its shards to be held and active elsewhere", Duration.ofSeconds(5), () -> {
            try {
                Set<Integer> elsewhere = new TreeSet<>();
                for (Child c : live) {
                    elsewhere.addAll(c.active());
                }
                return elsewhere.containsAll(itsShards) && itsShards.stream().noneMatch(shard -> holder.equals(
                        leases.withName(naming.shardLease(shard)).get().getSpec().getHolderIdentity()));
            } catch (IOException e) {
                return false;
            }
        });
        // Timed from the survivors' own trails (monotonic stamps, comparable across processes), not from polling.
        Map<Integer, Long> activeAt = new HashMap<>();
        for (LeaseTransition t : FileAuditTrail.readTransitions(live.stream().map(c -> c.audit).toList())) {
            if (t.kind() == LeaseTransition.Kind.ACTIVE && t.atNanos() >= signalled && itsShards.contains(t.shard())) {
                activeAt.merge(t.shard(), t.atNanos(), Math::min);
            }
        }
        assertThat(activeAt.keySet()).containsExactlyInAnyOrderElementsOf(itsShards);
        long handedOverMs = Duration.ofNanos(Collections.max(activeAt.values()) - signalled).toMillis();
        assertThat(leaving.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(leaving.process.exitValue()).as("terminated by SIGTERM after its shutdown hook").isEqualTo(143);
        assertThat(leases.withName(naming.memberLease(leaving.identity)).get()).as("its membership Lease is gone").isNull();
        assertThat(leaving.logged.await(10, TimeUnit.SECONDS)).as("its output copied to its log").isTrue();
        List<String> log = Files.readAllLines(dir.resolve(leaving.identity + ".log"));
        int left = indexOf(log, "left sharding group");
        int stopped = indexOf(log, "manager stopped");
        assertThat(left).as("it left the group").isNotNegative();
        assertThat(stopped).as("the group was left before the manager drained and stopped").isGreaterThan(left);
        assertThat(indexOf(log, "shard fenced")).as("handed over, not fenced").isNegative();
        System.out.printf("SIGTERM %s with %d shards: all active on the survivors after %d ms%n", leaving.identity,
                itsShards.size(), handedOverMs);
        assertThat(handedOverMs).as("graceful handover").isLessThanOrEqualTo(2000);
        assertThat(OverlapChecker.overlaps(FileAuditTrail.readReconciles(audits()))).isEmpty();
    }

    private static int indexOf(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void aReplicaFrozenWithSigstopPastItsLeaseNeverOverlapsTheReplicaThatTookOver(TestCluster cluster, TestNamespace ns)
            throws Exception {
        String group = "frozen";
        String[] frozenIdentity = new String[1];
        long[] freeze = new long[2];
        List<String> namespaces = populate(cluster.client(), ns, group, 40, 5, 10);
        Path kubeconfig = kubeconfig(cluster);
        List<Child> live = startThree(kubeconfig, ns, group);
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = Thread.ofVirtual().start(() -> {
            int n = 0;
            while (!stop.get()) {
                try {
                    cluster.client().configMaps().inNamespace(namespaces.get(n % namespaces.size())).withName("cm-" + (n % 5))
                            .edit(c -> new ConfigMapBuilder(c).addToData("v", String.valueOf(System.nanoTime())).build());
                } catch (RuntimeException e) {
                    // keep writing
                }
                n++;
            }
        });
        try {
            String leader = coordinator(cluster.client(), ns.name(), group);
            Child frozen = live.stream().filter(c -> !c.identity.equals(leader)).findFirst().orElseThrow();
            Set<Integer> itsShards = frozen.active();
            Thread.sleep(2000);
            frozenIdentity[0] = frozen.identity;
            long stopped = System.nanoTime();
            frozen.signal("STOP");
            freeze[0] = System.nanoTime(); // delivered by now: `kill` has returned
            List<Child> others = live.stream().filter(c -> c != frozen).toList();
            awaitTrue("the others to take the frozen replica's shards", Duration.ofSeconds(20), () -> {
                Set<Integer> covered = new HashSet<>();
                try {
                    for (Child c : others) {
                        covered.addAll(c.active());
                    }
                } catch (IOException e) {
                    return false;
                }
                return covered.containsAll(itsShards);
            });
            long takenMs = Duration.ofNanos(System.nanoTime() - stopped).toMillis();
            Thread.sleep(Math.max(0, 9000 - takenMs)); // frozen well past the lease duration, while the others work
            long resumed = System.nanoTime();
            freeze[1] = resumed;
            frozen.signal("CONT");
            awaitTrue("the resumed replica to rejoin and share the shards again", Duration.ofSeconds(40), () -> settled(live, 32));
            Thread.sleep(2000);
            List<LeaseTransition> frozenTransitions = FileAuditTrail.readTransitions(List.of(frozen.audit));
            // On resuming, it stops working on every shard it held: fenced (its renewal deadline had long
            // passed) or handed over (the coordinator had re-assigned it), before any new ACTIVE.
            Set<Integer> stoppedOnResume = new TreeSet<>();
            // Anything it recorded after SIGSTOP happened after SIGCONT: a stopped process records nothing.
            frozenTransitions.stream().filter(t -> t.atNanos() >= stopped && (t.kind() == LeaseTransition.Kind.FENCED
                    || t.kind() == LeaseTransition.Kind.RELEASED)).forEach(t -> stoppedOnResume.add(t.shard()));
            long fencedOnResume = stoppedOnResume.size();
            System.out.printf("SIGSTOP %s with %d shards: taken over after %d ms; on SIGCONT it stopped (fenced or released) %d shards%n",
                    frozen.identity, itsShards.size(), takenMs, fencedOnResume);
            assertThat(takenMs).isGreaterThanOrEqualTo(LEASE_SECONDS * 1000L - RETRY_MILLIS);
            assertThat(fencedOnResume).as("on resuming, the frozen replica stopped working on the shards it had held").isEqualTo(itsShards.size());
            assertThat(stoppedOnResume).isEqualTo(itsShards);
        } finally {
            stop.set(true);
            writer.join();
        }
        List<ReconcileRecord> trail = FileAuditTrail.readReconciles(audits());
        assertThat(trail.size()).isGreaterThan(200);
        // The one overlap a freeze can produce without fencing tokens (documented in docs/architecture.md): a
        // reconcile already running when SIGSTOP landed is frozen with the process and finishes after SIGCONT.
        // It must end promptly (the fence interrupts it); no reconcile may start on the frozen replica meanwhile.
        List<OverlapChecker.Overlap> overlaps = OverlapChecker.overlaps(trail);
        List<OverlapChecker.Overlap> unexplained = overlaps.stream()
                .filter(o -> !inFlightAcrossTheFreeze(o.first(), frozenIdentity[0], freeze[0], freeze[1])
                        && !inFlightAcrossTheFreeze(o.second(), frozenIdentity[0], freeze[0], freeze[1]))
                .toList();
        long spanning = trail.stream().filter(r -> inFlightAcrossTheFreeze(r, frozenIdentity[0], freeze[0], freeze[1])).count();
        System.out.printf("SIGSTOP: %d reconciles were in flight across the freeze; %d overlaps, all from them: %s%n",
                spanning, overlaps.size(), unexplained.isEmpty());
        assertThat(spanning).as("reconciles frozen mid-flight (at most one per worker)").isLessThanOrEqualTo(4);
        assertThat(unexplained).isEmpty();
    }

    /** A reconcile of the frozen replica running when SIGSTOP had landed, that ended within 1 s of SIGCONT. */
    private static boolean inFlightAcrossTheFreeze(ReconcileRecord r, String frozen, long stoppedNanos, long resumedNanos) {
        return r.replica().equals(frozen) && r.startNanos() < stoppedNanos && r.endNanos() > stoppedNanos
                && r.endNanos() <= resumedNanos + TimeUnit.SECONDS.toNanos(1);
    }

    private static long[] heap(Child c) throws InterruptedException {
        c.stdin.println("heap");
        String[] p = c.await("HEAP ", Duration.ofSeconds(60)).split(" ");
        return new long[] {Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3])};
    }

    @Test
    void withThreeReplicasEachCachesOnlyItsShardsAndRetainsAtMost45PercentOfOneReplicasHeap(TestCluster cluster,
            TestNamespace ns) throws Exception {
        int total = 10_000;
        // 1,000 namespaces of 10: shards are balanced by count, and a shard's objects are whatever its
        // namespaces hold, so with only 100 namespaces one replica of three held 22% and another 46%.
        // Objects of about 8 KiB (a ConfigMap holding a config file). Each replica also retains 2-5 MiB that
        // does not depend on its share (registry, lease watch, per-shard watches): with 1 KiB objects
        // (a 30 MiB cache) that alone is 7-15 points of the ratio; measured, 1 KiB gave 27-45%, 4 KiB 29-43%.
        List<String> namespaces = populate(cluster.client(), ns, "mem", 1000, total / 1000, 8192);
        Path kubeconfig = kubeconfig(cluster);
        ShardSpace space = new ShardSpace(32);

        Child solo = new Child("solo", kubeconfig, ns.name(), "mem1", "mem");
        long soloBaseline = Long.parseLong(solo.await("BASELINE ", Duration.ofSeconds(60)).split(" ")[1]);
        solo.await("READY", Duration.ofSeconds(60));
        awaitTrue("one replica to hold all 32 shards", Duration.ofSeconds(60), () -> settled(List.of(solo), 32));
        long[] one = heap(solo);
        assertThat(one[1]).as("the single replica caches every object").isEqualTo(total);
        long soloRetained = one[0] - soloBaseline;
        solo.stdin.println("stop");
        solo.process.waitFor(30, TimeUnit.SECONDS);

        List<Child> three = new ArrayList<>();
        Map<Child, Long> baselines = new HashMap<>();
        for (int i = 0; i < 3; i++) {
            Child c = new Child("mem-" + i, kubeconfig, ns.name(), "mem3", "mem");
            three.add(c);
        }
        for (Child c : three) {
            baselines.put(c, Long.parseLong(c.await("BASELINE ", Duration.ofSeconds(60)).split(" ")[1]));
            c.await("READY", Duration.ofSeconds(60));
        }
        awaitTrue("3 replicas to share 32 shards", Duration.ofSeconds(60), () -> settled(three, 32));
        Thread.sleep(2000); // let the shards that moved while the others joined finish syncing
        long cachedSum = 0;
        List<Runnable> checks = new ArrayList<>();
        StringBuilder report = new StringBuilder();
        for (Child c : three) {
            Set<Integer> mine = c.active();
            long expected = namespaces.stream().filter(n -> mine.contains(space.shardOf(n))).count() * (total / 1000);
            long[] h = heap(c);
            long retained = h[0] - baselines.get(c);
            if (Boolean.getBoolean("flotilla.histogram")) {
                Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        String.valueOf(c.process.pid()), "GC.class_histogram").redirectErrorStream(true).start();
                String histogram = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                histogram.lines().limit(25).forEach(l -> System.out.println(c.identity + " " + l));
            }
            cachedSum += h[1];
            report.append(String.format("%s: %d shards, %d objects cached, retained %.1f MiB (%.0f%% of one replica); ",
                    c.identity, mine.size(), h[1], retained / 1048576.0, 100.0 * retained / soloRetained));
            checks.add(() -> {
                assertThat(h[1]).as(c.identity + " caches exactly its shards' objects").isEqualTo(expected);
                assertThat((double) retained).as(c.identity + " retained heap vs one replica's " + soloRetained)
                        .isLessThanOrEqualTo(0.45 * soloRetained);
            });
        }
        System.out.printf("memory, %d objects: one replica retained %.1f MiB (baseline %.1f MiB); %s%n", total,
                soloRetained / 1048576.0, soloBaseline / 1048576.0, report);
        checks.forEach(Runnable::run);
        assertThat(cachedSum).isEqualTo(total);
    }
}
