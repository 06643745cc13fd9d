package dev.flotilla.core.queue;

import java.time.Duration;
import java.util.List;

/**
 * Decides how long a key waits before it is handed out again after a failure.
 *
 * <p>Implementations are thread-safe. {@link #when} records one more failure for the key;
 * {@link #forget} clears its history once it has been processed successfully.
 *
 * <pre>{@code
 * RateLimiter<String> limiter = RateLimiter.controllerDefault();
 * Duration wait = limiter.when("ns/name"); // 5 ms, then 10 ms, 20 ms ... capped at 1000 s
 * }</pre>
 */
public interface RateLimiter<K> {

    /** Records a failure of {@code key} and returns how long it must wait before the next attempt. */
    Duration when(K key);

    /** Clears the failure history of {@code key}. */
    void forget(K key);

    /** How many failures of {@code key} have been recorded since it was last forgotten. */
    int retries(K key);

    /**
     * The limiter controllers get unless they choose another: per-key exponential backoff from
     * {@link ExponentialBackoff#DEFAULT_BASE} doubling to {@link ExponentialBackoff#DEFAULT_MAX},
     * combined with an overall {@link BucketRateLimiter} of {@link BucketRateLimiter#DEFAULT_QPS} and
     * {@link BucketRateLimiter#DEFAULT_BURST}; the longer of the two delays wins (client-go's default).
     */
    static <K> RateLimiter<K> controllerDefault() {
        return maxOf(List.of(
                new ExponentialBackoff<>(ExponentialBackoff.DEFAULT_BASE, ExponentialBackoff.DEFAULT_MAX),
                new BucketRateLimiter<>(BucketRateLimiter.DEFAULT_QPS, BucketRateLimiter.DEFAULT_BURST)));
    }

    /** Combines limiters: the delay is the longest any of them asks for. */
    static <K> RateLimiter<K> maxOf(List<? extends RateLimiter<K>> limiters) {
        if (limiters.isEmpty()) {
            throw new IllegalArgumentException("maxOf needs at least one rate limiter");
        }
        List<RateLimiter<K>> all = List.copyOf(limiters);
        return new RateLimiter<>() {
            @Override
            public Duration when(K key) {
                Duration longest = Duration.ZERO;
                // Every limiter must see the failure (each keeps its own state), so no short-circuit.
                for (RateLimiter<K> limiter : all) {
                    Duration d = limiter.when(key);
                    if (d.compareTo(longest) > 0) {
                        longest = d;
                    }
                }
                return longest;
            }

            @Override
            public void forget(K key) {
                all.forEach(limiter -> limiter.forget(key));
            }

            @Override
            public int retries(K key) {
                return all.stream().mapToInt(limiter -> limiter.retries(key)).max().orElse(0);
            }
        };
    }
}
