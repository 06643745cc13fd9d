package dev.flotilla.sharding.audit;

import java.util.Objects;

/**
 * A change in what a replica may do with a shard, at a {@link System#nanoTime()} instant.
 *
 * <pre>{@code
 * new LeaseTransition("replica-0", 7, LeaseTransition.Kind.ACTIVE, System.nanoTime());
 * }</pre>
 */
public record LeaseTransition(String replica, int shard, Kind kind, long atNanos) {

    public enum Kind {
        /** The Lease was won; the shard's caches are filling and no key is admitted yet. */
        ACQUIRED,
        /** Caches synced: the shard's keys are admitted. */
        ACTIVE,
        /** Handed over gracefully: keys refused, in-flight reconciles drained, Lease released. */
        RELEASED,
        /** Renewal not proven within the renew deadline, or the Lease names someone else: work stopped at once. */
        FENCED
    }

    public LeaseTransition {
        Objects.requireNonNull(replica, "replica");
        Objects.requireNonNull(kind, "kind");
    }
}
