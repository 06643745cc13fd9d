package dev.flotilla.testing.fault;

import java.util.function.BooleanSupplier;

/**
 * A token bucket ({@code tc tbf}): {@code capacity} tokens (bytes), refilled at {@code rate} per
 * second. Takers reserve their tokens first and then wait until the bucket would have held them,
 * so concurrent takers share the rate in arrival order.
 */
final class TokenBucket {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long SLEEP_SLICE_NANOS = 50_000_000L;

    private final long rate;
    private final long capacity;
    private double tokens;
    private long refilledNanos;

    TokenBucket(long bytesPerSecond, long capacity) {
        this.rate = bytesPerSecond;
        this.capacity = capacity;
        this.tokens = capacity;
        this.refilledNanos = System.nanoTime();
    }

    long capacity() {
        return capacity;
    }

    /**
     * Takes {@code n} tokens ({@code n <= capacity}), waiting until they are there, in steps so that
     * the wait ends early (returning false) once {@code stillWanted} answers false.
     */
    boolean take(long n, BooleanSupplier stillWanted) throws InterruptedException {
        long waitNanos;
        synchronized (this) {
            long now = System.nanoTime();
            tokens = Math.min(capacity, tokens + (now - refilledNanos) * (double) rate / NANOS_PER_SECOND);
            refilledNanos = now;
            tokens -= n;
            waitNanos = tokens >= 0 ? 0 : (long) Math.ceil(-tokens * NANOS_PER_SECOND / rate);
        }
        long until = System.nanoTime() + waitNanos;
        long left;
        while ((left = until - System.nanoTime()) > 0) {
            if (!stillWanted.getAsBoolean()) {
                synchronized (this) {
                    tokens = Math.min(capacity, tokens + n); // not sent: give them back
                }
                return false;
            }
            Thread.sleep(java.time.Duration.ofNanos(Math.min(left, SLEEP_SLICE_NANOS)));
        }
        return true;
    }
}
