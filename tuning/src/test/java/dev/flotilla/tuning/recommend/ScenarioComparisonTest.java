package dev.flotilla.tuning.recommend;

import static dev.flotilla.tuning.recommend.RecommenderTest.MIB;
import static dev.flotilla.tuning.recommend.RecommenderTest.NOW;
import static dev.flotilla.tuning.recommend.RecommenderTest.flat;
import static dev.flotilla.tuning.recommend.RecommenderTest.series;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The same scripted scenarios sized twice by the same code: with the kernel rules (Flotilla) and
 * with them off (a usage-only, VPA-style recommender). Each scenario states what a right answer
 * is; the table printed here is the one the closing note reports.
 */
class ScenarioComparisonTest {

    record Scenario(String name, String right, ContainerResources current, ContainerSignals signals,
            Predicate<ContainerResources> isRight) {
    }

    static final TuningHistory SETTLED = new TuningHistory(Optional.of(NOW.minus(Duration.ofHours(3))),
            Optional.of(NOW.minus(Duration.ofHours(3))));

    static List<Scenario> scenarios() {
        // Noisy neighbour: uses 0.4 of its 1-core request yet waits 20 ms (p99) in the run queue.
        Scenario noisy = new Scenario("noisy neighbour", "CPU request not lowered (raised)",
                ContainerResources.of(1000, 2000, 1024 * MIB, 2048 * MIB),
                new ContainerSignals(flat(0.4), Optional.of(flat(0.0)), Optional.of(flat(0.020)), Optional.empty(),
                        flat(600 * MIB), Optional.of(flat(0.0)), Optional.of(flat(0))),
                r -> r.cpuRequestMillis().getAsLong() > 1000);
        // Self-throttling: pinned at its 1-core limit, 40% of periods throttled; true demand is invisible to usage.
        Scenario throttled = new Scenario("self-throttling", "CPU limit raised by at least 50%",
                ContainerResources.of(1000, 1000, 1024 * MIB, 2048 * MIB),
                new ContainerSignals(flat(0.98), Optional.of(flat(0.40)), Optional.of(flat(0.001)), Optional.empty(),
                        flat(600 * MIB), Optional.of(flat(0.0)), Optional.of(flat(0))),
                r -> r.cpuLimitMillis().isEmpty() || r.cpuLimitMillis().getAsLong() >= 1500);
        // Slow memory leak: working set creeping from 600 to 880 MiB under a 1 GiB limit; reclaim already stalls 8%.
        Scenario leak = new Scenario("slow memory leak", "memory raised above the 1 GiB limit before an OOM",
                ContainerResources.of(500, 1000, 1024 * MIB, 1024 * MIB),
                new ContainerSignals(flat(0.3), Optional.of(flat(0.0)), Optional.of(flat(0.001)), Optional.empty(),
                        series(6, m -> (600 + (360 - m) / 360 * 280) * MIB), Optional.of(flat(0.08)), Optional.of(flat(0))),
                r -> r.memoryLimitBytes().getAsLong() > 1024 * MIB && r.memoryRequestBytes().getAsLong() > 1024 * MIB);
        // Bursty JVM: heap plateau at 1.5 GiB; GC bursts hit the 2-core limit (25% of periods throttled) while
        // average CPU is 0.5 cores.
        Scenario jvm = new Scenario("bursty JVM", "CPU limit raised, memory kept above the heap plateau",
                ContainerResources.of(1000, 2000, 2048 * MIB, 2048 * MIB),
                new ContainerSignals(series(6, m -> ((int) m) % 10 == 0 ? 2.0 : 0.4), Optional.of(flat(0.25)),
                        Optional.of(flat(0.002)), Optional.empty(), flat(1536 * MIB), Optional.of(flat(0.0)), Optional.of(flat(0))),
                r -> r.cpuLimitMillis().getAsLong() > 2000 && r.memoryRequestBytes().getAsLong() >= (long) (1536 * MIB * 1.15));
        return List.of(noisy, throttled, leak, jvm);
    }

    @Test
    void kernelSignalsGetAllFourScenariosRightWhereUsageOnlySizingGetsNone() {
        ResourceBounds bounds = RecommenderTest.BOUNDS;
        Recommender flotilla = new Recommender(TuningRules.defaults(), bounds);
        Recommender usageOnly = new Recommender(TuningRules.defaults().withEbpfRules(false), bounds);
        Map<String, boolean[]> outcomes = new LinkedHashMap<>();
        StringBuilder table = new StringBuilder("| scenario | right answer | Flotilla | usage-only |\n|---|---|---|---|\n");
        for (Scenario s : scenarios()) {
            Recommendation f = flotilla.recommend(s.current(), s.signals(), SETTLED, NOW);
            Recommendation u = usageOnly.recommend(s.current(), s.signals(), SETTLED, NOW);
            boolean fRight = s.isRight().test(f.target());
            boolean uRight = s.isRight().test(u.target());
            outcomes.put(s.name(), new boolean[] {fRight, uRight});
            table.append("| ").append(s.name()).append(" | ").append(s.right()).append(" | ")
                    .append(fRight ? "right" : "wrong").append(": ").append(describe(f.target())).append(" | ")
                    .append(uRight ? "right" : "wrong").append(": ").append(describe(u.target())).append(" |\n");
        }
        System.out.print(table);
        assertThat(outcomes).allSatisfy((name, o) -> assertThat(o[0]).as("Flotilla on " + name).isTrue());
        assertThat(outcomes).allSatisfy((name, o) -> assertThat(o[1]).as("usage-only on " + name).isFalse());
    }

    static String describe(ContainerResources r) {
        return "cpu " + r.cpuRequestMillis().getAsLong() + "m/" + (r.cpuLimitMillis().isPresent()
                ? r.cpuLimitMillis().getAsLong() + "m" : "none") + ", memory " + r.memoryRequestBytes().getAsLong() / MIB
                + "/" + (r.memoryLimitBytes().isPresent() ? r.memoryLimitBytes().getAsLong() / MIB : 0) + " MiB";
    }
}
