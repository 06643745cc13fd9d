package dev.flotilla.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The end-to-end harness itself, small: every contender converges a real API server's sources,
 * answers every measurement, and the report is written. Keeps `bash benchmarks/e2e.sh` from rotting
 * between the (long) benchmark runs.
 */
class EndToEndHarnessTest {

    static final int N = 100;
    static final int UPDATES = 40;

    /** The sharded replicas' CPU cap here: a whole core, so the JVMs start no slower, and the cgroup plumbing is exercised. */
    static final String REPLICA_CPU = "1";

    @Test
    void everyContenderConvergesAndIsMeasured(@TempDir Path out) throws Exception {
        assertThat(CpuCap.unavailable()).as("the sharded replicas' CPU cap needs cgroup v1 cpu, writable (root)").isEmpty();
        Settings settings = Settings.parse(new String[] {
                "--sizes", Integer.toString(N), "--namespaces", "10", "--rounds", "1", "--workers", "4",
                "--rate", "50", "--updates", Integer.toString(UPDATES), "--warmup-updates", Integer.toString(UPDATES), "--sharded-sizes", Integer.toString(N),
                "--replicas", "1,2", "--replica-cpu", REPLICA_CPU, "--attempts", "1", "--side-sizes", Integer.toString(N),
                "--sharded-warmup-rounds", "1",
                "--contenders", "flotilla,flotilla_events,flotilla_aot,flotilla_vertx,josdk,josdk_stripped,ceiling,ceiling_vertx,ceiling7",
                "--josdk-jar", "../benchmarks-josdk/target/josdk-contender.jar",
                "--jvm-flags", "-Xmx512m -XX:+UseSerialGC", "--out", out.toString(),
                // The suite's lease timings (6 s lease, 4 s renew deadline, 1 s retry): the harness, not the defaults, is
                // what this checks, and a cold start waits out a lease duration.
                "--sharded-timings", "6,4,1"});

        Report report = EndToEnd.run(settings);

        assertThat(report.runs()).extracting(Run::contender).containsExactlyInAnyOrder(Contender.values());
        for (Run run : report.runs()) {
            assertThat(run.readySeconds()).as("%s ready", run.contender()).isPositive();
            assertThat(run.convergeSeconds()).as("%s first pass", run.contender()).isPositive();
            // Each contender caches the N sources and their N mirrors, and wrote each mirror at least once.
            assertThat(run.cached()).as("%s cached", run.contender()).isEqualTo(2L * N);
            assertThat(run.requests()).as("%s requests", run.contender()).isGreaterThanOrEqualTo(N);
            assertThat(run.retainedBytes()).as("%s retained heap", run.contender()).isPositive();
            // Every stamped update was seen exactly once by the contender and once by the driver's watch.
            assertThat(run.start().count()).as("%s reconcile starts", run.contender()).isEqualTo(UPDATES);
            assertThat(run.done().count()).as("%s reconciles done", run.contender()).isEqualTo(UPDATES);
            assertThat(run.endToEnd().count()).as("%s mirrors seen", run.contender()).isEqualTo(UPDATES);
            assertThat(run.start().p50Millis()).isLessThanOrEqualTo(run.endToEnd().p50Millis());
            assertThat(run.streamRequests()).as("%s writes during the stream", run.contender()).isGreaterThanOrEqualTo(UPDATES);
            assertThat(run.interference().loadAverage()).as("%s load average recorded", run.contender()).isNotNaN();
        }
        // The Events row records Events as flotilla run does (in the background, so not all are written by convergence).
        Run withEvents = report.runs().stream().filter(r -> r.contender() == Contender.FLOTILLA_EVENTS).findFirst().orElseThrow();
        Run plain = report.runs().stream().filter(r -> r.contender() == Contender.FLOTILLA).findFirst().orElseThrow();
        assertThat(withEvents.requests()).as("Flotilla with Events: mirror writes and Event writes").isGreaterThan(plain.requests());
        // The AOT row ran from the cache its training run wrote (AOTMode=on: a cache it could not use would have stopped it).
        assertThat(Files.size(out.resolve("aot/flotilla-contender.aot"))).as("the contender's AOT cache").isGreaterThan(1 << 20);
        assertThat(report.shardedRuns()).extracting(ShardedRun::replicas).containsExactlyInAnyOrder(1, 2);
        for (ShardedRun run : report.shardedRuns()) {
            // The replicas split the objects: together they cache each source and mirror once.
            assertThat(run.cached().stream().mapToLong(Long::longValue).sum()).isEqualTo(2L * N);
            assertThat(run.cached()).allSatisfy(c -> assertThat(c).isPositive());
            // Each replica ran under its cap: its cgroup counted CFS periods, and the server's CPU was read.
            assertThat(run.cap().cores()).isEqualTo(Double.parseDouble(REPLICA_CPU));
            assertThat(run.throttling()).allSatisfy(t -> assertThat(t.periods()).isPositive());
            assertThat(run.apiServerCpuMillis()).isPositive();
            // The census counts at the same point as the requests figure (its two counters are read a moment apart), and
            // sees every mirror the group recreated written at least once, by a write the server accepted.
            for (int i = 0; i < run.replicas(); i++) {
                long counted = run.requestKinds().get(i).values().stream().mapToLong(Long::longValue).sum();
                assertThat(counted).as("replica %d's census against its requests %s", i, run.requestKinds().get(i))
                        .isBetween(run.requests().get(i) - 3, run.requests().get(i) + 3);
            }
            long mirrorWrites = run.requestKinds().stream().flatMap(k -> k.entrySet().stream())
                    .filter(e -> e.getKey().matches("(PATCH|PUT|POST)\\.configmaps\\.20[01]")).mapToLong(Map.Entry::getValue).sum();
            assertThat(mirrorWrites).as("accepted mirror writes in %s", run.requestKinds()).isGreaterThanOrEqualTo(N);
        }
        String md = Files.readString(out.resolve("e2e.md"));
        assertThat(md).contains("## Convergence from a cold start", "## Memory", "## Update stream latency",
                "## Flotilla sharded, N = " + N, "## Projection from the sharded groups, N = " + N, "## Flotilla against the bar",
                "**AOT cache (Flotilla only).**", "Start-up with and without the AOT cache");
        assertThat(Files.readString(out.resolve("e2e.json"))).startsWith("{\"finished\":").contains("\"summary\":", "\"sharded\":");
    }

    @Test
    void badSettingsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> Settings.parse(new String[] {"--sizes", "5000,1000"}))
                .hasMessageContaining("--sizes must be ascending");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--rounds", "0"}))
                .hasMessageContaining("--rounds must be at least 1, got 0");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--warmup-updates", "-1"}))
                .hasMessageContaining("--warmup-updates must be at least 0, got -1");
        assertThat(Settings.parse(new String[] {"--warmup-updates", "0", "--josdk-jar", "../benchmarks-josdk/target/josdk-contender.jar"})
                .warmUpdates()).isZero();
        assertThatThrownBy(() -> Settings.parse(new String[] {"--contenders", "flotilla,kopf"}))
                .hasMessageContaining("--contenders takes flotilla, flotilla_events, flotilla_aot, flotilla_vertx, josdk, josdk_stripped, ceiling, ceiling_vertx, ceiling7 or none, got 'kopf'");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--side-sizes", "7"}))
                .hasMessageContaining("--side-sizes must be among --sizes");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--sharded-sizes", "7"}))
                .hasMessageContaining("--sharded-sizes must be among --sizes");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--replica-cpu", "-1"}))
                .hasMessageContaining("--replica-cpu takes cores between 0 (no cap) and 64, got -1.0");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--replica-cpu", "a quarter"}))
                .hasMessageContaining("--replica-cpu must be a number, got 'a quarter'");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--contenders", "none", "--sharded-sizes", "0"}))
                .hasMessageContaining("--contenders none runs only sharded groups, but --sharded-sizes is 0");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--josdk-jar", "/nonexistent.jar"}))
                .hasMessageContaining("no Java Operator SDK contender at /nonexistent.jar");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--speed", "9"})).hasMessageContaining("unknown option --speed");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--sharded-timings", "6,4"}))
                .hasMessageContaining("--sharded-timings takes lease,renew-deadline,retry in seconds, got [6, 4]");
        assertThatThrownBy(() -> Settings.parse(new String[] {"--sharded-timings", "4,4,1"})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void jvmFlagsAreSplitOnWhiteSpaceAndABlankValueIsNoFlagAtAll() {
        assertThat(Settings.flags("  -Xmx2g   -XX:+ExitOnOutOfMemoryError ")).containsExactly("-Xmx2g", "-XX:+ExitOnOutOfMemoryError");
        assertThat(Settings.flags("")).isEmpty();
        assertThat(Settings.flags("  ")).isEmpty();
    }
}
