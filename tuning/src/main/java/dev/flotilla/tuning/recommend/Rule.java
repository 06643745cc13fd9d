package dev.flotilla.tuning.recommend;

/** The rules that can shape a recommendation; each finding names the one that fired. */
public enum Rule {
    /** CPU request sized to a percentile of decayed usage plus the safety margin (the VPA-style baseline). */
    USAGE_PERCENTILE,
    /** Run-queue p99 above target while usage stays below the request: queueing behind neighbours, raise the request. */
    NOISY_NEIGHBOUR,
    /** Throttled share of periods above the ceiling: the limit, not the request, is too low. */
    SELF_THROTTLING,
    /** Memory request sized to the recent working-set peak plus the safety margin. */
    MEMORY_PEAK,
    /** Memory PSI stall above the ceiling: raise memory before the next OOM. */
    MEMORY_PRESSURE,
    /** An OOM kill in the window: raise memory by at least the OOM bump. */
    OOM_BUMP,
    /** A change was held back by a cool-down. */
    COOL_DOWN,
    /** A change was cut to the largest allowed step. */
    STEP_LIMIT,
    /** A value was clamped to the policy bounds. */
    BOUNDS,
    /** A signal was absent or stale; the rules that need it were skipped. */
    SIGNAL_MISSING
}
