package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.bench.protocol.LatencySummary;
import dev.flotilla.bench.protocol.Message;
import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.testing.RealApiServer;
import dev.flotilla.testing.ServerProcess;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The end-to-end benchmark: the built-in mirror controller reconciled by Flotilla, by the Java
 * Operator SDK and by a plain fabric8 ceiling, one after the other in rotating order against one
 * real kube-apiserver, at each size; then Flotilla sharded over 1, 2 and 3 replicas. Writes
 * {@code e2e.md} and {@code e2e.json} into the output directory and prints the Markdown.
 *
 * <pre class="shell">{@code
 * java -cp benchmarks/target/benchmarks.jar dev.flotilla.bench.e2e.EndToEnd \
 *     --josdk-jar benchmarks-josdk/target/josdk-contender.jar --out benchmarks/results
 * }</pre>
 */
public final class EndToEnd {

    static final Duration START_TIMEOUT = Duration.ofMinutes(3);
    static final Duration CONVERGE_TIMEOUT = Duration.ofMinutes(10);
    static final Duration ANSWER_TIMEOUT = Duration.ofMinutes(1);
    /**
     * How long a sharded round waits for a replica's requests to be answered before it reads its census, and a stream
     * for its last reconciles to end.
     */
    static final Duration QUIET_TIMEOUT = Duration.ofSeconds(10);
    static final Duration QUIET_POLL = Duration.ofMillis(20);
    /** Updates the driver sends in each size's warm-up pass (at most one per source), to compile its own update and watch path. */
    static final int DRIVER_WARM_UPDATES = 1_000;
    static final String LEASE_NAMESPACE = "bench-leases";
    static final Duration SETTLE_AFTER_CREATE = Duration.ofSeconds(5);
    /** Between the mirror clean-up and the next spawn: the deletions' watch events drain first. */
    static final Duration SETTLE_BEFORE_RUN = Duration.ofSeconds(1);
    /**
     * A sharded group's warm-up ends once, in its last round, the JIT compiler took at most this share of every replica's
     * CPU (a first run with a fixed count left the 1- and 2-replica groups compiling 8-14% into the measured rounds).
     */
    static final double QUIET_JIT_SHARE = 0.05;
    /** ... or after this many times the minimum warm-up rounds, whichever comes first. */
    static final int MAX_WARM_UP_FACTOR = 4;

    private final Settings settings;
    private final RealApiServer server;
    private final Path kubeconfig;
    private final Path logs;
    private final Workload workload;
    private final MirrorTracker tracker;
    private int sequence;
    /** The Flotilla contender's AOT cache, once trained ({@link #trainAotCache}). */
    private Optional<AotCache> aot = Optional.empty();
    private Optional<AotTrainingRun> aotTraining = Optional.empty();

    /** How the AOT cache was trained: at which size, how long the training run took until its JVM had written the cache. */
    record AotTrainingRun(int n, double seconds, long bytes) {
    }

    private EndToEnd(Settings settings, RealApiServer server, Path kubeconfig, Workload workload, MirrorTracker tracker) {
        this.settings = settings;
        this.server = server;
        this.kubeconfig = kubeconfig;
        this.logs = settings.out().resolve("logs");
        this.workload = workload;
        this.tracker = tracker;
    }

    public static void main(String[] argv) throws Exception {
        // Anywhere, not only alone: e2e.sh puts its own --josdk-jar and --out first.
        if (java.util.Arrays.stream(argv).anyMatch(a -> a.equals("--help") || a.equals("-h"))) {
            System.out.println(Settings.USAGE);
            return;
        }
        Settings settings;
        try {
            settings = Settings.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("e2e: " + e.getMessage());
            System.err.println(Settings.USAGE);
            System.exit(2);
            return;
        }
        Report report = run(settings);
        System.out.println(report.markdown());
    }

    /** Runs everything {@code settings} asks for and writes {@code e2e.md} and {@code e2e.json} into its output directory. */
    static Report run(Settings settings) throws Exception {
        long began = System.nanoTime();
        Machine machine = Machine.describe(settings.josdkJar());
        System.err.println("e2e: " + machine.oneLine());
        // A cluster's etcd compaction (every 5 min), not the tests' (every 3 s): a benchmark runs on a cluster's settings.
        try (RealApiServer server = RealApiServer.start(true, false, RealApiServer.DEFAULT_COMPACTION_INTERVAL)) {
            // Ctrl-C must not leave kube-apiserver and etcd running (contenders exit when their stdin closes).
            Thread stopServer = new Thread(server::close, "e2e-stop-api-server");
            Runtime.getRuntime().addShutdownHook(stopServer);
            try {
                return run(settings, machine, server, began);
            } finally {
                Runtime.getRuntime().removeShutdownHook(stopServer);
            }
        }
    }

    private static Report run(Settings settings, Machine machine, RealApiServer server, long began) throws Exception {
        KubernetesClient admin = server.client();
        Path kubeconfig = Files.createTempFile("flotilla-e2e-", ".kubeconfig");
        Files.writeString(kubeconfig, server.kubeconfigYaml());
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(LEASE_NAMESPACE).endMetadata().build())
                .create();
        try (MirrorTracker tracker = new MirrorTracker(admin);
                Workload workload = new Workload(admin, tracker, settings.namespaces())) {
            EndToEnd bench = new EndToEnd(settings, server, kubeconfig, workload, tracker);
            List<Run> runs = new ArrayList<>();
            List<ShardedRun> sharded = new ArrayList<>();
            for (int n : settings.sizes()) {
                long t = System.nanoTime();
                workload.growTo(n);
                System.err.printf("e2e: %d sources in %d namespaces (created in %.1f s)%n", n, settings.namespaces(),
                        (System.nanoTime() - t) / 1e9);
                Thread.sleep(SETTLE_AFTER_CREATE.toMillis()); // let etcd and the watch cache finish with the creations
                List<Contender> here = settings.contendersAt(n);
                if (here.size() > 1) { // only a comparison needs the first contender not to pay for etcd's growth
                    bench.warmUp(n);
                }
                if (here.contains(Contender.FLOTILLA_AOT) && bench.aot.isEmpty()) {
                    bench.trainAotCache(n);
                }
                for (int round = 1; round <= settings.rounds() && !here.isEmpty(); round++) {
                    for (Contender c : rotation(here, round)) {
                        Run run = bench.runUndisturbed(c, n, round);
                        runs.add(run);
                        System.err.println("e2e: " + Report.oneLine(run));
                    }
                }
                if (settings.shardedSizes().contains(n)) {
                    for (int replicas : settings.replicas()) {
                        sharded.addAll(bench.sharded(replicas, n, settings.rounds()));
                    }
                }
            }
            Report report = new Report(settings, machine, runs, sharded, bench.aotTraining,
                    Duration.ofNanos(System.nanoTime() - began));
            Files.createDirectories(settings.out());
            Files.writeString(settings.out().resolve("e2e.md"), report.markdown());
            Files.writeString(settings.out().resolve("e2e.json"), report.json());
            return report;
        } finally {
            Files.deleteIfExists(kubeconfig);
        }
    }

    /** Round r starts with the r-th contender, so each goes first, second and last once in three rounds. */
    static List<Contender> rotation(List<Contender> contenders, int round) {
        return rotate(contenders, round - 1);
    }

    static <T> List<T> rotate(List<T> items, int by) {
        List<T> out = new ArrayList<>(items);
        java.util.Collections.rotate(out, -(by % items.size()));
        return out;
    }

    private ContenderArgs baseArgs() {
        return new ContenderArgs(Map.of(
                ContenderArgs.KUBECONFIG, kubeconfig.toString(),
                ContenderArgs.WORKERS, Integer.toString(settings.workers()),
                ContenderArgs.SOURCE_SELECTOR, ConfigMapMirror.SOURCE_SELECTOR,
                ContenderArgs.MIRROR_SELECTOR, ConfigMapMirror.MIRROR_SELECTOR,
                ContenderArgs.ROLE_LABEL, ConfigMapMirror.ROLE_LABEL,
                ContenderArgs.ROLE_VALUE, ConfigMapMirror.ROLE_COPY,
                ContenderArgs.MIRROR_SUFFIX, ConfigMapMirror.MIRROR_SUFFIX,
                ContenderArgs.OBSERVED_ANNOTATION, ConfigMapMirror.OBSERVED_RESOURCE_VERSION,
                ContenderArgs.FIELD_MANAGER, ConfigMapMirror.COMPONENT));
    }

    private ContenderProcess spawn(Contender c, String label, ContenderArgs args) throws Exception {
        return spawn(c, label, args, List.of(), settings.jvmFlags());
    }

    /** Spawns {@code c}'s JVM with {@code jvmFlags} behind {@code prefix} (a CPU cap's cgroup entry, or nothing). */
    private ContenderProcess spawn(Contender c, String label, ContenderArgs args, List<String> prefix, List<String> jvmFlags)
            throws Exception {
        String file = String.format("%03d-%s.log", ++sequence, label);
        List<String> command = new ArrayList<>(prefix);
        command.addAll(c.command(jvmFlags, settings.josdkJar(), aot, args.toArgs()));
        return ContenderProcess.spawn(label, command, logs.resolve(file));
    }

    /** CPU time so far of the API server, etcd, this driver and {@code contenders}: the participants of a measurement. */
    private long participantCpuNanos(List<ContenderProcess> contenders) {
        long sum = server.apiServerProcess().cpuTime().map(Duration::toNanos).orElse(0L)
                + server.etcdProcess().cpuTime().map(Duration::toNanos).orElse(0L);
        List<ProcessHandle> ps = new ArrayList<>();
        ps.add(ProcessHandle.current());
        contenders.forEach(p -> ps.add(p.handle()));
        return sum + Interference.cpuNanos(ps);
    }

    private static long cpuNanos(ServerProcess p) {
        return p.cpuTime().map(Duration::toNanos).orElse(0L);
    }

    /**
     * {@link #run} again, up to {@link Settings#attempts} times, while processes outside the benchmark took
     * more than {@link Interference#LIMIT_CORES} of the CPU during it; the last attempt counts regardless,
     * and says how many it took.
     */
    Run runUndisturbed(Contender c, int n, int round) throws Exception {
        Run run = null;
        for (int attempt = 1; attempt <= settings.attempts(); attempt++) {
            run = run(c, n, round, attempt);
            if (!run.interference().tookTheCpu()) {
                return run;
            }
            System.err.printf(java.util.Locale.ROOT, "e2e: %s N=%d round %d attempt %d: outsiders took %.2f cores (load %.2f)%s%n",
                    c, n, round, attempt, run.interference().outsideCores(), run.interference().loadAverage(),
                    attempt < settings.attempts() ? "; repeating" : "; kept, as the last attempt");
        }
        return run;
    }

    /**
     * One unrecorded ceiling pass at each size, with a stream of updates: the first N mirrors grow etcd's database and
     * the API server's heap, which made whichever contender ran first measurably slower; and the driver's own update
     * path, cold, added tens of milliseconds to the first contender's event latencies (p50 41-50 ms in round 1 of
     * three runs, 4-10 ms after).
     */
    void warmUp(int n) throws Exception {
        long t = System.nanoTime();
        workload.deleteMirrors();
        workload.expectAll();
        try (ContenderProcess p = spawn(Contender.CEILING, "warmup-n" + n, baseArgs())) {
            p.await(ContenderSession.READY, START_TIMEOUT);
            tracker.awaitConverged(CONVERGE_TIMEOUT);
            p.await(ContenderSession.WATCHING, START_TIMEOUT);
            workload.stream(settings.rate(), Math.min(DRIVER_WARM_UPDATES, n));
            tracker.awaitConverged(CONVERGE_TIMEOUT);
            tracker.drainLatencies();
        }
        System.err.printf("e2e: warm-up pass at N=%d took %.1f s%n", n, (System.nanoTime() - t) / 1e9);
    }

    /** The training run's JVM writes the cache when it exits: it links and compiles what it recorded, which takes a while. */
    static final Duration AOT_WRITE_TIMEOUT = Duration.ofMinutes(3);

    /**
     * Trains the Flotilla contender's AOT cache: one unrecorded run of it, started with {@code -XX:AOTCacheOutput}, through
     * what a measured run does (sync, a first pass over N sources, a stream of updates), then SIGTERM, on which its JVM
     * writes the cache. Only {@link Contender#FLOTILLA_AOT} uses the cache.
     */
    void trainAotCache(int n) throws Exception {
        long t = System.nanoTime();
        workload.deleteMirrors();
        workload.expectAll();
        Thread.sleep(SETTLE_BEFORE_RUN.toMillis());
        AotCache cache = AotCache.toTrain(settings.out().resolve("aot").resolve("flotilla-contender.aot"));
        Files.deleteIfExists(cache.file());
        aot = Optional.of(cache);
        try (ContenderProcess p = spawn(Contender.FLOTILLA_AOT, "aot-training-n" + n, baseArgs())) {
            p.await(ContenderSession.READY, START_TIMEOUT);
            tracker.awaitConverged(CONVERGE_TIMEOUT);
            p.await(ContenderSession.WATCHING, START_TIMEOUT);
            workload.stream(settings.rate(), settings.updates());
            tracker.awaitConverged(CONVERGE_TIMEOUT);
            p.stop(AOT_WRITE_TIMEOUT);
        } catch (Exception e) {
            aot = Optional.empty();
            throw e;
        }
        aot = Optional.of(cache.trained());
        aotTraining = Optional.of(new AotTrainingRun(n, (System.nanoTime() - t) / 1e9, Files.size(cache.file())));
        System.err.printf(java.util.Locale.ROOT, "e2e: AOT cache trained at N=%d in %.1f s: %s (%,d bytes)%n", n,
                aotTraining.get().seconds(), cache.file(), aotTraining.get().bytes());
    }

    Run run(Contender c, int n, int round, int attempt) throws Exception {
        long t = System.nanoTime();
        workload.deleteMirrors();
        System.err.printf("e2e: %d mirrors deleted in %.1f s%n", n, (System.nanoTime() - t) / 1e9);
        workload.expectAll();
        Thread.sleep(SETTLE_BEFORE_RUN.toMillis());
        try (ContenderProcess p = spawn(c, c.name().toLowerCase() + "-n" + n + "-r" + round + (attempt > 1 ? "-a" + attempt : ""),
                baseArgs())) {
            Interference.Watch watch = Interference.watch(() -> participantCpuNanos(List.of(p)));
            Message baseline = p.await(ContenderSession.BASELINE, START_TIMEOUT);
            Message ready = p.await(ContenderSession.READY, START_TIMEOUT);
            long passJitBefore = p.compilerCpuMillis();
            long converged = tracker.awaitConverged(CONVERGE_TIMEOUT);
            p.await(ContenderSession.WATCHING, START_TIMEOUT);
            Message report = p.ask(ContenderSession.REPORT, ANSWER_TIMEOUT);
            long passJit = p.compilerCpuMillis() - passJitBefore;
            Message heap = p.ask(ContenderSession.HEAP, ANSWER_TIMEOUT);

            p.ask(ContenderSession.LATENCY, ANSWER_TIMEOUT);
            tracker.drainLatencies();
            if (settings.warmUpdates() > 0) { // unrecorded: the contender's update path compiled before the measured stream
                workload.stream(settings.rate(), settings.warmUpdates());
                tracker.awaitConverged(CONVERGE_TIMEOUT);
                awaitReconcilesEnded(p, settings.warmUpdates(), c + " warm-up stream");
                p.ask(ContenderSession.LATENCY, ANSWER_TIMEOUT);
                tracker.drainLatencies();
            }
            Message before = p.ask(ContenderSession.REPORT, ANSWER_TIMEOUT);
            long streamJitBefore = p.compilerCpuMillis();
            int updates = settings.updates();
            int late = workload.stream(settings.rate(), updates);
            tracker.awaitConverged(CONVERGE_TIMEOUT);
            // The contender records "done" after its write returns; the driver's watch may see the write first.
            awaitReconcilesEnded(p, updates, c + " stream");
            Message latency = p.ask(ContenderSession.LATENCY, ANSWER_TIMEOUT);
            LatencySummary e2e = tracker.drainLatencies();
            Message after = p.ask(ContenderSession.REPORT, ANSWER_TIMEOUT);
            long streamJit = p.compilerCpuMillis() - streamJitBefore;
            Interference interference = watch.stop();

            double readyS = (ready.longField("at") - p.spawnedAtMillis() - baseline.longField("tookMillis")) / 1000.0;
            double convergeS = Math.max(0.001, (converged - ready.longField("at")) / 1000.0);
            return new Run(c, n, round, readyS, baseline.longField("classes"), ready.longField("syncMillis") / 1000.0, convergeS,
                    report.longField("cpuMillis") - ready.longField("cpuMillis"), report.longField("requests"),
                    heap.longField("retained") - baseline.longField("retained"), heap.longField("cached"),
                    LatencySummary.from(latency, "start"), LatencySummary.from(latency, "done"), e2e,
                    updates, late, after.longField("requests") - before.longField("requests"),
                    after.longField("cpuMillis") - before.longField("cpuMillis"), passJit, streamJit, interference, attempt);
        }
    }

    /**
     * Waits until every shard is active on exactly one replica and the coordinator reports its layout
     * settled: the group has finished its start-up handovers and the range moves it plans once every
     * replica's object counts arrive (counted every 5 s, so after the shards first look even; a move
     * during a round drops a namespace's objects from every cache for a moment). Shard counts are
     * not required to be even: ranges are weighted by objects, and a settled group of two measured
     * 17 and 15 of 32.
     */
    private static void awaitSettled(List<ContenderProcess> ps) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            List<Integer> active = new ArrayList<>();
            int shards = 0;
            boolean settled = false;
            for (ContenderProcess p : ps) {
                Message m = p.ask(ContenderSession.REPORT, ANSWER_TIMEOUT);
                active.add((int) m.longField(FlotillaContender.ACTIVE_SHARDS));
                shards = (int) m.longField(FlotillaContender.SHARDS);
                settled |= m.longField(FlotillaContender.LAYOUT_SETTLED) == 1;
            }
            int sum = active.stream().mapToInt(Integer::intValue).sum();
            if (sum == shards && settled) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("sharding group not balanced within " + START_TIMEOUT + ": active shards "
                        + active + " of " + shards + ", layout " + (settled ? "settled" : "not settled"));
            }
            Thread.sleep(250);
        }
    }

    /**
     * Waits until {@code p} has recorded the start and the end of {@code updates} reconciles of stamped updates; one
     * reconcile may take in two updates of one source, so after {@link #QUIET_TIMEOUT} it goes on and says so.
     */
    private static void awaitReconcilesEnded(ContenderProcess p, int updates, String what) throws Exception {
        reportWhen(p, m -> m.longField(ContenderSession.PENDING_STARTS) >= updates
                        && m.longField(ContenderSession.PENDING_DONE) >= m.longField(ContenderSession.PENDING_STARTS),
                m -> what + ": " + m.longField(ContenderSession.PENDING_STARTS) + " reconcile(s) started and "
                        + m.longField(ContenderSession.PENDING_DONE) + " ended of " + updates + " updates");
    }

    /**
     * {@code p}'s report once its request census has counted every request sent before it ({@link RequestCensus#quiet}):
     * the last writes of a recovery are applied, and seen by the driver's watch, before the replica has read their
     * answers. A request that never gets an answer keeps the census from being quiet; after {@link #QUIET_TIMEOUT} the
     * report is taken as it is, and the line says so.
     */
    private static Message quietReport(ContenderProcess p, String what) throws Exception {
        return reportWhen(p, RequestCensus::quiet,
                m -> what + ": requests still without an answer; its request census may miss them");
    }

    /**
     * {@code p}'s first report, asked every {@link #QUIET_POLL}, that satisfies {@code done}; after {@link #QUIET_TIMEOUT}
     * the last report as it is, with {@code unmet}'s line on stderr.
     */
    private static Message reportWhen(ContenderProcess p, Predicate<Message> done, Function<Message, String> unmet)
            throws Exception {
        long deadline = System.nanoTime() + QUIET_TIMEOUT.toNanos();
        while (true) {
            Message m = p.ask(ContenderSession.REPORT, ANSWER_TIMEOUT);
            if (done.test(m)) {
                return m;
            }
            if (System.nanoTime() > deadline) {
                System.err.println("e2e: " + unmet.apply(m) + " after " + QUIET_TIMEOUT);
                return m;
            }
            Thread.sleep(QUIET_POLL.toMillis());
        }
    }

    /**
     * One sharding group of {@code replicas}: its cold start over N sources (timed once), then
     * {@code rounds} mass deletions of every mirror on the balanced group, each timed until every
     * mirror is back.
     */
    List<ShardedRun> sharded(int replicas, int n, int rounds) throws Exception {
        workload.deleteMirrors();
        workload.expectAll();
        Thread.sleep(SETTLE_BEFORE_RUN.toMillis());
        String group = "bench" + (++sequence);
        List<ContenderProcess> ps = new ArrayList<>();
        CpuCap cap = settings.replicaCpu();
        List<String> capLabels = new ArrayList<>();
        try {
            for (int i = 0; i < replicas; i++) {
                ContenderArgs args = baseArgs().with(ContenderArgs.IDENTITY, "replica-" + i)
                        .with(ContenderArgs.LEASE_NAMESPACE, LEASE_NAMESPACE).with(ContenderArgs.GROUP, group)
                        .with(FlotillaContender.TIMINGS, settings.shardedTimings().stream().map(String::valueOf)
                                .collect(java.util.stream.Collectors.joining(",")));
                String label = "sharded" + replicas + "-" + i + "-n" + n;
                capLabels.add(group + "-" + i);
                ps.add(spawn(Contender.FLOTILLA, label, args, cap.enter(capLabels.getLast()), settings.shardedJvmFlags()));
            }
            long spawned = ps.getFirst().spawnedAtMillis();
            List<Message> baselines = new ArrayList<>();
            for (ContenderProcess p : ps) {
                baselines.add(p.await(ContenderSession.BASELINE, START_TIMEOUT));
                p.await(ContenderSession.READY, START_TIMEOUT);
            }
            double ready = (System.currentTimeMillis() - spawned) / 1000.0;
            // Warm-up runs uncapped: under a 0.1-core cap the JIT compiler took minutes and half the quota (see the
            // README), which a long-running replica has paid long before; the JVMs started under the cap and keep the
            // sizing they made from it. Each replica gets at least as many objects to warm on as a lone one, and the
            // rounds go on until the JIT compiler has quietened down in every replica.
            int minWarmUps = settings.shardedWarmUpRounds() * replicas;
            if (minWarmUps > 0) {
                capLabels.forEach(cap::lift);
            }
            double coldStart = (tracker.awaitConverged(CONVERGE_TIMEOUT) - spawned) / 1000.0;
            int warmUps = 0;
            for (boolean quiet = false; warmUps < minWarmUps || (!quiet && warmUps < MAX_WARM_UP_FACTOR * minWarmUps); ) {
                awaitSettled(ps);
                List<Long> jitBefore = ps.stream().map(ContenderProcess::compilerCpuMillis).toList();
                List<Long> cpuBefore = ps.stream().map(p -> Interference.cpuNanos(List.of(p.handle())) / 1_000_000).toList();
                tracker.forgetSeen();
                long t = System.currentTimeMillis();
                workload.deleteMirrorsOnly();
                long back = tracker.awaitConverged(CONVERGE_TIMEOUT);
                warmUps++;
                List<Double> jitShares = new ArrayList<>();
                for (int i = 0; i < ps.size(); i++) {
                    long cpu = Interference.cpuNanos(List.of(ps.get(i).handle())) / 1_000_000 - cpuBefore.get(i);
                    jitShares.add(cpu <= 0 ? 0 : (double) (ps.get(i).compilerCpuMillis() - jitBefore.get(i)) / cpu);
                }
                quiet = jitShares.stream().allMatch(x -> x <= QUIET_JIT_SHARE);
                System.err.printf(java.util.Locale.ROOT, "e2e: sharded %d replica(s) N=%d warm-up %d (not recorded, uncapped): "
                        + "%.2f s, JIT compiler's share of each replica's CPU %s%n", replicas, n, warmUps, (back - t) / 1000.0,
                        jitShares.stream().map(x -> String.format(java.util.Locale.ROOT, "%.0f%%", x * 100)).toList());
            }
            if (minWarmUps > 0) {
                capLabels.forEach(cap::impose);
            }
            List<ShardedRun> runs = new ArrayList<>();
            int repeated = 0;
            for (int round = 1; round <= rounds; round++) {
                awaitSettled(ps);
                List<Long> before = new ArrayList<>();
                List<Map<String, Long>> kindsBefore = new ArrayList<>();
                List<Long> cpuBefore = new ArrayList<>();
                List<CpuCap.Throttling> throttledBefore = new ArrayList<>();
                List<Long> jitBefore = new ArrayList<>();
                for (int i = 0; i < ps.size(); i++) {
                    jitBefore.add(ps.get(i).compilerCpuMillis());
                    Message m = ps.get(i).ask(ContenderSession.REPORT, ANSWER_TIMEOUT);
                    before.add(m.longField("requests"));
                    kindsBefore.add(RequestCensus.read(m));
                    cpuBefore.add(m.longField("cpuMillis"));
                    throttledBefore.add(cap.throttling(capLabels.get(i)));
                }
                long apiBefore = cpuNanos(server.apiServerProcess());
                long etcdBefore = cpuNanos(server.etcdProcess());
                Interference.Watch watch = Interference.watch(() -> participantCpuNanos(ps));
                tracker.forgetSeen();
                long burst = System.currentTimeMillis();
                int sentAgain = workload.deleteMirrorsOnly();
                long recovered = tracker.awaitConverged(CONVERGE_TIMEOUT);
                Interference interference = watch.stop();
                if (sentAgain > 0 && repeated < Workload.DELETE_ATTEMPTS) {
                    repeated++;
                    System.err.printf("e2e: sharded %d replica(s) N=%d round %d repeated: %d delete-collection(s) sent again%n",
                            replicas, n, round, sentAgain);
                    round--;
                    continue;
                }
                long apiNanos = cpuNanos(server.apiServerProcess()) - apiBefore;
                long etcdNanos = cpuNanos(server.etcdProcess()) - etcdBefore;
                List<Long> retained = new ArrayList<>();
                List<Long> cached = new ArrayList<>();
                List<Long> requests = new ArrayList<>();
                List<Map<String, Long>> requestKinds = new ArrayList<>();
                List<Long> cpuMillis = new ArrayList<>();
                List<CpuCap.Throttling> throttling = new ArrayList<>();
                List<Long> jitMillis = new ArrayList<>();
                for (int i = 0; i < ps.size(); i++) {
                    throttling.add(cap.throttling(capLabels.get(i)).minus(throttledBefore.get(i)));
                    jitMillis.add(ps.get(i).compilerCpuMillis() - jitBefore.get(i));
                    Message now = quietReport(ps.get(i), "sharded" + replicas + " round " + round + " replica " + i);
                    cpuMillis.add(now.longField("cpuMillis") - cpuBefore.get(i));
                    // The probe forces full collections until the figure stops falling: the apparatus's work, not the
                    // workload's, and at 0.1 core it stalled the replica past its renew deadline (a fence every round).
                    cap.lift(capLabels.get(i));
                    Message heap;
                    try {
                        heap = ps.get(i).ask(ContenderSession.HEAP, ANSWER_TIMEOUT);
                    } finally {
                        cap.impose(capLabels.get(i));
                    }
                    retained.add(heap.longField("retained") - baselines.get(i).longField("retained"));
                    cached.add(heap.longField("cached"));
                    requests.add(now.longField("requests") - before.get(i));
                    requestKinds.add(RequestCensus.since(kindsBefore.get(i), RequestCensus.read(now)));
                }
                ShardedRun run = new ShardedRun(replicas, n, round, round == 1 ? ready : Double.NaN, round == 1 ? coldStart : Double.NaN, warmUps,
                        (recovered - burst) / 1000.0, retained, cached, requests, requestKinds, cap, cpuMillis, jitMillis, throttling,
                        apiNanos / 1_000_000, etcdNanos / 1_000_000, interference);
                runs.add(run);
                System.err.println("e2e: " + Report.oneLine(run));
                System.err.println("e2e: sharded" + replicas + " round " + round + " requests by kind and answer, per replica: "
                        + run.requestKinds());
                // Profiling aid: the recovery's wall-clock window, to cut a replica's JFR to it.
                System.err.println("e2e: window sharded" + replicas + " round " + round + " fromMs=" + burst + " toMs=" + recovered
                        + " cpuMillis=" + cpuMillis);
            }
            return runs;
        } finally {
            for (ContenderProcess p : ps) {
                p.close();
            }
            capLabels.forEach(cap::remove);
        }
    }
}
