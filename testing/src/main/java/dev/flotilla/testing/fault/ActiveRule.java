package dev.flotilla.testing.fault;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
    private final FaultRandom gate;
    private final FaultRandom draws;
    private final Map<String, TokenBucket[]> buckets = new ConcurrentHashMap<>();
    private volatile boolean removed;

    ActiveRule(FaultRule rule, Consumer<ActiveRule> onRemove) {
        this.rule = rule;
        // Two streams: whether the rule applies, and what the fault draws once it does, so that
        // adding a probability does not shift a fault's own draws.
        this.gate = new FaultRandom(rule.seed());
        this.draws = new FaultRandom(rule.seed() ^ 0x9E37_79B9_7F4A_7C15L);
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

    /** Not removed and not expired (it may be used up: what it already applies to, it goes on applying to). */
    boolean live() {
        return !removed && !expired();
    }

    /** The fault's own seeded draws (jitter, loss, duplication). */
    FaultRandom draws() {
        return draws;
    }

    /** The token bucket of one identity in one direction ({@code 0} to the server, {@code 1} to the client). */
    TokenBucket bucket(String identity, int direction) {
        Fault.Bandwidth b = (Fault.Bandwidth) rule.fault();
        return buckets.computeIfAbsent(identity, id -> new TokenBucket[] {
                new TokenBucket(b.bytesPerSecond(), b.bufferBytes()),
                new TokenBucket(b.bytesPerSecond(), b.bufferBytes())})[direction];
    }

    boolean expired() {
        return rule.lasting() != null && System.nanoTime() - deadlineNanos >= 0;
    }

    /**
     * Consumes one application if the rule may still apply and its probability draw says so; true if
     * it did.
     */
    boolean tryApply() {
        if (removed || expired() || remaining.get() == 0) {
            return false;
        }
        if (!gate.chance(rule.probabilityPercent())) {
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
