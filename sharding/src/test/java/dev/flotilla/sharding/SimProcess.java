package dev.flotilla.sharding;

import dev.flotilla.sharding.audit.AuditTrail;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * One incarnation of a replica in the simulation: the real {@link ShardingNode} (membership,
 * coordinator, shard state machine) on a lane, a Lease view and a store of the simulated API
 * server, and faked controllers ({@link SimShardWork}). It can be frozen (SIGSTOP), cut off from
 * the server, slowed down, killed (SIGKILL) or stopped gracefully.
 */
final class SimProcess implements SimWorld.Owner {

    /** How this process's requests and watch events travel; changed by faults. */
    static final class Network {
        static final long MIN_DELAY = Duration.ofMillis(1).toNanos();
        static final long MAX_DELAY = Duration.ofMillis(40).toNanos();
        static final long WATCH_MAX_DELAY = Duration.ofMillis(60).toNanos();
        long minDelayNanos = MIN_DELAY;
        long maxDelayNanos = MAX_DELAY;
        long watchMaxDelayNanos = WATCH_MAX_DELAY;
        long timeoutNanos = Duration.ofSeconds(3).toNanos();
        /** Until when a slow spell lasts. */
        long slowUntil;

        void reset() {
            minDelayNanos = MIN_DELAY;
            maxDelayNanos = MAX_DELAY;
            watchMaxDelayNanos = WATCH_MAX_DELAY;
        }

        long delayNanos(Random random) {
            return minDelayNanos + (long) (random.nextDouble() * (maxDelayNanos - minDelayNanos));
        }

        long timeoutNanos() {
            return timeoutNanos;
        }
    }

    final String identity;
    final int incarnation;
    final String holder;
    private final SimWorld world;
    private final SimLeaseServer server;
    private final Network network = new Network();
    final LeaseView view;
    final Lane lane;
    final ShardingNode node;
    final SimShardWork work;
    private final Map<String, Lease> delivered = new HashMap<>();
    private long lastDeliveryAt;
    private boolean killed;
    private long frozenUntil;
    private long partitionedUntil;
    private boolean relistOnHeal;
    String fatal;

    SimProcess(SimWorld world, SimLeaseServer server, ShardingConfig config, int incarnation, Duration wallSkew) {
        this.world = world;
        this.server = server;
        this.identity = config.identity();
        this.incarnation = incarnation;
        this.holder = LeaseNaming.holder(identity, "i" + incarnation);
        this.view = new LeaseView(world, new LeaseNaming(config.group()), config.leaseDuration());
        this.lane = world.lane(this);
        this.work = new SimShardWork(world, this);
        NodePorts ports = new NodePorts(world, world.wall(wallSkew), lane, server.storeFor(this), view);
        this.node = new ShardingNode(config, holder, ports, work,
                new ShardMetrics(new CompositeMeterRegistry(), identity, new LeaseNaming(config.group()).coordinatorLease()),
                AuditTrail.none(), why -> fatal = why);
    }

    /** Starts the watch (its first LIST is delivered at once), then joins. */
    CompletableFuture<Void> start() {
        server.watch(this);
        return node.join();
    }

    Network network() {
        return network;
    }

    @Override
    public boolean killed() {
        return killed;
    }

    @Override
    public long frozenUntil() {
        return frozenUntil;
    }

    boolean partitionedAt(long at) {
        return at < partitionedUntil;
    }

    boolean frozenAt(long at) {
        return at < frozenUntil;
    }

    void kill() {
        killed = true;
        lane.close();
    }

    void freeze(Duration d) {
        frozenUntil = Math.max(frozenUntil, world.nanoTime() + d.toNanos());
    }

    /** Cut off from the API server: requests time out and the watch stalls; it relists when the partition heals. */
    void partition(Duration d) {
        long until = world.nanoTime() + d.toNanos();
        partitionedUntil = Math.max(partitionedUntil, until);
        relistOnHeal = true;
        world.at(partitionedUntil, this, () -> {
            if (relistOnHeal && !partitionedAt(world.nanoTime())) {
                relistOnHeal = false;
                relist(server.all());
            }
        });
    }

    /** A watch event from the server: delivered in order, after this process's watch delay. */
    void deliver(Lease lease, boolean deleted) {
        long now = world.nanoTime();
        if (partitionedAt(now)) {
            relistOnHeal = true;
            return;
        }
        long at = Math.max(lastDeliveryAt, now + (long) (world.random().nextDouble() * network.watchMaxDelayNanos));
        lastDeliveryAt = at;
        world.at(at, this, () -> record(lease, deleted));
    }

    /** What a fresh LIST shows: every current Lease, and the deletion of every one this view had that is gone. */
    void relist(Map<String, Lease> now) {
        Map<String, Lease> before = Map.copyOf(delivered);
        long at = Math.max(lastDeliveryAt, world.nanoTime());
        lastDeliveryAt = at;
        world.at(at, this, () -> {
            now.values().forEach(l -> record(l, false));
            before.forEach((name, last) -> {
                if (!now.containsKey(name)) {
                    record(last, true);
                }
            });
        });
    }

    private void record(Lease lease, boolean deleted) {
        String name = lease.getMetadata().getName();
        if (deleted) {
            delivered.remove(name);
        } else {
            delivered.put(name, lease);
        }
        view.record(lease, deleted);
    }

    @Override
    public String toString() {
        return holder;
    }
}
