package dev.flotilla.tuning.recommend;

import java.time.Duration;
import java.util.Objects;

/**
 * The knobs of a policy that the recommender applies, validated together.
 *
 * <pre>{@code
 * TuningRules rules = TuningRules.defaults().withEbpfRules(false); // usage-only, VPA-style
 * }</pre>
 *
 * @param runqueueLatencyTarget p99 run-queue latency above which a container counts as queueing behind neighbours
 * @param throttledRatioCeiling share of CFS periods throttled above which a container is self-throttling
 * @param memoryPressureCeiling PSI memory stalled seconds per second above which memory is raised
 * @param usagePercentile       CPU usage percentile the request is sized to (0, 1]
 * @param safetyMargin          added on top of the percentile and of the memory peak (0.15 = 15%)
 * @param halfLife              half-life of the decaying CPU histogram
 * @param maxStepUp             largest factor one action may raise a value by (e.g. 2.0)
 * @param maxStepDown           smallest factor one action may lower a value to (e.g. 0.8: at most -20%)
 * @param oomBump               factor memory is raised by after an OOM kill (at least 1.2)
 * @param coolDownUp            minimum time between two raises of one resource (fast)
 * @param coolDownDown          minimum time after any change before a decrease (slow)
 * @param manageLimits          whether limits are changed (raised or lifted) or left as they are
 * @param liftCpuLimit          on self-throttling, remove the CPU limit instead of raising it
 * @param ebpfRules             apply the run-queue, throttling, PSI and OOM rules; false gives usage-only sizing
 * @param staleAfter            a signal whose latest sample is older than this is treated as missing
 */
public record TuningRules(Duration runqueueLatencyTarget, double throttledRatioCeiling, double memoryPressureCeiling,
        double usagePercentile, double safetyMargin, Duration halfLife, double maxStepUp, double maxStepDown, double oomBump,
        Duration coolDownUp, Duration coolDownDown, boolean manageLimits, boolean liftCpuLimit, boolean ebpfRules,
        Duration staleAfter) {

    public TuningRules {
        Objects.requireNonNull(runqueueLatencyTarget, "runqueueLatencyTarget");
        Objects.requireNonNull(halfLife, "halfLife");
        Objects.requireNonNull(coolDownUp, "coolDownUp");
        Objects.requireNonNull(coolDownDown, "coolDownDown");
        Objects.requireNonNull(staleAfter, "staleAfter");
        if (runqueueLatencyTarget.isNegative() || runqueueLatencyTarget.isZero()) {
            throw new IllegalArgumentException("run-queue latency target must be positive, got " + runqueueLatencyTarget);
        }
        if (!(throttledRatioCeiling > 0 && throttledRatioCeiling < 1)) {
            throw new IllegalArgumentException("throttled ratio ceiling must be in (0, 1), got " + throttledRatioCeiling);
        }
        if (!(memoryPressureCeiling > 0 && memoryPressureCeiling < 1)) {
            throw new IllegalArgumentException("memory pressure ceiling must be in (0, 1), got " + memoryPressureCeiling);
        }
        if (!(usagePercentile > 0 && usagePercentile <= 1)) {
            throw new IllegalArgumentException("usage percentile must be in (0, 1], got " + usagePercentile);
        }
        if (!(safetyMargin >= 0 && safetyMargin <= 1)) {
            throw new IllegalArgumentException("safety margin must be in [0, 1], got " + safetyMargin);
        }
        if (!(maxStepUp > 1)) {
            throw new IllegalArgumentException("max step up must be above 1, got " + maxStepUp);
        }
        if (!(maxStepDown > 0 && maxStepDown < 1)) {
            throw new IllegalArgumentException("max step down must be in (0, 1), got " + maxStepDown);
        }
        if (!(oomBump >= 1.2)) {
            throw new IllegalArgumentException("OOM bump must be at least 1.2, got " + oomBump);
        }
        if (coolDownDown.compareTo(coolDownUp) < 0) {
            throw new IllegalArgumentException("the cool-down before a decrease (" + coolDownDown
                    + ") must not be shorter than the one between raises (" + coolDownUp + ")");
        }
    }

    public static TuningRules defaults() {
        return new TuningRules(Duration.ofMillis(5), 0.10, 0.05, 0.90, 0.15, Duration.ofHours(24), 2.0, 0.8, 1.3,
                Duration.ofMinutes(5), Duration.ofHours(1), true, false, true, Duration.ofMinutes(5));
    }

    public TuningRules withEbpfRules(boolean on) {
        return new TuningRules(runqueueLatencyTarget, throttledRatioCeiling, memoryPressureCeiling, usagePercentile,
                safetyMargin, halfLife, maxStepUp, maxStepDown, oomBump, coolDownUp, coolDownDown, manageLimits, liftCpuLimit,
                on, staleAfter);
    }

    public TuningRules withCoolDowns(Duration up, Duration down) {
        return new TuningRules(runqueueLatencyTarget, throttledRatioCeiling, memoryPressureCeiling, usagePercentile,
                safetyMargin, halfLife, maxStepUp, maxStepDown, oomBump, up, down, manageLimits, liftCpuLimit, ebpfRules,
                staleAfter);
    }

    public TuningRules withLimits(boolean manage, boolean liftCpu) {
        return new TuningRules(runqueueLatencyTarget, throttledRatioCeiling, memoryPressureCeiling, usagePercentile,
                safetyMargin, halfLife, maxStepUp, maxStepDown, oomBump, coolDownUp, coolDownDown, manage, liftCpu, ebpfRules,
                staleAfter);
    }
}
