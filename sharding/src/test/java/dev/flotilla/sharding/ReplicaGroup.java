package dev.flotilla.sharding;

import dev.flotilla.sharding.audit.FileAuditTrail;
import dev.flotilla.sharding.audit.LeaseTransition;
import dev.flotilla.sharding.audit.ReconcileRecord;
import dev.flotilla.sharding.auditlog.AuditLog;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.sharding.auditlog.SingleWriterCheck;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Replica JVMs ({@link ReplicaProcess}) of the multi-process suites, each with its log and audit
 * trail in a work directory under target/ (kept for a post-mortem). Audit trails are files
 * (flushed per line) whose System.nanoTime() stamps are comparable across processes on one Linux
 * machine. Closing it kills every replica it started.
 */
final class ReplicaGroup implements AutoCloseable {

    static final int LEASE_SECONDS = 6;
    static final int RENEW_DEADLINE_SECONDS = 4;
    static final int RETRY_MILLIS = 1000;
    static final int SHARDS = 32;
    /** Each replica's request budget (requests/s), unless a test builds a queue with less. */
    static final double QPS = 200;

    final Path dir;
    private final List<Child> children = new ArrayList<>();
    private final ReplicaLaunch launch = ReplicaLaunch.ofThisClasspath();

    ReplicaGroup(String name) throws IOException {
        dir = Path.of("target", "replica-processes", name);
        if (Files.exists(dir)) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
        }
        Files.createDirectories(dir);
    }

    /** How one replica is started; the defaults are {@code flotilla run}'s way with this suite's timings. */
    record Options(double qps, boolean writes, boolean fence, List<String> prefix, Map<String, String> env,
            Path kubeconfig, boolean impersonate, String pod) {

        static Options of(Path kubeconfig) {
            return new Options(QPS, true, true, List.of(), Map.of(), kubeconfig, true, "");
        }

        Options qps(double q) {
            return new Options(q, writes, fence, prefix, env, kubeconfig, impersonate, pod);
        }

        Options writes(boolean w) {
            return new Options(qps, w, fence, prefix, env, kubeconfig, impersonate, pod);
        }

        Options fence(boolean f) {
            return new Options(qps, writes, f, prefix, env, kubeconfig, impersonate, pod);
        }

        /** {@code prefix} before the java command (faketime, say) and extra environment variables. */
        Options wrapped(List<String> p, Map<String, String> e) {
            return new Options(qps, writes, fence, p, e, kubeconfig, impersonate, pod);
        }

        /** Through a fault proxy's port, which impersonates the identity itself. */
        Options via(Path proxyKubeconfig) {
            return new Options(qps, writes, fence, prefix, env, proxyKubeconfig, false, pod);
        }

        /** Running in Pod {@code namespace/name} (restart proof), as the downward API would tell it. */
        Options inPod(String namespaceAndName) {
            return new Options(qps, writes, fence, prefix, env, kubeconfig, impersonate, namespaceAndName);
        }
    }

    /** One replica JVM. */
    final class Child {
        final String identity;
        final String leaseNamespace;
        final String group;
        final Process process;
        final Path audit;
        final Path log;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final PrintWriter stdin;
        /** Counts down when the process's output has all been copied to its log (it exited and closed stdout). */
        final CountDownLatch logged = new CountDownLatch(1);

        Child(String identity, String leaseNamespace, String group, String label, Options o) throws IOException {
            this(identity, identity, leaseNamespace, group, label, o);
        }

        /** @param files the name of its audit and log files: a restart with the same identity needs new ones */
        Child(String identity, String files, String leaseNamespace, String group, String label, Options o) throws IOException {
            this.identity = identity;
            this.leaseNamespace = leaseNamespace;
            this.group = group;
            this.audit = dir.resolve(files + ".audit");
            this.log = dir.resolve(files + ".log");
            List<String> command = launch.command(o.prefix());
            Map<String, String> args = new LinkedHashMap<>();
            args.put("kubeconfig", o.kubeconfig().toString());
            args.put("identity", identity);
            args.put("leaseNamespace", leaseNamespace);
            args.put("group", group);
            args.put("label", label);
            args.put("audit", audit.toString());
            args.put("leaseSeconds", String.valueOf(LEASE_SECONDS));
            args.put("renewSeconds", String.valueOf(RENEW_DEADLINE_SECONDS));
            args.put("retryMillis", String.valueOf(RETRY_MILLIS));
            args.put("qps", String.valueOf(o.qps()));
            args.put("writes", String.valueOf(o.writes()));
            args.put("fence", String.valueOf(o.fence()));
            args.put("impersonate", String.valueOf(o.impersonate()));
            if (!o.pod().isEmpty()) {
                args.put("pod", o.pod());
                args.put("baseline", "false"); // restarts are timed from the process's start
            }
            args.forEach((k, v) -> command.add(k + "=" + v));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            builder.environment().putAll(o.env());
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

        /** Whether the group's coordinator says its layout is in place (its Lease's layout-settled annotation). */
        boolean layoutSettled() {
            var lease = admin().leases().inNamespace(leaseNamespace).withName(new LeaseNaming(group).coordinatorLease()).get();
            return lease != null && lease.getMetadata().getAnnotations() != null
                    && "true".equals(lease.getMetadata().getAnnotations().get(LeaseNaming.ANNOTATION_LAYOUT_SETTLED));
        }

        /** The namespaces among {@code namespaces} that lie in the ranges {@code shards}' Leases have on the server now. */
        Set<String> namespacesOf(Set<Integer> shards, List<String> namespaces) {
            LeaseNaming naming = new LeaseNaming(group);
            List<HashRange> ranges = new ArrayList<>();
            for (int shard : shards) {
                var lease = admin().leases().inNamespace(leaseNamespace).withName(naming.shardLease(shard)).get();
                String text = lease.getMetadata().getAnnotations() == null ? null
                        : lease.getMetadata().getAnnotations().get(LeaseNaming.ANNOTATION_RANGE);
                ranges.add(text == null ? HashRange.of(new ShardSpace(SHARDS), shard) : HashRange.parse(text));
            }
            Set<String> out = new TreeSet<>();
            namespaces.stream().filter(n -> ranges.stream().anyMatch(r -> r.contains(ShardSpace.hash(n)))).forEach(out::add);
            return out;
        }

        void signal(String sig) throws Exception {
            new ProcessBuilder("kill", "-" + sig, String.valueOf(process.pid())).inheritIO().start().waitFor();
        }
    }

    List<Path> audits() {
        return children.stream().map(c -> c.audit).toList();
    }

    /** The test's own client (not through any proxy): how the children's Leases are read. */
    private volatile KubernetesClient admin;

    Path kubeconfig(TestCluster cluster) throws IOException {
        admin = cluster.client();
        Path file = dir.resolve("kubeconfig");
        Files.writeString(file, cluster.kubeconfigYaml());
        try {
            launch.train(cluster);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while training the replicas' AOT cache", e);
        }
        return file;
    }

    /** Three replica JVMs of {@code group}, started, joined and sharing the 32 shards. */
    List<Child> startThree(TestNamespace ns, String group, Options options) throws Exception {
        List<Child> live = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            live.add(new Child("replica-" + i, ns.name(), group, group, options));
        }
        for (Child c : live) {
            c.await("READY", Duration.ofSeconds(60));
        }
        awaitTrue("3 replicas to share 32 shards", Duration.ofSeconds(30), () -> settled(live, SHARDS));
        return live;
    }

    @Override
    public void close() {
        children.forEach(c -> c.process.destroyForcibly());
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

    /**
     * {@code count} namespaces that differ only at the end ({@code <prefix>-t01} ...), which FNV-1a crowds into a
     * few equal-width shards: the coordinator must re-lay the ranges out to balance them.
     */
    static List<String> populateCrowded(KubernetesClient client, TestNamespace ns, String label, int count, int perNamespace)
            throws Exception {
        String prefix = (label + "-" + ns.name());
        prefix = prefix.substring(0, Math.min(58, prefix.length())).replaceAll("-+$", "");
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            names.add(prefix + "-t%02d".formatted(i));
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            List<Future<?>> created = new ArrayList<>();
            for (String name : names) {
                client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
                for (int j = 0; j < perNamespace; j++) {
                    int n = j;
                    created.add(pool.submit(() -> client.resource(new ConfigMapBuilder().withNewMetadata().withName("cm-" + n)
                            .withNamespace(name).addToLabels(Replica.LABEL, label).endMetadata().addToData("v", "0").build())
                            .create()));
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

    private KubernetesClient admin() {
        KubernetesClient a = admin;
        if (a == null) {
            throw new IllegalStateException("call kubeconfig(cluster) first: the children's Leases are read with its client");
        }
        return a;
    }

    /**
     * Waits until every one of {@code namespaces} has been reconciled by one of {@code live} since
     * {@code sinceNanos} (a reconcile that started then or later, from their audit trails); returns
     * how long after {@code sinceNanos} the last of them first was, in ms.
     */
    static long awaitReconciledElsewhere(List<Child> live, Set<String> namespaces, long sinceNanos) throws InterruptedException {
        Map<String, Long> reconciledAt = new HashMap<>();
        awaitTrue("the dead replica's namespaces reconciled elsewhere", Duration.ofSeconds(30), () -> {
            try {
                for (ReconcileRecord r : FileAuditTrail.readReconciles(live.stream().map(c -> c.audit).toList())) {
                    if (r.startNanos() >= sinceNanos && namespaces.contains(r.namespace())) {
                        reconciledAt.merge(r.namespace(), r.endNanos(), Math::min);
                    }
                }
            } catch (IOException e) {
                return false;
            }
            return reconciledAt.keySet().containsAll(namespaces);
        });
        return Duration.ofNanos(java.util.Collections.max(reconciledAt.values()) - sinceNanos).toMillis();
    }

    /**
     * Every shard active on exactly one of {@code live}, each with at least {@code shards / live} of them: how a
     * group without objects settles (no weights: the count-based layout). For a suite that does not need the
     * coordinator's layout-settled mark: it waits for a quiet report period, which a starved machine may not give.
     */
    static boolean settledEvenly(List<Child> live, int shards) {
        return oneOwnerEach(live, shards, shards / live.size());
    }

    /** Every shard active on exactly one of {@code live}, each with at least one, and the coordinator's layout in place. */
    static boolean settled(List<Child> live, int shards) {
        // Balanced by objects, not shards: the coordinator says when its layout is in place.
        return oneOwnerEach(live, shards, 1) && live.getFirst().layoutSettled();
    }

    /** Every one of {@code shards} active on exactly one of {@code live}, each of which holds at least {@code atLeast}. */
    private static boolean oneOwnerEach(List<Child> live, int shards, int atLeast) {
        try {
            Set<Integer> union = new HashSet<>();
            int total = 0;
            for (Child c : live) {
                Set<Integer> a = c.active();
                if (a.size() < atLeast) {
                    return false;
                }
                union.addAll(a);
                total += a.size();
            }
            return union.size() == shards && total == shards;
        } catch (IOException e) {
            return false;
        }
    }

    static String coordinator(KubernetesClient client, String ns, String group) {
        var lease = client.leases().inNamespace(ns).withName(new LeaseNaming(group).coordinatorLease()).get();
        return lease == null || lease.getSpec().getHolderIdentity() == null ? ""
                : LeaseNaming.identityOf(lease.getSpec().getHolderIdentity());
    }

    /**
     * The audit log's verdict on one group: the writes its replicas (users named {@code <group>-...})
     * had accepted, per replica, and the single-writer violations among them.
     */
    record Verdict(Map<String, Long> writesBy, List<SingleWriterCheck.Violation> violations) {
        long writes() {
            return writesBy.values().stream().mapToLong(Long::longValue).sum();
        }

        long writesBy(Child replica) {
            return writesBy.getOrDefault(replica.identity, 0L);
        }
    }

    /**
     * The single-writer invariant judged from the API server's audit log: the Leases of the test's lease
     * namespace, and the writes in {@code namespaces}. Fails on a backend without an audit log.
     */
    static Verdict judge(TestCluster cluster, TestNamespace ns, String group, List<String> namespaces) {
        Path log = cluster.auditLog().orElseThrow(() -> new AssertionError("the " + cluster.backend()
                + " backend keeps no audit log: these suites are judged from the API server's own record"));
        Set<String> judged = new HashSet<>(namespaces);
        judged.add(ns.name());
        List<AuditedRequest> requests = AuditLog.read(log).stream().filter(r -> judged.contains(r.namespace())).toList();
        Map<String, Long> writesBy = new java.util.TreeMap<>();
        requests.stream().filter(r -> r.isAcceptedWrite() && !r.isLease() && r.user().startsWith(group + "-"))
                .forEach(r -> writesBy.merge(r.user(), 1L, Long::sum));
        List<SingleWriterCheck.Violation> violations =
                new SingleWriterCheck(new ShardSpace(SHARDS), new LeaseNaming(group), ns.name()).violations(requests);
        Verdict verdict = new Verdict(writesBy, violations);
        System.out.printf("%s: audit log: %d writes by the replicas accepted in %d namespaces %s, %d single-writer violations%n",
                group, verdict.writes(), namespaces.size(), writesBy, violations.size());
        violations.stream().limit(20).forEach(v -> System.out.println("  violation: " + v));
        return verdict;
    }
}
