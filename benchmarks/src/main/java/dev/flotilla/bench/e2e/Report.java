package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.LatencySummary;
import dev.flotilla.cli.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToDoubleFunction;

/**
 * Medians with min and max over rounds, as Markdown and JSON. Ratios are taken within a round
 * (contenders measured side by side) and then summarised.
 */
final class Report {

    /** A figure over rounds. */
    record Stat(double median, double min, double max, int samples) {
        static Stat of(double[] values) {
            double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
            if (v.length == 0) {
                return new Stat(Double.NaN, Double.NaN, Double.NaN, 0);
            }
            double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
            return new Stat(median, v[0], v[v.length - 1], v.length);
        }

        String cell(String format) {
            if (samples == 0) {
                return "n/a";
            }
            String m = String.format(Locale.ROOT, format, median);
            return samples == 1 ? m : m + " (" + String.format(Locale.ROOT, format, min) + "–"
                    + String.format(Locale.ROOT, format, max) + ")";
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("median", number(median));
            m.put("min", number(min));
            m.put("max", number(max));
            m.put("rounds", samples);
            return m;
        }
    }

    /** One figure of the comparison: its name, how to read it from a run, and which direction is better. */
    record Figure(String key, String title, String format, boolean higherIsBetter, ToDoubleFunction<Run> read) {
    }

    static final List<Figure> FIGURES = List.of(
            new Figure("readySeconds", "ready (s)", "%.2f", false, Run::readySeconds),
            new Figure("syncSeconds", "controller start to synced (s)", "%.2f", false, Run::syncSeconds),
            new Figure("convergeSeconds", "first pass (s)", "%.2f", false, Run::convergeSeconds),
            new Figure("objectsPerSecond", "objects/s", "%.0f", true, Run::throughput),
            new Figure("requestsPerObject", "requests/object", "%.3f", false, Run::requestsPerObject),
            new Figure("cpuMillisPerObject", "contender CPU per object in the first pass (ms)", "%.2f", false, Run::cpuMillisPerObject),
            new Figure("bytesPerCachedObject", "bytes/cached object", "%.0f", false, Run::bytesPerCachedObject),
            new Figure("retainedMiB", "retained heap (MiB)", "%.1f", false, r -> r.retainedBytes() / 1048576.0),
            new Figure("reconcileStartP50", "event→reconcile p50 (ms)", "%.1f", false, r -> r.start().p50Millis()),
            new Figure("reconcileStartP99", "event→reconcile p99 (ms)", "%.1f", false, r -> r.start().p99Millis()),
            new Figure("reconcileDoneP50", "event→written p50 (ms)", "%.1f", false, r -> r.done().p50Millis()),
            new Figure("reconcileDoneP99", "event→written p99 (ms)", "%.1f", false, r -> r.done().p99Millis()),
            new Figure("endToEndP50", "update→mirror seen p50 (ms)", "%.1f", false, r -> r.endToEnd().p50Millis()),
            new Figure("endToEndP99", "update→mirror seen p99 (ms)", "%.1f", false, r -> r.endToEnd().p99Millis()),
            new Figure("requestsPerUpdate", "requests/update", "%.2f", false, Run::requestsPerUpdate),
            new Figure("cpuMillisPerUpdate", "contender CPU per update (ms)", "%.2f", false, Run::cpuMillisPerUpdate));

    private final Settings settings;
    private final Machine machine;
    private final List<Run> runs;
    private final List<ShardedRun> sharded;
    private final Optional<EndToEnd.AotTrainingRun> aotTraining;
    private final Duration took;
    private final Instant finished = Instant.now();

    Report(Settings settings, Machine machine, List<Run> runs, List<ShardedRun> sharded,
            Optional<EndToEnd.AotTrainingRun> aotTraining, Duration took) {
        this.settings = settings;
        this.machine = machine;
        this.runs = List.copyOf(runs);
        this.sharded = List.copyOf(sharded);
        this.aotTraining = aotTraining;
        this.took = took;
    }

    List<Run> runs() {
        return runs;
    }

    List<ShardedRun> shardedRuns() {
        return sharded;
    }

    static String oneLine(Run r) {
        return String.format(Locale.ROOT, "%s N=%d round %d: ready %.2f s, first pass %.2f s (%.0f objects/s), "
                + "%.3f requests/object, %.0f B/cached object (%d cached), reconcile start p50/p99 %.1f/%.1f ms, "
                + "end-to-end p50/p99 %.1f/%.1f ms, %d updates (%d late)", r.contender(), r.n(), r.round(), r.readySeconds(),
                r.convergeSeconds(), r.throughput(), r.requestsPerObject(), r.bytesPerCachedObject(), r.cached(),
                r.start().p50Millis(), r.start().p99Millis(), r.endToEnd().p50Millis(), r.endToEnd().p99Millis(),
                r.updates(), r.lateUpdates());
    }

    /** {@code PATCH.configmaps.200 7,200, PUT.leases.200 310}: a census, most first. */
    private static String kinds(Map<String, Long> census) {
        return census.isEmpty() ? "n/a" : String.join(", ", census.entrySet().stream()
                .map(e -> e.getKey() + " " + String.format(Locale.ROOT, "%,d", e.getValue())).toList());
    }

    static String oneLine(ShardedRun r) {
        return String.format(Locale.ROOT, "sharded %d replica(s) N=%d round %d: ready %.2f s, cold start %.2f s, after deleting "
                + "every mirror %.2f s (%.0f objects/s), retained MiB %s, cached %s", r.replicas(), r.n(), r.round(),
                r.readySeconds(), r.totalSeconds(), r.burstSeconds(), r.throughput(),
                r.retainedBytes().stream().map(b -> String.format(Locale.ROOT, "%.1f", b / 1048576.0)).toList(), r.cached());
    }

    private List<Run> runs(Contender c, int n) {
        return runs.stream().filter(r -> r.contender() == c && r.n() == n).toList();
    }

    Stat stat(Contender c, int n, ToDoubleFunction<Run> read) {
        return Stat.of(runs(c, n).stream().mapToDouble(read).toArray());
    }

    /** {@code c}'s figure divided by {@code base}'s, round by round. */
    Stat ratio(Contender c, Contender base, int n, ToDoubleFunction<Run> read) {
        List<Double> ratios = new ArrayList<>();
        for (Run r : runs(c, n)) {
            Optional<Run> b = runs(base, n).stream().filter(x -> x.round() == r.round()).findFirst();
            b.ifPresent(x -> ratios.add(read.applyAsDouble(r) / read.applyAsDouble(x)));
        }
        return Stat.of(ratios.stream().mapToDouble(Double::doubleValue).toArray());
    }

    String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("# End-to-end benchmark: Flotilla, the Java Operator SDK and the API server's ceiling\n\n");
        b.append("Measured ").append(finished).append(", ").append(String.format(Locale.ROOT, "%.1f", took.toSeconds() / 60.0))
                .append(" minutes, by `bash benchmarks/e2e.sh` (sizes ").append(settings.sizes()).append(", contenders ")
                .append(settings.contenders().stream().map(c -> c.name().toLowerCase(Locale.ROOT)).toList())
                .append(settings.contenders().stream().allMatch(Contender::compared) ? ""
                        : ", the side rows " + settings.contenders().stream().filter(c -> !c.compared())
                                .map(c -> c.name().toLowerCase(Locale.ROOT)).toList() + " at N = " + settings.sideSizes() + " only")
                .append(settings.shardedSizes().isEmpty() ? ", no sharded runs" : ", sharded at N = " + settings.shardedSizes()
                        + " with " + settings.replicas() + " replicas, each " + settings.replicaCpu())
                .append("). Cells are the median over ").append(settings.rounds())
                .append(" rounds with (min–max); ratios are taken within each round, then summarised.\n\n");
        b.append("**Machine.** ").append(machine.oneLine()).append(".\n\n");
        b.append("**Workload.** The built-in `configmap-mirror` controller: N labelled source ConfigMaps (")
                .append(Workload.DATA_BYTES).append(" bytes of data each) over ").append(settings.namespaces())
                .append(" namespaces; every source needs one mirror written: one request each (Flotilla creates with POST and updates with PUT, "
                        + "JOSDK applies server-side, the ceiling creates with POST and updates with PUT). ")
                .append(settings.workers()).append(" workers (Flotilla, JOSDK), ")
                .append(settings.workers() * dev.flotilla.bench.plain.PlainCeiling.WRITERS_PER_WORKER)
                .append(" writer threads (ceiling)")
                .append(settings.contenders().isEmpty() ? "" : "; contender JVMs run with `" + String.join(" ", settings.jvmFlags()) + "`")
                .append(". Each contender starts cold over existing sources "
                        + "with every mirror deleted; the driver watches mirrors and calls a source converged when its mirror "
                        + "carries the source's resourceVersion. Then ").append(settings.updates()).append(" updates at ")
                .append(settings.rate()).append("/s, each to a different source, stamped with the send time")
                .append(settings.warmUpdates() == 0 ? ", right after the first pass (the contender's update path still compiling)"
                        : ", after " + settings.warmUpdates() + " unrecorded updates at the same rate (the first pass writes only "
                                + "new mirrors, so without them the stream measured the JIT compiler compiling the update path)")
                .append(".\n\n");
        aotTraining.ifPresent(t -> b.append("**AOT cache (Flotilla only).** *").append(Contender.FLOTILLA_AOT.title())
                .append("* is the Flotilla contender started with `-XX:AOTCache` (JEP 483): a cache of ")
                .append(String.format(Locale.ROOT, "%.1f MB", t.bytes() / 1e6))
                .append(" written by one unrecorded training run of the same contender, same flags and jars, at N = ").append(t.n())
                .append(" (sync, first pass, updates, then SIGTERM; ").append(String.format(Locale.ROOT, "%.0f s", t.seconds()))
                .append(" with the cache's writing), as the build trains the `flotilla` launcher's and the image's. "
                        + "The other contenders ship no cache, so its row is not in the verdicts against JOSDK.\n\n"));

        b.append("## Convergence from a cold start\n\n");
        b.append("| N | contender | ready (s) | of which sync (s) | first pass (s) | objects/s | vs ceiling | vs JOSDK | requests/object | CPU ms/object | of which JIT compiler |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int n : settings.sizes()) {
            for (Contender c : settings.contendersAt(n)) {
                b.append("| ").append(n).append(" | ").append(c.title()).append(" | ")
                        .append(stat(c, n, Run::readySeconds).cell("%.2f")).append(" | ")
                        .append(stat(c, n, Run::syncSeconds).cell("%.2f")).append(" | ")
                        .append(stat(c, n, Run::convergeSeconds).cell("%.2f")).append(" | ")
                        .append(stat(c, n, Run::throughput).cell("%.0f")).append(" | ")
                        .append(c == Contender.CEILING ? "1" : ratio(c, Contender.CEILING, n, Run::throughput).cell("%.2f")).append(" | ")
                        .append(c == Contender.JOSDK ? "1" : ratio(c, Contender.JOSDK, n, Run::throughput).cell("%.2f")).append(" | ")
                        .append(stat(c, n, Run::requestsPerObject).cell("%.3f")).append(" | ")
                        .append(stat(c, n, Run::cpuMillisPerObject).cell("%.2f")).append(" | ")
                        .append(stat(c, n, Run::jitMillisPerObject).cell("%.2f")).append(" |\n");
            }
        }
        b.append("\n*ready*: spawn of the JVM to caches synced (ceiling: its one LIST done), less the baseline heap "
                + "measurement; *of which sync*: from the baseline (JVM up, client built, one request made) to caches synced. *first pass*: ready to the "
                + "driver seeing the last mirror up to date. *objects/s* = N / first pass. *requests/object*: every HTTP "
                + "request the contender sent from start to convergence, LISTs and WATCHes included, divided by N. *CPU ms/object*: "
                + "the contender process's CPU time during the first pass, divided by N (the API server, etcd and the contender "
                + "share the cores, so a contender's own CPU slows the server it waits for); *of which JIT compiler*: the part "
                + "its JIT compiler threads used (from /proc), per object.\n\n");

        b.append("## Memory\n\n");
        b.append("| N | contender | cached objects | retained heap (MiB) | bytes per cached object | vs JOSDK |\n");
        b.append("|---|---|---|---|---|---|\n");
        for (int n : settings.sizes()) {
            for (Contender c : settings.contendersAt(n)) {
                b.append("| ").append(n).append(" | ").append(c.title()).append(" | ")
                        .append(stat(c, n, r -> r.cached()).cell("%.0f")).append(" | ")
                        .append(stat(c, n, r -> r.retainedBytes() / 1048576.0).cell("%.1f")).append(" | ")
                        .append(stat(c, n, Run::bytesPerCachedObject).cell("%.0f")).append(" | ")
                        .append(c == Contender.JOSDK ? "1" : ratio(c, Contender.JOSDK, n, Run::bytesPerCachedObject).cell("%.2f"))
                        .append(" |\n");
            }
        }
        b.append("\nRetained heap: heap in use after full collections once converged, minus the same process's heap "
                + "before its controller started. Flotilla strips `managedFields` before caching (its default); the Java "
                + "Operator SDK keeps its defaults; the ceiling is two plain fabric8 informers.\n\n");

        b.append("## Update stream latency\n\n");
        b.append("| N | contender | event→reconcile p50 / p99 (ms) | event→written p50 / p99 (ms) | update→mirror seen p50 / p99 (ms) | requests/update | CPU ms/update | of which JIT compiler |\n");
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (int n : settings.sizes()) {
            for (Contender c : settings.contendersAt(n)) {
                b.append("| ").append(n).append(" | ").append(c.title()).append(" | ")
                        .append(stat(c, n, r -> r.start().p50Millis()).cell("%.1f")).append(" / ")
                        .append(stat(c, n, r -> r.start().p99Millis()).cell("%.1f")).append(" | ")
                        .append(stat(c, n, r -> r.done().p50Millis()).cell("%.1f")).append(" / ")
                        .append(stat(c, n, r -> r.done().p99Millis()).cell("%.1f")).append(" | ")
                        .append(stat(c, n, r -> r.endToEnd().p50Millis()).cell("%.1f")).append(" / ")
                        .append(stat(c, n, r -> r.endToEnd().p99Millis()).cell("%.1f")).append(" | ")
                        .append(stat(c, n, Run::requestsPerUpdate).cell("%.2f")).append(" | ")
                        .append(stat(c, n, Run::cpuMillisPerUpdate).cell("%.2f")).append(" | ")
                        .append(stat(c, n, Run::jitMillisPerUpdate).cell("%.2f")).append(" |\n");
            }
        }
        b.append("\n*event→reconcile*: the driver's send time (stamped in the update) to the start of the reconcile that "
                + "sees it (ceiling: to its write task starting). *event→written*: to that reconcile's end, its write done. "
                + "*update→mirror seen*: to the driver's own watch seeing the new mirror. *requests/update* and *CPU ms/update*: the "
                + "contender's requests and process CPU time from just before the stream until every update's mirror was seen, "
                + "divided by the updates (the ceiling also runs plain fabric8 informers here, so its CPU is fabric8's own cost of "
                + "watching and writing); *of which JIT compiler*: the part its JIT compiler threads used, per update. Late updates (driver behind "
                + "schedule by more than one interval): ")
                .append(runs.stream().mapToInt(Run::lateUpdates).sum()).append(" of ")
                .append(runs.stream().mapToInt(Run::updates).sum()).append(".\n\n");

        for (int n : sharded.stream().map(ShardedRun::n).distinct().toList()) {
            b.append("## Flotilla sharded, N = ").append(n).append(", each replica ").append(settings.replicaCpu()).append("\n\n");
            b.append("| replicas | spawn to ready (s) | cold start: spawn to converged (s) | warm-up rounds | mass deletion: recovered (s) | objects/s | vs 1 replica | retained heap per replica (MiB) | cached objects per replica | requests per replica during the recovery |\n");
            b.append("|---|---|---|---|---|---|---|---|---|---|\n");
            for (int replicas : settings.replicas()) {
                List<ShardedRun> rs = sharded.stream().filter(r -> r.n() == n && r.replicas() == replicas).toList();
                b.append("| ").append(replicas).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(ShardedRun::readySeconds).toArray()).cell("%.2f")).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(ShardedRun::totalSeconds).toArray()).cell("%.2f")).append(" | ")
                        .append(rs.isEmpty() ? "n/a" : Integer.toString(rs.getFirst().warmUpRounds())).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(ShardedRun::burstSeconds).toArray()).cell("%.2f")).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(ShardedRun::throughput).toArray()).cell("%.0f")).append(" | ")
                        .append(shardedRatio(n, replicas).cell("%.2f")).append(" | ")
                        .append(Stat.of(rs.stream().flatMap(r -> r.retainedBytes().stream()).mapToDouble(x -> x / 1048576.0).toArray()).cell("%.1f")).append(" | ")
                        .append(Stat.of(rs.stream().flatMap(r -> r.cached().stream()).mapToDouble(Long::doubleValue).toArray()).cell("%.0f")).append(" | ")
                        .append(Stat.of(rs.stream().flatMap(r -> r.requests().stream()).mapToDouble(Long::doubleValue).toArray()).cell("%.0f")).append(" |\n");
            }
            b.append("\nWhere the CPU went during the recovery (per-replica cells pool every replica of every round):\n\n");
            b.append("| replicas | replica CPU (cores) | of which JIT compiler | throttled periods | replicas' CPU per object (ms) | API server CPU (cores) | etcd CPU (cores) | outsiders (cores) |\n");
            b.append("|---|---|---|---|---|---|---|---|\n");
            for (int replicas : settings.replicas()) {
                List<ShardedRun> rs = sharded.stream().filter(r -> r.n() == n && r.replicas() == replicas).toList();
                b.append("| ").append(replicas).append(" | ")
                        .append(Stat.of(rs.stream().flatMapToDouble(r -> java.util.stream.IntStream.range(0, r.replicas())
                                .mapToDouble(r::replicaCores)).toArray()).cell("%.3f")).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(r -> r.jitShare() * 100).toArray()).cell("%.0f%%")).append(" | ")
                        .append(Stat.of(rs.stream().flatMap(r -> r.throttling().stream()).mapToDouble(t -> t.throttledShare() * 100)
                                .toArray()).cell("%.0f%%")).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(ShardedRun::replicaCpuMillisPerObject).toArray()).cell("%.2f")).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(ShardedRun::apiServerCores).toArray()).cell("%.2f")).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(ShardedRun::etcdCores).toArray()).cell("%.2f")).append(" | ")
                        .append(Stat.of(rs.stream().mapToDouble(r -> r.interference().outsideCores()).toArray()).cell("%.2f")).append(" |\n");
            }
            if (sharded.stream().anyMatch(r -> r.n() == n && r.requestKinds().stream().anyMatch(k -> !k.isEmpty()))) {
                b.append("\nRequests during the recovery by kind and answer (`RequestCensus`: counted where they leave each "
                        + "replica's HTTP clients; all replicas together, then replica by replica):\n\n");
                b.append("| replicas | round | all replicas | per replica |\n|---|---|---|---|\n");
                for (ShardedRun r : sharded.stream().filter(r -> r.n() == n).toList()) {
                    Map<String, Long> all = new java.util.TreeMap<>();
                    r.requestKinds().forEach(k -> k.forEach((kind, c) -> all.merge(kind, c, Long::sum)));
                    b.append("| ").append(r.replicas()).append(" | ").append(r.round()).append(" | ")
                            .append(kinds(RequestCensus.mostFirst(all))).append(" | ")
                            .append(String.join("; ", java.util.stream.IntStream.range(0, r.requestKinds().size())
                                    .mapToObj(i -> i + ": " + kinds(r.requestKinds().get(i))).toList())).append(" |\n");
                }
            }
            b.append("\nOne group per replica count, its replicas spawned together. *cold start* (once per group) runs from "
                    + "the first spawn to every mirror up to date; it includes JVM start, the first replica to join taking every "
                    + "shard, and the handovers as the others join (" + settings.shardedTimings().get(0) + " s lease, "
                    + settings.shardedTimings().get(2) + " s retry). Then, in each round, once "
                    + "every shard is active and the coordinator reports its layout settled, the driver deletes every mirror (one delete-collection per "
                    + "namespace); *recovered* runs from its first request to every mirror back, and *objects/s* = N / "
                    + "recovered. Per-replica cells pool every replica of every round; heap is read after each recovery, "
                    + "requests are those sent during it. All replicas share the machine's ")
                    .append(machine.facts().get("cores")).append(" cores with the API server and etcd")
                    .append(settings.replicaCpu().capped() ? "; each replica's JVM runs in its own cgroup with a CFS quota of "
                            + settings.replicaCpu() + " (cgroup v1 cpu; the JVM sizes its pools to the quota and picks its collector, "
                            + "as in a Pod with that CPU limit: its flags are `" + String.join(" ", settings.shardedJvmFlags())
                            + "`). The heap probe after each round runs with the quota lifted (it forces full collections). "
                            + "*spawn to ready* is timed under the cap. Before its measured rounds each group recovers from "
                            + "unrecorded mass deletions with the quota lifted (from ready, so *cold start* is partly uncapped): at "
                            + "least " + settings.shardedWarmUpRounds() + " per replica, then more until in one round the JIT compiler "
                            + "took at most " + Math.round(EndToEnd.QUIET_JIT_SHARE * 100) + "% of every replica's CPU (at most "
                            + EndToEnd.MAX_WARM_UP_FACTOR + " times the least; *warm-up rounds*); the quota is set again for the measured rounds: "
                            + "under a cap the JIT compiler took minutes and up to half the quota, which a long-running replica has "
                            + "paid long before (*of which JIT compiler*: its threads' share of the replicas' CPU in the round). "
                            + "*throttled periods*: the share of the cgroup's CFS periods in which the quota ran out. "
                            + "*replica CPU*: each replica's process CPU time / recovery time" : "")
                    .append(".\n\n");
        }

        for (int n : sharded.stream().map(ShardedRun::n).distinct().toList()) {
            projection(b, n);
        }

        b.append("## Flotilla against the bar\n\n");
        b.append("*ahead*: better in every round; *on par*: median ratio within ").append(Math.round(ON_PAR * 100))
                .append("% of 1; *behind*: anything else (also a better median that some round contradicts).\n\n");
        b.append("| N | figure | Flotilla / JOSDK (median) | verdict |\n|---|---|---|---|\n");
        for (int n : settings.sizes()) {
            for (Figure f : FIGURES) {
                Stat r = ratio(Contender.FLOTILLA, Contender.JOSDK, n, f.read());
                b.append("| ").append(n).append(" | ").append(f.title()).append(" | ").append(r.cell("%.2f")).append(" | ")
                        .append(verdict(r, f.higherIsBetter())).append(" |\n");
            }
            if (settings.contendersAt(n).contains(Contender.FLOTILLA_AOT)) {
                Stat r = ratio(Contender.FLOTILLA_AOT, Contender.JOSDK, n, Run::readySeconds);
                b.append("| ").append(n).append(" | ready, Flotilla from its AOT cache (Flotilla only: JOSDK ships none) | ")
                        .append(r.cell("%.2f")).append(" | ").append(verdict(r, false)).append(" |\n");
            }
        }
        if (settings.contenders().contains(Contender.FLOTILLA_AOT)) {
            b.append("\nStart-up with and without the AOT cache (Flotilla only; ready = spawn to caches synced):\n\n");
            b.append("| N | ready, from the cache / without (median) | ready, from the cache / JOSDK (median) | "
                    + "first pass, from the cache / without (median) |\n|---|---|---|---|\n");
            for (int n : settings.sizes().stream().filter(n -> settings.contendersAt(n).contains(Contender.FLOTILLA_AOT)).toList()) {
                b.append("| ").append(n).append(" | ")
                        .append(ratio(Contender.FLOTILLA_AOT, Contender.FLOTILLA, n, Run::readySeconds).cell("%.2f")).append(" | ")
                        .append(ratio(Contender.FLOTILLA_AOT, Contender.JOSDK, n, Run::readySeconds).cell("%.2f")).append(" | ")
                        .append(ratio(Contender.FLOTILLA_AOT, Contender.FLOTILLA, n, Run::convergeSeconds).cell("%.2f"))
                        .append(" |\n");
            }
        }
        for (int n : settings.contenders().contains(Contender.CEILING) ? settings.sizes() : List.<Integer>of()) {
            Stat r = ratio(Contender.FLOTILLA, Contender.CEILING, n, Run::throughput);
            b.append("\nConvergence throughput at N = ").append(n).append(": ")
                    .append(String.format(Locale.ROOT, "%.0f%%", r.median() * 100)).append(" of the ceiling (rounds: ")
                    .append(String.format(Locale.ROOT, "%.0f–%.0f%%", r.min() * 100, r.max() * 100)).append(").");
        }
        b.append("\n");
        return b.toString();
    }

    /** The replica counts the projection is written for, beyond the measured ones. */
    static final List<Integer> PROJECTED_REPLICAS = List.of(5, 10);

    /**
     * A model fitted to one size's sharded groups: a replica's CPU per object ({@code k}, from the
     * largest group, the costliest per object, less the JIT compiler's start-up work), the API server's and etcd's CPU per object ({@code a},
     * from the one-replica group), requests per object and the requests a replica sends besides its
     * writes (Leases, object counts); then the throughput of R replicas, each capped at c cores, is the
     * smaller of what the replicas can do (R c / k) and what the rest of the machine lets the API server
     * and etcd do ((cores - R c - outsiders) / a).
     */
    private void projection(StringBuilder b, int n) {
        List<ShardedRun> all = sharded.stream().filter(r -> r.n() == n).toList();
        int largest = all.stream().mapToInt(ShardedRun::replicas).max().orElse(0);
        List<ShardedRun> one = all.stream().filter(r -> r.replicas() == 1).toList();
        List<ShardedRun> big = all.stream().filter(r -> r.replicas() == largest).toList();
        if (one.isEmpty() || !settings.replicaCpu().capped()) {
            return;
        }
        double c = settings.replicaCpu().cores();
        double cores = Double.parseDouble(String.valueOf(machine.facts().getOrDefault("cores", "2")));
        // Compiled code's cost: the JIT's CPU is a start-up cost, minutes long under a cap, shown in the table above.
        double k = Stat.of(big.stream().mapToDouble(ShardedRun::replicaCpuMillisPerObjectWithoutJit).toArray()).median();
        double kOne = Stat.of(one.stream().mapToDouble(ShardedRun::replicaCpuMillisPerObject).toArray()).median();
        double a = Stat.of(one.stream().mapToDouble(r -> (r.apiServerCpuMillis() + r.etcdCpuMillis()) / (double) n).toArray()).median();
        double outsiders = Stat.of(all.stream().mapToDouble(r -> r.interference().outsideCores()).toArray()).median();
        double requestsPerObject = Stat.of(one.stream().mapToDouble(r -> r.requests().stream().mapToLong(Long::longValue).sum()
                / (double) n).toArray()).median();
        double otherPerReplicaSecond = Stat.of(big.stream().mapToDouble(r -> Math.max(0,
                r.requests().stream().mapToLong(Long::longValue).sum() - n) / (double) r.replicas() / r.burstSeconds()).toArray()).median();
        b.append("## Projection from the sharded groups, N = ").append(n).append("\n\n");
        b.append(String.format(Locale.ROOT, "Fitted: a replica's CPU per object k = %.2f ms, less its JIT compiler's (the %d-replica "
                + "group; %.2f ms alone, JIT included), "
                + "the API server's and etcd's CPU per object a = %.2f ms, %.3f requests per object, %.1f other requests per replica "
                + "and second during a recovery (Leases, object counts), outsiders %.2f cores, each replica capped at c = %.2f cores "
                + "on %.0f cores. Throughput of R replicas = min(R c / k, (cores - R c - outsiders) / a).%n%n",
                k, largest, kOne, a, requestsPerObject, otherPerReplicaSecond, outsiders, c, cores));
        b.append("| replicas | measured objects/s | controller-bound R c / k | API-bound here | model | bound |\n|---|---|---|---|---|---|\n");
        List<Integer> rows = new ArrayList<>(settings.replicas());
        PROJECTED_REPLICAS.stream().filter(r -> !rows.contains(r)).forEach(rows::add);
        for (int replicas : rows) {
            double controller = replicas * c / k * 1000;
            double api = Math.max(0, cores - replicas * c - outsiders) / a * 1000;
            Stat measured = Stat.of(all.stream().filter(r -> r.replicas() == replicas).mapToDouble(ShardedRun::throughput).toArray());
            b.append("| ").append(replicas).append(" | ").append(measured.cell("%.0f")).append(" | ")
                    .append(String.format(Locale.ROOT, "%.0f | %.0f | %.0f | %s |%n", controller, api, Math.min(controller, api),
                            controller <= api ? "controller" : "API server and etcd"));
        }
        b.append("\nWhere it stops holding: once R c / k exceeds what the API server and etcd can do, more replicas add "
                + "nothing (on a cluster whose API server has A cores of its own, at A / a objects/s); a group is only as fast "
                + "as its most loaded replica, so the largest share of objects a replica holds (namespaces are the unit) caps "
                + "the speed-up at 1 / that share; and every replica adds a fixed cost the model leaves out (its JVM, two "
                + "watches per held shard, its Lease renewals).\n\n");
    }

    /** A median ratio within this of 1 is "on par". */
    static final double ON_PAR = 0.03;

    /** ahead (every round better), on par (median within {@link #ON_PAR}), or behind; n/a without rounds. */
    static String verdict(Stat ratio, boolean higherIsBetter) {
        if (ratio.samples() == 0) {
            return "n/a";
        }
        boolean everyRoundBetter = higherIsBetter ? ratio.min() > 1 : ratio.max() < 1;
        if (everyRoundBetter) {
            return "ahead";
        }
        return Math.abs(ratio.median() - 1) <= ON_PAR ? "on par" : "**behind**";
    }

    private Stat shardedRatio(int n, int replicas) {
        List<Double> ratios = new ArrayList<>();
        for (ShardedRun r : sharded) {
            if (r.replicas() != replicas || r.n() != n) {
                continue;
            }
            sharded.stream().filter(x -> x.n() == n && x.replicas() == 1 && x.round() == r.round()).findFirst()
                    .ifPresent(one -> ratios.add(r.throughput() / one.throughput()));
        }
        return Stat.of(ratios.stream().mapToDouble(Double::doubleValue).toArray());
    }

    String json() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("finished", finished.toString());
        root.put("minutes", took.toSeconds() / 60.0);
        root.put("machine", machine.facts());
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("sizes", settings.sizes());
        s.put("namespaces", settings.namespaces());
        s.put("rounds", settings.rounds());
        s.put("workers", settings.workers());
        s.put("updatesPerSecond", settings.rate());
        s.put("updates", settings.updates());
        s.put("warmUpdates", settings.warmUpdates());
        s.put("dataBytesPerSource", Workload.DATA_BYTES);
        s.put("jvmFlags", settings.jvmFlags());
        s.put("shardedJvmFlags", settings.shardedJvmFlags());
        root.put("settings", s);
        List<Object> summary = new ArrayList<>();
        for (int n : settings.sizes()) {
            for (Contender c : settings.contendersAt(n)) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("n", n);
                row.put("contender", c.name().toLowerCase(Locale.ROOT));
                for (Figure f : FIGURES) {
                    row.put(f.key(), stat(c, n, f.read()).json());
                }
                if (c != Contender.CEILING) {
                    row.put("throughputVsCeiling", ratio(c, Contender.CEILING, n, Run::throughput).json());
                }
                if (c != Contender.JOSDK) {
                    Map<String, Object> vs = new LinkedHashMap<>();
                    for (Figure f : FIGURES) {
                        vs.put(f.key(), ratio(c, Contender.JOSDK, n, f.read()).json());
                    }
                    row.put("vsJosdk", vs);
                }
                summary.add(row);
            }
        }
        root.put("summary", summary);
        List<Object> raw = new ArrayList<>();
        for (Run r : runs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("contender", r.contender().name().toLowerCase(Locale.ROOT));
            m.put("n", r.n());
            m.put("round", r.round());
            m.put("readySeconds", r.readySeconds());
            m.put("syncSeconds", r.syncSeconds());
            m.put("classesBeforeController", r.classes());
            m.put("convergeSeconds", r.convergeSeconds());
            m.put("passCpuMillis", r.passCpuMillis());
            m.put("requests", r.requests());
            m.put("retainedBytes", r.retainedBytes());
            m.put("cached", r.cached());
            m.put("reconcileStart", latency(r.start()));
            m.put("reconcileDone", latency(r.done()));
            m.put("endToEnd", latency(r.endToEnd()));
            m.put("updates", r.updates());
            m.put("lateUpdates", r.lateUpdates());
            m.put("streamRequests", r.streamRequests());
            m.put("streamCpuMillis", r.streamCpuMillis());
            m.put("passJitMillis", r.passJitMillis());
            m.put("streamJitMillis", r.streamJitMillis());
            m.put("loadAverageBefore", number(r.interference().loadAverage()));
            m.put("outsideCores", r.interference().outsideCores());
            m.put("attempts", r.attempts());
            raw.add(m);
        }
        root.put("runs", raw);
        List<Object> sh = new ArrayList<>();
        for (ShardedRun r : sharded) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("replicas", r.replicas());
            m.put("n", r.n());
            m.put("round", r.round());
            m.put("readySeconds", number(r.readySeconds()));
            m.put("coldStartSeconds", number(r.totalSeconds()));
            m.put("warmUpRounds", r.warmUpRounds());
            m.put("burstSeconds", r.burstSeconds());
            m.put("retainedBytes", r.retainedBytes());
            m.put("cached", r.cached());
            m.put("requests", r.requests());
            m.put("requestKinds", r.requestKinds());
            m.put("capCores", r.cap().cores());
            m.put("cpuMillis", r.cpuMillis());
            m.put("jitCpuMillis", r.jitCpuMillis());
            m.put("cfsPeriods", r.throttling().stream().map(CpuCap.Throttling::periods).toList());
            m.put("cfsThrottledPeriods", r.throttling().stream().map(CpuCap.Throttling::throttledPeriods).toList());
            m.put("apiServerCpuMillis", r.apiServerCpuMillis());
            m.put("etcdCpuMillis", r.etcdCpuMillis());
            m.put("loadAverageBefore", number(r.interference().loadAverage()));
            m.put("outsideCores", r.interference().outsideCores());
            sh.add(m);
        }
        root.put("sharded", sh);
        return Json.write(root) + "\n";
    }

    private static Map<String, Object> latency(LatencySummary l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", l.count());
        m.put("p50Millis", number(l.p50Millis()));
        m.put("p99Millis", number(l.p99Millis()));
        m.put("maxMillis", number(l.maxMillis()));
        return m;
    }

    private static Object number(double d) {
        return Double.isNaN(d) || Double.isInfinite(d) ? null : d;
    }
}
