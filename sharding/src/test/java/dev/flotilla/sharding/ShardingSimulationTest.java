package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The seeded simulation of {@link ShardingSimulation}: at least 1,000 runs, each a different seed,
 * no API server. A failing run prints its seed and history; replay it alone with
 * {@code ./test.sh -pl sharding -am -Dtest=ShardingSimulationTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dflotilla.sim.seed=SEED[,SEED...]} (add {@code -Dflotilla.sim.explain=true} for the history of a passing run).
 */
class ShardingSimulationTest {

    static final int RUNS = Integer.getInteger("flotilla.sim.runs", 1000);
    static final long FIRST_SEED = Long.getLong("flotilla.sim.first-seed", 1L);

    private static Level before;

    @BeforeAll
    static void quiet() {
        // Thousands of simulated fences and handovers would log at INFO and ERROR; the outcomes say what matters.
        Logger sharding = (Logger) LoggerFactory.getLogger("dev.flotilla.sharding");
        before = sharding.getLevel();
        sharding.setLevel(Level.OFF);
    }

    @AfterAll
    static void loud() {
        ((Logger) LoggerFactory.getLogger("dev.flotilla.sharding")).setLevel(before);
    }

    @Test
    void everySeedKeepsOneOwnerPerShardLeavesNoShardOrphanedAndEndsBalanced() {
        String listed = System.getProperty("flotilla.sim.seed", "");
        long[] seeds = !listed.isBlank() ? java.util.Arrays.stream(listed.split(",")).mapToLong(x -> Long.parseLong(x.trim())).toArray()
                : LongStream.range(FIRST_SEED, FIRST_SEED + RUNS).toArray();
        long begin = System.nanoTime();
        List<ShardingSimulation.Outcome> outcomes = LongStream.of(seeds).parallel().mapToObj(ShardingSimulation::run).toList();
        double seconds = (System.nanoTime() - begin) / 1e9;
        List<ShardingSimulation.Outcome> failed = outcomes.stream().filter(o -> !o.ok()).toList();
        long events = outcomes.stream().mapToLong(ShardingSimulation.Outcome::events).sum();
        double simulated = outcomes.stream().mapToDouble(ShardingSimulation.Outcome::virtualSeconds).sum();
        long faults = outcomes.stream().mapToLong(ShardingSimulation.Outcome::faults).sum();
        ShardingSimulation.Outcome worst = outcomes.stream()
                .max(java.util.Comparator.comparingLong(ShardingSimulation.Outcome::maxOrphanMillis)).orElseThrow();
        long worstOrphan = worst.maxOrphanMillis();
        System.out.printf("simulation: %d runs in %.1f s (%d events, %.0f simulated seconds, %d faults); "
                + "longest orphan after the faults %d ms (seed %d); %d failed%n", outcomes.size(), seconds, events, simulated,
                faults, worstOrphan, worst.seed(), failed.size());
        failed.stream().limit(3).forEach(o -> System.out.println(o.describe()));
        if (ShardingSimulation.EXPLAIN) {
            outcomes.forEach(o -> System.out.println(o.describe()));
        }
        assertThat(failed).as("failing seeds (replay with -Dflotilla.sim.seed=SEED): %s",
                failed.stream().map(ShardingSimulation.Outcome::seed).toList()).isEmpty();
        assertThat(outcomes).hasSize(seeds.length);
    }
}
