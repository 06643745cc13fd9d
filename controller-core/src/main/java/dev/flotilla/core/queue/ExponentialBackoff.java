package dev.flotilla.core.queue;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-key exponential backoff: {@code base * 2^failures}, capped at {@code max}.
 *
 * <pre>{@code
 * var backoff = new ExponentialBackoff<String>(Duration.ofMillis(5), Duration.ofSeconds(1000));
 * backoff.when("a"); // 5 ms
 * backoff.when("a"); // 10 ms
 * backoff.forget("a");
 * }</pre>
 */
public final class ExponentialBackoff<K> implements RateLimiter<K> {

    public static final Duration DEFAULT_BASE = Duration.ofMillis(5);
    public static final Duration DEFAULT_MAX = Duration.ofSeconds(1000);

    private final long baseNanos;
    private final long maxNanos;
    private final ConcurrentHashMap<K, Integer> failures = new ConcurrentHashMap<>();

    public ExponentialBackoff(Duration base, Duration max) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(max, "max");
        if (base.isNegative() || base.isZero()) {
            throw new IllegalArgumentException("backoff base must be positive, got " + base);
        }
        if (max.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff max " + max + " is shorter than its base " + base);
        }
        this.baseNanos = base.toNanos();
        this.maxNanos = max.toNanos();
    }

    @Override
    public Duration when(K key) {
        int previous = failures.merge(key, 1, Integer::sum) - 1;
        return Duration.ofNanos(delayNanos(previous));
    }

    private long delayNanos(int exponent) {
        // 2^63 overflows a long; any exponent whose product would pass max is simply max.
        if (exponent >= 62 || baseNanos > (maxNanos >> exponent)) {
            return maxNanos;
        }
        return Math.min(maxNanos, baseNanos << exponent);
    }

    @Override
    public void forget(K key) {
        failures.remove(key);
    }

    @Override
    public int retries(K key) {
        return failures.getOrDefault(key, 0);
    }
}
