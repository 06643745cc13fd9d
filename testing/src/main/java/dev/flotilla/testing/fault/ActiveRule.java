package dev.flotilla.testing.fault;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A {@link FaultRule} installed in a {@link FaultProxy}. Closing it (or {@link #remove()}) takes
 * it out at once and releases the connections it black-holes, so it suits try-with-resources:
 *
 * <pre>{@code
 * try (ActiveRule outage = proxy.add(Fault.blackHole())) {
 *     client.configMaps().inNamespace("shop").list(); // hangs until the client's timeout
 * } // service restored
 * }</pre>
 */
public final class ActiveRule implements AutoCloseable {

    private final FaultRule rule;
    private final long addedNanos;
    private final long deadlineNanos; // valid when rule.lasting() != null
    private final AtomicInteger remaining;
    private final AtomicLong hits = new AtomicLong();
    private final CountDownLatch released = new CountDownLatch(1);
    private final Consumer<ActiveRule> onRemove;
    private volatile boolean removed;

    ActiveRule(FaultRule rule, Consumer<ActiveRule> onRemove) {
        this.rule = rule;
        this.onRemove = onRemove;
        this.addedNanos = System.nanoTime();
        this.deadlineNanos = rule.lasting() == null ? 0 : addedNanos + rule.lasting().toNanos();
        this.remaining = new AtomicInteger(rule.times());
    }

    public FaultRule rule() {
        return rule;
    }

    /** How many times it has applied (requests, connections, or watch-cutting ticks). */
    public long hits() {
        return hits.get();
    }

    /** Whether it can still apply: not removed, not expired, not used up. */
    public boolean isActive() {
        return !removed && !expired() && remaining.get() != 0;
    }

    /** Takes the rule out and releases whatever it holds (black-holed connections). Idempotent. */
    public void remove() {
        if (!removed) {
            removed = true;
            released.countDown();
            onRemove.accept(this);
        }
    }

    @Override
    public void close() {
        remove();
    }

    boolean expired() {
        return rule.lasting() != null && System.nanoTime() - deadlineNanos >= 0;
    }

    /** Consumes one application if the rule may still apply; true if it did. */
    boolean tryApply() {
        if (removed || expired()) {
            return false;
        }
        if (rule.times() != FaultRule.UNLIMITED) {
            int r;
            do {
                r = remaining.get();
                if (r <= 0) {
                    return false;
                }
            } while (!remaining.compareAndSet(r, r - 1));
        }
        hits.incrementAndGet();
        return true;
    }

    /**
     * Waits until the rule is removed or expires, or {@code maxNanos} pass; true once it is released.
     * A rule that is merely used up still holds what it holds.
     */
    boolean awaitRelease(long maxNanos) throws InterruptedException {
        if (removed || expired()) {
            return true;
        }
        long wait = maxNanos;
        if (rule.lasting() != null) {
            wait = Math.min(wait, Math.max(0, deadlineNanos - System.nanoTime()));
        }
        return released.await(wait, TimeUnit.NANOSECONDS) || removed || expired();
    }

    @Override
    public String toString() {
        return rule + " (hits=" + hits.get() + (isActive() ? "" : ", inactive") + ")";
    }
}
