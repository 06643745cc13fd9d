package dev.flotilla.sharding;

import dev.flotilla.core.manager.WorkControl;
import dev.flotilla.core.reconcile.ObjectKey;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/** {@link ShardWork} over the manager's {@link WorkControl} and this replica's {@link ShardScope}. */
final class ManagedShardWork implements ShardWork {

    /** How long stragglers get after their interrupt before the drain is given up. */
    static final Duration AFTER_INTERRUPT = Duration.ofMillis(500);

    private final WorkControl work;
    private final ShardScope scope;
    private final HeldRanges ranges;

    ManagedShardWork(WorkControl work, ShardScope scope, HeldRanges ranges) {
        this.work = work;
        this.scope = scope;
        this.ranges = ranges;
    }

    /** The shard's keys: its range as held (read once; a held shard's range does not change). */
    private Predicate<ObjectKey> keysOf(int shard) {
        HashRange range = ranges.of(shard).orElse(null);
        return key -> range != null && !key.isClusterScoped() && range.contains(ShardSpace.hash(key.namespace()));
    }

    @Override
    public Map<String, Long> objects() {
        return work.countCachedByNamespace();
    }

    @Override
    public CompletableFuture<Void> hold(Set<Integer> shards) {
        scope.hold(shards);
        return work.rescope();
    }

    @Override
    public CompletableFuture<Void> whenSynced(int shard) {
        return work.whenSynced(p -> scope.belongsTo(p, shard));
    }

    @Override
    public int admitted(int shard) {
        return work.enqueueCached(keysOf(shard));
    }

    @Override
    public CompletableFuture<Boolean> drain(int shard, Duration timeout) {
        return drain(keysOf(shard), timeout, "drain-shard-" + shard);
    }

    private CompletableFuture<Boolean> drain(Predicate<ObjectKey> keys, Duration timeout, String thread) {
        CompletableFuture<Boolean> drained = new CompletableFuture<>();
        Thread.ofVirtual().name(thread).start(() -> {
            try {
                if (work.awaitIdle(keys, timeout)) {
                    drained.complete(true);
                    return;
                }
                work.interrupt(keys);
                drained.complete(work.awaitIdle(keys, AFTER_INTERRUPT));
            } catch (InterruptedException e) {
                drained.complete(false);
            } catch (Throwable e) {
                drained.completeExceptionally(e); // the shard's release must hear of it, or a leave waits in vain
            }
        });
        return drained;
    }

    @Override
    public int interrupt(int shard) {
        return work.interrupt(keysOf(shard));
    }

    @Override
    public int admitClusterScoped() {
        return work.enqueueCached(ObjectKey::isClusterScoped);
    }

    @Override
    public int interruptClusterScoped() {
        return work.interrupt(ObjectKey::isClusterScoped);
    }

    @Override
    public CompletableFuture<Boolean> drainClusterScoped(Duration timeout) {
        return drain(ObjectKey::isClusterScoped, timeout, "drain-cluster-scoped");
    }
}
