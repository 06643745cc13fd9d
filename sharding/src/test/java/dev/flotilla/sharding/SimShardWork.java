package dev.flotilla.sharding;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * Controllers as the shard state machine sees them, with delays: a newly held shard's caches sync
 * after up to {@link #maxSyncNanos}; a drain usually ends quickly, sometimes only after the
 * interrupt at its timeout, and rarely never (a reconcile that ignores its interrupt). Records
 * what was asked, for the unit tests.
 */
final class SimShardWork implements ShardWork {

    private final SimWorld world;
    private final SimWorld.Owner owner;
    private final Map<Integer, CompletableFuture<Void>> syncs = new HashMap<>();
    private Set<Integer> held = Set.of();
    long maxSyncNanos = Duration.ofMillis(100).toNanos();
    /** When set, every sync takes exactly this long (the unit tests). */
    Duration fixedSync;
    /** When set, every drain takes exactly this long and ends with {@link #drainResult} (the unit tests). */
    Duration fixedDrain;
    boolean drainResult = true;
    /** Shards drained, in order. */
    final java.util.List<Integer> drained = new java.util.ArrayList<>();
    /** Probabilities of a drain ending late (after the interrupt) and never. */
    double lateDrain = 0.25;
    double stuckDrain = 0.05;
    /** Told when a drain will never end (the simulation counts it as a fault lasting until the drain gives up). */
    java.util.function.LongConsumer onStuck = at -> { };
    int admitted;
    int interrupted;
    int clusterAdmitted;
    int clusterInterrupted;

    SimShardWork(SimWorld world, SimWorld.Owner owner) {
        this.world = world;
        this.owner = owner;
    }

    Set<Integer> held() {
        return held;
    }

    @Override
    public CompletableFuture<Void> hold(Set<Integer> shards) {
        Set<Integer> next = Set.copyOf(new TreeSet<>(shards));
        for (int shard : next) {
            if (!held.contains(shard)) {
                CompletableFuture<Void> synced = new CompletableFuture<>();
                syncs.put(shard, synced);
                long delay = fixedSync != null ? fixedSync.toNanos() : (long) (world.random().nextDouble() * maxSyncNanos);
                world.at(world.nanoTime() + delay, owner, () -> synced.complete(null));
            }
        }
        syncs.keySet().retainAll(next);
        held = next;
        return CompletableFuture.allOf(next.stream().map(syncs::get).toArray(CompletableFuture[]::new));
    }

    @Override
    public CompletableFuture<Void> whenSynced(int shard) {
        return syncs.getOrDefault(shard, CompletableFuture.completedFuture(null));
    }

    @Override
    public int admitted(int shard) {
        admitted++;
        return 0;
    }

    @Override
    public CompletableFuture<Boolean> drain(int shard, Duration timeout) {
        drained.add(shard);
        return drain(timeout);
    }

    private CompletableFuture<Boolean> drain(Duration timeout) {
        CompletableFuture<Boolean> drained = new CompletableFuture<>();
        if (fixedDrain != null) {
            boolean result = drainResult;
            world.after(fixedDrain, owner, () -> drained.complete(result));
            return drained;
        }
        Random r = world.random();
        double roll = r.nextDouble();
        long ms = timeout.toMillis();
        if (roll < stuckDrain) {
            Duration giveUp = timeout.plus(ManagedShardWork.AFTER_INTERRUPT);
            onStuck.accept(world.nanoTime() + giveUp.toNanos());
            world.after(giveUp, owner, () -> drained.complete(false));
        } else if (roll < stuckDrain + lateDrain) {
            world.after(Duration.ofMillis(ms + r.nextInt(500)), owner, () -> drained.complete(true));
        } else {
            world.after(Duration.ofMillis(r.nextInt(50)), owner, () -> drained.complete(true));
        }
        return drained;
    }

    @Override
    public int interrupt(int shard) {
        interrupted++;
        return 0;
    }

    @Override
    public int admitClusterScoped() {
        clusterAdmitted++;
        return 0;
    }

    @Override
    public int interruptClusterScoped() {
        clusterInterrupted++;
        return 0;
    }

    @Override
    public CompletableFuture<Boolean> drainClusterScoped(Duration timeout) {
        return drain(timeout);
    }
}
