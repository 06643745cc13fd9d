package dev.flotilla.tuning.recommend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/** Each rule on synthetic series, including the data a real Prometheus returns on a bad day. */
class RecommenderTest {

    static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
    static final long MIB = 1L << 20;
    static final ResourceBounds BOUNDS = new ResourceBounds(50, 8000, 64 * MIB, 16L << 30);
    static final TuningRules RULES = TuningRules.defaults();

    /** One sample every 30 s over the last {@code hours}, value = f(minutes ago). */
    static Series series(double hours, DoubleUnaryOperator minutesAgoToValue) {
        List<Sample> out = new ArrayList<>();
        for (long s = (long) (hours * 3600); s >= 0; s -= 30) {
            out.add(new Sample(NOW.getEpochSecond() - s, minutesAgoToValue.applyAsDouble(s / 60.0)));
        }
        return Series.of(out);
    }

    static Series flat(double value) {
        return series(6, m -> value);
    }

    static ContainerSignals signals(Series cpu, Series throttled, Series runq, Series memory, Series memPressure, Series ooms) {
        return new ContainerSignals(cpu, Optional.ofNullable(throttled), Optional.ofNullable(runq), Optional.empty(), memory,
                Optional.ofNullable(memPressure), Optional.ofNullable(ooms));
    }

    static Recommendation recommend(TuningRules rules, ContainerResources current, ContainerSignals signals, TuningHistory h) {
        return new Recommender(rules, BOUNDS).recommend(current, signals, h, NOW);
    }

    static final ContainerResources CURRENT = ContainerResources.of(1000, 2000, 1024 * MIB, 2048 * MIB);

    @Test
    void noisyNeighbourRaisesTheCpuRequestWhileUsageOnlySizingWouldLowerIt() {
        // Uses 0.4 cores of a 1-core request but waits 20 ms (p99) in the run queue: neighbours take the CPU.
        ContainerSignals s = signals(flat(0.4), flat(0.0), flat(0.020), flat(600 * MIB), flat(0.0), flat(0));
        Recommendation ebpf = recommend(RULES, CURRENT, s, TuningHistory.none());
        assertThat(ebpf.fired(Rule.NOISY_NEIGHBOUR)).isTrue();
        assertThat(ebpf.target().cpuRequestMillis().getAsLong()).isEqualTo(2000); // x2 (sqrt(20/5)), the step cap
        assertThat(ebpf.usageOnly()).isFalse();

        Recommendation vpa = recommend(RULES.withEbpfRules(false), CURRENT, s, TuningHistory.none());
        assertThat(vpa.target().cpuRequestMillis().getAsLong()).isEqualTo(800); // -20% step toward 0.47 cores
        assertThat(vpa.usageOnly()).isTrue();
    }

    @Test
    void selfThrottlingRaisesTheLimitNotTheRequestAndCanLiftIt() {
        // Pinned at its 1-core limit, 40% of periods throttled.
        ContainerResources current = ContainerResources.of(1000, 1000, 1024 * MIB, 2048 * MIB);
        ContainerSignals s = signals(flat(0.98), flat(0.40), flat(0.001), flat(600 * MIB), flat(0.0), flat(0));
        Recommendation r = recommend(RULES, current, s, TuningHistory.none());
        assertThat(r.fired(Rule.SELF_THROTTLING)).isTrue();
        assertThat(r.target().cpuLimitMillis().getAsLong()).isEqualTo(1800); // x1.8 = 1 + 2 * 0.4
        assertThat(r.target().cpuRequestMillis().getAsLong()).isGreaterThanOrEqualTo(1000);

        Recommendation lifted = recommend(RULES.withLimits(true, true), current, s, TuningHistory.none());
        assertThat(lifted.target().cpuLimitMillis()).isEmpty();

        Recommendation unmanaged = recommend(RULES.withLimits(false, false), current, s, TuningHistory.none());
        assertThat(unmanaged.target().cpuLimitMillis()).hasValue(1000);
        assertThat(unmanaged.findings()).anyMatch(f -> f.message().contains("limits are not managed"));
    }

    @Test
    void aGuaranteedPodStaysGuaranteedAndItsLimitIsNeverLifted() {
        ContainerResources guaranteed = ContainerResources.of(1000, 1000, 1024 * MIB, 1024 * MIB);
        ContainerSignals s = signals(flat(0.98), flat(0.40), flat(0.001), flat(900 * MIB), flat(0.0), flat(0));
        Recommendation r = recommend(RULES.withLimits(true, true), guaranteed, s, TuningHistory.none());
        assertThat(r.target().isGuaranteed()).isTrue();
        assertThat(r.target().cpuLimitMillis()).isPresent();
    }

    @Test
    void anOomKillRaisesMemoryByAtLeastTheBumpEvenInsideTheCoolDown() {
        Series ooms = series(6, m -> m > 0.25 ? 0 : 1); // killed just now, a minute after the last change
        ContainerSignals s = signals(flat(0.5), flat(0), flat(0.001), flat(1000 * MIB), flat(0.0), ooms);
        TuningHistory justChanged = new TuningHistory(Optional.of(NOW.minusSeconds(60)), Optional.of(NOW.minusSeconds(60)));
        Recommendation r = recommend(RULES, CURRENT, s, justChanged);
        assertThat(r.fired(Rule.OOM_BUMP)).isTrue();
        // request and limit each x1.3: 1 GiB -> 1.3 GiB, 2 GiB -> 2.6 GiB (a Burstable pod stays Burstable)
        assertThat(r.target().memoryRequestBytes().getAsLong()).isGreaterThanOrEqualTo((long) (1024 * MIB * 1.2));
        assertThat(r.target().memoryLimitBytes().getAsLong()).isGreaterThanOrEqualTo((long) (2048 * MIB * 1.2));
    }

    @Test
    void anOomCounterThatResetAfterARestartStillCountsTheKill() {
        // Counter 3 -> 4 (a kill), then the container restarts and the counter starts again at 0, then 1 (another kill).
        Series ooms = series(6, m -> m > 200 ? 3 : m > 120 ? 4 : m > 60 ? 0 : 1);
        assertThat(ooms.counterIncrease()).isEqualTo(2.0);
        ContainerSignals s = signals(flat(0.5), flat(0), flat(0.001), flat(500 * MIB), flat(0.0), ooms);
        assertThat(recommend(RULES, CURRENT, s, TuningHistory.none()).fired(Rule.OOM_BUMP)).isTrue();
        Series noKill = series(6, m -> m > 120 ? 5 : 5);
        assertThat(noKill.counterIncrease()).isZero();
    }

    @Test
    void memoryStallsRaiseMemoryBeforeTheNextOom() {
        ContainerSignals s = signals(flat(0.5), flat(0), flat(0.001), flat(950 * MIB), flat(0.12), flat(0));
        Recommendation r = recommend(RULES, CURRENT, s, TuningHistory.none());
        assertThat(r.fired(Rule.MEMORY_PRESSURE)).isTrue();
        assertThat(r.target().memoryRequestBytes().getAsLong()).isGreaterThan(1024 * MIB);
    }

    @Test
    void decreasesWaitForTheSlowCoolDownAndMoveInBoundedSteps() {
        ContainerSignals idle = signals(flat(0.1), flat(0), flat(0.0005), flat(200 * MIB), flat(0.0), flat(0));
        TuningHistory tenMinutesAgo = new TuningHistory(Optional.of(NOW.minus(Duration.ofMinutes(10))),
                Optional.of(NOW.minus(Duration.ofMinutes(10))));
        Recommendation held = recommend(RULES, CURRENT, idle, tenMinutesAgo);
        assertThat(held.target().cpuRequestMillis()).hasValue(1000);
        assertThat(held.target().memoryRequestBytes()).hasValue(1024 * MIB);
        assertThat(held.fired(Rule.COOL_DOWN)).isTrue();

        TuningHistory longAgo = new TuningHistory(Optional.of(NOW.minus(Duration.ofHours(3))),
                Optional.of(NOW.minus(Duration.ofHours(3))));
        Recommendation stepped = recommend(RULES, CURRENT, idle, longAgo);
        assertThat(stepped.target().cpuRequestMillis()).hasValue(800);
        assertThat(stepped.target().memoryRequestBytes().getAsLong()).isEqualTo(820 * MIB); // x0.8, rounded up to a MiB
        assertThat(stepped.fired(Rule.STEP_LIMIT)).isTrue();
    }

    @Test
    void raisesAreFastButStillWaitForTheShortCoolDown() {
        ContainerSignals busy = signals(flat(1.5), flat(0), flat(0.001), flat(600 * MIB), flat(0.0), flat(0));
        TuningHistory twoMinutesAgo = new TuningHistory(Optional.of(NOW.minus(Duration.ofMinutes(2))), Optional.empty());
        assertThat(recommend(RULES, CURRENT, busy, twoMinutesAgo).target().cpuRequestMillis()).hasValue(1000);
        TuningHistory sixMinutesAgo = new TuningHistory(Optional.of(NOW.minus(Duration.ofMinutes(6))), Optional.empty());
        assertThat(recommend(RULES, CURRENT, busy, sixMinutesAgo).target().cpuRequestMillis().getAsLong())
                .isBetween(1700L, 1800L); // p90 1.5 cores (bucket edge) + 15%
    }

    @Test
    void aJvmWhoseHeapNeverShrinksIsNeitherShrunkBelowItsPlateauNorInflated() {
        // Heap grew to 1.5 GiB in the first hour and stays there: the working set never comes down.
        Series heap = series(6, m -> m > 300 ? 800 * MIB + (360 - m) * 10 * MIB : 1536 * MIB);
        ContainerResources current = ContainerResources.of(1000, 2000, 2048 * MIB, 2048 * MIB);
        TuningHistory longAgo = new TuningHistory(Optional.of(NOW.minus(Duration.ofHours(3))),
                Optional.of(NOW.minus(Duration.ofHours(3))));
        ContainerSignals s = signals(flat(0.3), flat(0), flat(0.001), heap, flat(0.0), flat(0));
        Recommendation r = recommend(RULES, current, s, longAgo);
        long plateauWithMargin = (long) Math.ceil(1536 * MIB * 1.15);
        assertThat(r.target().memoryRequestBytes().getAsLong()).isGreaterThanOrEqualTo(plateauWithMargin)
                .isLessThanOrEqualTo(2048 * MIB);
        assertThat(r.fired(Rule.MEMORY_PRESSURE)).isFalse();
        assertThat(r.fired(Rule.OOM_BUMP)).isFalse();
        // Applied again later with nothing new, it stays put instead of creeping either way.
        ContainerResources after = new ContainerResources(r.target().cpuRequestMillis(), r.target().cpuLimitMillis(),
                r.target().memoryRequestBytes(), r.target().memoryLimitBytes());
        Recommendation again = recommend(RULES, after, s, longAgo);
        assertThat(again.target().memoryRequestBytes()).isEqualTo(r.target().memoryRequestBytes());
    }

    @Test
    void nanAbsentAndStaleSignalsFallBackToUsageOnlyAndSaySo() {
        Series withNaN = series(6, m -> ((int) m) % 7 == 0 ? Double.NaN : 0.4);
        assertThat(withNaN.samples()).allMatch(Sample::isFinite);
        Series stale = series(6, m -> 0.05).since(Instant.EPOCH);
        Series old = Series.of(stale.samples().stream().filter(x -> x.epochSecond() < NOW.getEpochSecond() - 3600).toList());
        ContainerSignals s = new ContainerSignals(withNaN, Optional.of(old), Optional.empty(), Optional.empty(),
                flat(600 * MIB), Optional.of(Series.of(List.of(new Sample(NOW.getEpochSecond(), Double.NaN)))), Optional.empty());
        Recommendation r = recommend(RULES, CURRENT, s, TuningHistory.none());
        assertThat(r.usageOnly()).isTrue();
        assertThat(r.missing()).containsExactlyInAnyOrder("run-queue latency", "cpu throttling", "memory pressure", "oom kills");
        assertThat(r.findings()).anyMatch(f -> f.rule() == Rule.SIGNAL_MISSING && f.message().contains("older than"));
        assertThat(r.target().cpuRequestMillis()).isPresent();
    }

    @Test
    void withoutAnyUsageNothingChanges() {
        ContainerSignals s = ContainerSignals.usageOnly(Series.empty(), Series.empty());
        Recommendation r = recommend(RULES, CURRENT, s, TuningHistory.none());
        assertThat(r.target()).isEqualTo(CURRENT);
        assertThat(r.missing()).contains("cpu usage", "memory working set");
    }

    @Test
    void boundsClampEveryValue() {
        ResourceBounds tight = new ResourceBounds(100, 1200, 64 * MIB, 1100 * MIB);
        ContainerSignals s = signals(flat(3.0), flat(0), flat(0.001), flat(3000 * MIB), flat(0.0), flat(0));
        Recommendation r = new Recommender(RULES, tight).recommend(CURRENT, s, TuningHistory.none(), NOW);
        assertThat(r.target().cpuRequestMillis()).hasValue(1200);
        assertThat(r.target().memoryRequestBytes()).hasValue(1100 * MIB);
        assertThat(r.fired(Rule.BOUNDS)).isTrue();
    }

    @Test
    void impossibleRulesAndBoundsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> new ResourceBounds(2000, 1000, MIB, 2 * MIB)).hasMessageContaining("min CPU (2000m) is above max CPU (1000m)");
        assertThatThrownBy(() -> new TuningRules(Duration.ofMillis(5), 0.1, 0.05, 0.9, 0.15, Duration.ofHours(24), 2.0, 0.8,
                1.1, Duration.ofMinutes(5), Duration.ofHours(1), true, false, true, Duration.ofMinutes(5)))
                .hasMessageContaining("OOM bump must be at least 1.2");
        assertThatThrownBy(() -> new ContainerResources(OptionalLong.of(-1), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty())).hasMessageContaining("cpu request must be positive");
    }

    @Test
    void anOomKillAlreadyAnsweredByARaiseDoesNotRaiseAgainAndTheBumpKeepsABurstablePodBurstable() {
        Series ooms = series(6, m -> m > 120 ? 0 : 1); // one kill two hours ago
        ContainerSignals s = signals(flat(0.5), flat(0), flat(0.001), flat(200 * MIB), flat(0.0), ooms);
        ContainerResources burstable = ContainerResources.of(500, 1000, 256 * MIB, 512 * MIB);
        Recommendation first = recommend(RULES, burstable, s, TuningHistory.none());
        assertThat(first.fired(Rule.OOM_BUMP)).isTrue();
        assertThat(first.target().memoryRequestBytes().getAsLong()).isLessThan(first.target().memoryLimitBytes().getAsLong());
        TuningHistory raisedAnHourAgo = new TuningHistory(Optional.of(NOW.minus(Duration.ofHours(1))),
                Optional.of(NOW.minus(Duration.ofHours(1))));
        assertThat(recommend(RULES, first.target(), s, raisedAnHourAgo).fired(Rule.OOM_BUMP)).isFalse();
    }
}
