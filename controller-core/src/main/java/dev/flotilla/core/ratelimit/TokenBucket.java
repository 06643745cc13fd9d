package dev.flotilla.core.ratelimit;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A token bucket with client-go's semantics: {@code qps} tokens per second refill it continuously, at
 * most {@code burst} are saved up, and a caller may reserve tokens ahead of time, going into debt and
 * learning how long to wait for them, without blocking. It is the one place Flotilla does this
 * arithmetic: the work queue's overall limiter ({@code core.queue.BucketRateLimiter}), the event
 * recorder's per-object budget and the API guard's request and lease budgets are all this class.
 *
 * <p>A continuous refill spaces a steady load {@code 1/qps} apart; a bucket that refills all its
 * permits at once per period (Resilience4j's {@code AtomicRateLimiter}) lets twice the limit
 * through around a period boundary. Thread-safe.
 *
 * <pre>{@code
 * var bucket = new TokenBucket(10, 100);                  // client-go's work queue defaults
 * Duration wait = bucket.reserve();                       // always reserved; ZERO: go now
 * long nanos = bucket.reserveNanos(1, 30_000_000_000L);   // -1: would wait over 30 s, nothing reserved
 * boolean now = bucket.tryAcquire();                      // a token now, or nothing (no debt)
 * }</pre>
 */
public final class TokenBucket {

    private static final double NANOS_PER_SECOND = 1e9;

    private final double qps;
    private final int burst;
    private final LongSupplier nanoClock;

    // Guarded by this. Negative while reservations wait for tokens that are not earned yet.
    private double tokens;
    private long lastNanos;

    /** A full bucket on the system's monotonic clock. */
    public TokenBucket(double qps, int burst) {
        this(qps, burst, System::nanoTime);
    }

    /**
     * A full bucket on {@code nanoClock}, a monotonic clock in nanoseconds ({@code System::nanoTime};
     * tests pass a fake one).
     *
     * @throws IllegalArgumentException if {@code qps} is not a positive finite number or {@code burst} is below 1
     */
    public TokenBucket(double qps, int burst, LongSupplier nanoClock) {
        if (!(qps > 0) || Double.isInfinite(qps)) {
            throw new IllegalArgumentException("token bucket qps must be a positive finite number, got " + qps);
        }
        if (burst < 1) {
            throw new IllegalArgumentException("token bucket burst must be at least 1, got " + burst);
        }
        this.qps = qps;
        this.burst = burst;
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.tokens = burst;
        this.lastNanos = nanoClock.getAsLong();
    }

    /** Tokens earned per second. */
    public double qps() {
        return qps;
    }

    /** The most tokens the bucket saves up, and its content when new. */
    public int burst() {
        return burst;
    }

    /**
     * Reserves one token however long the wait: the caller must wait the returned time before acting
     * ({@link Duration#ZERO}: at once). Reservations queue up {@code 1/qps} apart.
     */
    public Duration reserve() {
        return Duration.ofNanos(reserveNanos(1, Long.MAX_VALUE));
    }

    /**
     * Reserves {@code permits} tokens if they are available within {@code maxWaitNanos}: returns 0 if
     * they are available now, the nanoseconds until they will be (the caller must wait that long before
     * acting), or -1 without reserving anything if the wait would be longer than {@code maxWaitNanos}.
     *
     * @throws IllegalArgumentException if {@code permits} is below 1 or {@code maxWaitNanos} negative
     */
    public long reserveNanos(int permits, long maxWaitNanos) {
        if (permits < 1) {
            throw new IllegalArgumentException("permits must be at least 1, got " + permits);
        }
        if (maxWaitNanos < 0) {
            throw new IllegalArgumentException("maxWaitNanos must not be negative, got " + maxWaitNanos);
        }
        synchronized (this) {
            refill();
            double after = tokens - permits;
            // Debt: the reservation is honoured when the bucket has refilled past zero. The cast
            // saturates at Long.MAX_VALUE for an absurd debt rather than wrapping around.
            long waitNanos = after >= 0 ? 0 : (long) Math.ceil(-after / qps * NANOS_PER_SECOND);
            if (waitNanos > maxWaitNanos) {
                return -1;
            }
            tokens = after;
            return waitNanos;
        }
    }

    /** Takes one token if one is available now, without going into debt. */
    public synchronized boolean tryAcquire() {
        refill();
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Empties the bucket; reservations already made keep their place (a debt stays a debt). */
    public synchronized void drain() {
        refill();
        tokens = Math.min(tokens, 0);
    }

    /** The tokens in the bucket now, fractions included; negative while reservations wait for theirs. */
    public synchronized double available() {
        refill();
        return tokens;
    }

    /**
     * Adds the tokens earned since the last update, never beyond {@code burst}. A clock that did not
     * advance (or stepped back) earns nothing and leaves the last update where it was. Caller holds
     * the lock.
     */
    private void refill() {
        long now = nanoClock.getAsLong();
        long elapsed = now - lastNanos;
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + elapsed / NANOS_PER_SECOND * qps);
            lastNanos = now;
        }
    }

    @Override
    public String toString() {
        return "TokenBucket[qps=" + qps + ", burst=" + burst + "]";
    }
}
