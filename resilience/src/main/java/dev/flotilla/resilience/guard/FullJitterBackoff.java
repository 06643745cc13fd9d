package dev.flotilla.resilience.guard;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import java.util.function.Supplier;

/**
 * Exponential backoff with full jitter: the wait before retry {@code n} (1 for the first retry) is uniform in
 * {@code [0, min(max, base * 2^(n-1))]}. Full jitter spreads the retries of many clients that failed together
 * over the whole interval, so they do not hit a recovering API server in waves.
 */
public final class FullJitterBackoff {

    private final long baseNanos;
    private final long maxNanos;
    private final Supplier<RandomGenerator> random;

    public FullJitterBackoff(Duration base, Duration max) {
        this(base, max, ThreadLocalRandom::current);
    }

    FullJitterBackoff(Duration base, Duration max, Supplier<RandomGenerator> random) {
        this.baseNanos = base.toNanos();
        this.maxNanos = max.toNanos();
        this.random = Objects.requireNonNull(random, "random");
        if (baseNanos <= 0 || maxNanos < baseNanos) {
            throw new IllegalArgumentException("backoff needs 0 < base <= max, got base " + base + ", max " + max);
        }
    }

    /** The upper bound of the wait before retry {@code retry} (1-based). */
    public Duration ceiling(int retry) {
        return Duration.ofNanos(ceilingNanos(retry));
    }

    /** A random wait in {@code [0, ceiling(retry)]}. */
    public Duration delay(int retry) {
        long ceiling = ceilingNanos(retry);
        return Duration.ofNanos(ceiling == 0 ? 0 : random.get().nextLong(ceiling + 1));
    }

    private long ceilingNanos(int retry) {
        int doublings = Math.max(0, retry - 1);
        // base * 2^doublings without overflow: stop doubling once past max.
        if (doublings >= 63 || baseNanos > (maxNanos >> Math.min(doublings, 62))) {
            return maxNanos;
        }
        return Math.min(maxNanos, baseNanos << doublings);
    }
}
