package dev.flotilla.bench;

import dev.flotilla.core.queue.RateLimiter;
import java.time.Duration;

/** A rate limiter that never delays and keeps no state, so it adds nothing to a measurement. */
final class NoLimit<K> implements RateLimiter<K> {

    @Override
    public Duration when(K key) {
        return Duration.ZERO;
    }

    @Override
    public void forget(K key) {
    }

    @Override
    public int retries(K key) {
        return 0;
    }
}
