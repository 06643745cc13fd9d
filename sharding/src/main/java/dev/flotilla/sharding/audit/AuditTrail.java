package dev.flotilla.sharding.audit;

import java.util.List;

/**
 * Where reconciles and shard transitions are recorded, so that a test (or an operator chasing a
 * suspected double reconcile) can check the one-owner invariant with {@link OverlapChecker}.
 * Implementations must be thread-safe and must not throw.
 *
 * <pre>{@code
 * InMemoryAuditTrail trail = new InMemoryAuditTrail();
 * manager.install(dev.flotilla.sharding.Sharding.of(dev.flotilla.sharding.ShardingConfig.defaults("replica-0", "flotilla-system"), trail));
 * // run, then judge the whole trail (every replica's, in a multi-replica test):
 * List<OverlapChecker.Overlap> overlaps = OverlapChecker.overlaps(trail.reconciles()); // expect none
 * }</pre>
 */
public interface AuditTrail {

    void reconciled(ReconcileRecord record);

    void transition(LeaseTransition transition);

    /** What was recorded so far, where the trail keeps it; empty otherwise. */
    default List<ReconcileRecord> reconciles() {
        return List.of();
    }

    default List<LeaseTransition> transitions() {
        return List.of();
    }

    /** Records nothing: the production default. */
    static AuditTrail none() {
        return new AuditTrail() {
            @Override
            public void reconciled(ReconcileRecord record) {
            }

            @Override
            public void transition(LeaseTransition transition) {
            }
        };
    }
}
