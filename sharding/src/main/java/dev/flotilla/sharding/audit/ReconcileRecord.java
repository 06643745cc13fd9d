package dev.flotilla.sharding.audit;

import java.util.Objects;

/**
 * One reconcile as the audit trail sees it: which replica worked on which object of which shard,
 * and when. Times are {@link System#nanoTime()} values, which on Linux come from CLOCK_MONOTONIC
 * and are comparable across processes on the same machine (the multi-process suites rely on it).
 *
 * <pre>{@code
 * long start = System.nanoTime(); // when the reconcile began
 * ReconcileRecord r = new ReconcileRecord("replica-1", 7, "shop", "settings", start, System.nanoTime());
 * }</pre>
 */
public record ReconcileRecord(String replica, int shard, String namespace, String name, long startNanos, long endNanos) {

    public ReconcileRecord {
        Objects.requireNonNull(replica, "replica");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        if (endNanos < startNanos) {
            throw new IllegalArgumentException("a reconcile cannot end (" + endNanos + ") before it starts (" + startNanos + ")");
        }
    }

    /** Whether the two reconciles ran at the same time for some instant (touching ends do not count). */
    public boolean overlaps(ReconcileRecord other) {
        return startNanos < other.endNanos && other.startNanos < endNanos;
    }
}
