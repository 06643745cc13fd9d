package dev.flotilla.sharding;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * What the shard state machines ask of the controllers they gate, by shard. Production adapts the
 * manager's {@link dev.flotilla.core.manager.WorkControl} and the informer scope
 * ({@link ManagedShardWork}); the simulation fakes it with delays. Called on the replica's lane:
 * nothing here may block for long.
 */
interface ShardWork {

    /** Watch exactly the partitions of {@code shards}; completes when the newly watched ones have synced. */
    CompletableFuture<Void> hold(Set<Integer> shards);

    /** Completes when every partition of {@code shard} has synced. */
    CompletableFuture<Void> whenSynced(int shard);

    /** {@code shard}'s keys are admitted now: queue its cached primaries (their events were refused until now). */
    int admitted(int shard);

    /**
     * Waits for the shard's in-flight reconciles, interrupting those still running after
     * {@code timeout}; completes with false if one ignored its interrupt.
     */
    CompletableFuture<Boolean> drain(int shard, Duration timeout);

    /** Interrupts the shard's in-flight reconciles at once (it was fenced); returns how many. */
    int interrupt(int shard);

    /** Cluster-scoped keys are admitted now (this replica became the coordinator): queue the cached ones. */
    int admitClusterScoped();

    /** Interrupts in-flight reconciles of cluster-scoped keys at once (leadership lost); returns how many. */
    int interruptClusterScoped();

    /** As {@link #drain}, for the cluster-scoped keys (a coordinator stepping down gracefully). */
    CompletableFuture<Boolean> drainClusterScoped(Duration timeout);

    /** How many primaries each namespace has in the caches (the shards' load the coordinator balances). */
    default Map<String, Long> objects() {
        return Map.of();
    }
}
