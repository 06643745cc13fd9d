package dev.flotilla.core.queue;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * An overall token bucket shared by all keys: {@code qps} tokens per second, at most
 * {@code burst} saved up. Each {@link #when} reserves one token and returns how long the caller
 * must wait for it, so a failure storm across many keys is spread out instead of retried at once.
 *
 * <pre>{@code
 * var bucket = new TokenBucket<String>(10, 100); // client-go's defaults
 * }</pre>
 */
public final class TokenBucket<K> implements RateLimiter<K> {

    public static final double DEFAULT_QPS = 10;
    public static final int DEFAULT_BURST = 100;

    private final double qps;
    private final int burst;
    private final LongSupplier nanoClock;
    private double tokens;
    private long lastNanos;

    public TokenBucket(double qps, int burst) {
        this(qps, burst, System::nanoTime);
    }

    TokenBucket(double qps, int burst, LongSupplier nanoClock) {
        if (!(qps > 0) || Double.isInfinite(qps)) {
            throw new IllegalArgumentException("token bucket qps must be a positive finite number, got " + qps);
        }
        if (burst < 1) {
            throw new IllegalArgumentException("token bucket burst must be at least 1, got " + burst);
        }
        this.qps = qps;
        this.burst = burst;
        this.nanoClock = nanoClock;
        this.tokens = burst;
        this.lastNanos = nanoClock.getAsLong();
    }

    @Override
    public synchronized Duration when(K key) {
        long now = nanoClock.getAsLong();
        tokens = Math.min(burst, tokens + (now - lastNanos) / 1e9 * qps);
        lastNanos = now;
        tokens -= 1;
        if (tokens >= 0) {
            return Duration.ZERO;
        }
        // Debt: the reservation is honoured when the bucket has refilled past zero.
        return Duration.ofNanos((long) Math.ceil(-tokens / qps * 1e9));
    }

    /** Takes a token if one is available now, without going into debt. */
    public synchronized boolean tryAcquire() {
        long now = nanoClock.getAsLong();
        tokens = Math.min(burst, tokens + (now - lastNanos) / 1e9 * qps);
        lastNanos = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    @Override
    public void forget(K key) {
        // The bucket is shared; individual keys leave no trace in it.
    }

    @Override
    public int retries(K key) {
        return 0;
    }
}
