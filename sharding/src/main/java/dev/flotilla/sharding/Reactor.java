package dev.flotilla.sharding;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Runs one decision pass at a time on a {@link Lane}: at once when poked (a Lease changed, a
 * request completed), at the instant the pass asked for (the next expiry or deadline it waits
 * on), and at least every {@code period}. Pokes that arrive while a pass is queued are coalesced,
 * so a burst of watch events costs one pass. Deadlines are acted on when they happen, not at the
 * next poll, which is what keeps failover close to one lease duration.
 */
@OnPorts
final class Reactor {

    /** A millisecond late rather than early: an expiry checked a hair before it happens would wait a whole period. */
    private static final long LATE_NANOS = 1_000_000;

    private final Lane lane;
    private final MonotonicClock clock;
    private final Supplier<OptionalLong> pass;
    private final long periodNanos;
    private final AtomicBoolean queued = new AtomicBoolean();
    /** Lane-confined: the one pending timer and when it fires. */
    private Lane.Timer timer;
    private long timerAt = Long.MAX_VALUE;

    /** @param pass one decision pass, run on {@code lane}; returns the monotonic time it wants to run again, if any */
    Reactor(Lane lane, MonotonicClock clock, Supplier<OptionalLong> pass, Duration period) {
        this.lane = lane;
        this.clock = clock;
        this.pass = pass;
        this.periodNanos = period.toNanos();
    }

    /** Asks for a pass soon; any thread. */
    void poke() {
        if (queued.compareAndSet(false, true)) {
            lane.execute(this::run);
        }
    }

    private void run() {
        queued.set(false);
        long began = clock.nanoTime();
        long next = began + periodNanos;
        try {
            OptionalLong wanted = pass.get();
            // An instant this pass has already reached was handled by it: asking for it again would spin.
            if (wanted.isPresent() && wanted.getAsLong() > began) {
                next = Math.min(next, wanted.getAsLong());
            }
        } finally {
            schedule(next); // a pass that threw still gets its next one: deadlines must not wait for a poke
        }
    }

    private void schedule(long atNanos) {
        long now = clock.nanoTime();
        if (timer != null && timerAt <= atNanos && timerAt > now) {
            return; // an earlier timer is still pending and will decide again
        }
        if (timer != null) {
            timer.cancel();
        }
        timerAt = atNanos;
        timer = lane.schedule(this::poke, Math.max(atNanos, now) + LATE_NANOS);
    }
}
