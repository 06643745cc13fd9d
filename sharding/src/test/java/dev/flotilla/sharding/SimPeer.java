package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * One process as the simulated API server sees it: a holder identity, a {@link Lane}, a Lease view
 * fed by its watch, a store over its own network, and the faults a process can suffer: frozen
 * (SIGSTOP), cut off from the server, slowed down, killed (SIGKILL).
 */
class SimPeer implements SimWorld.Owner {

    /** How this process's requests and watch events travel; changed by faults. */
    static final class Network {
        static final long MIN_DELAY = Duration.ofMillis(1).toNanos();
        static final long MAX_DELAY = Duration.ofMillis(40).toNanos();
        static final long WATCH_MAX_DELAY = Duration.ofMillis(60).toNanos();
        long minDelayNanos = MIN_DELAY;
        long maxDelayNanos = MAX_DELAY;
        long watchMaxDelayNanos = WATCH_MAX_DELAY;
        long watchMinDelayNanos;
        long timeoutNanos = Duration.ofSeconds(3).toNanos();
        /** Until when a slow spell lasts. */
        long slowUntil;

        long delayNanos(Random random) {
            return minDelayNanos + (long) (random.nextDouble() * (maxDelayNanos - minDelayNanos));
        }

        long watchDelayNanos(Random random) {
            return watchMinDelayNanos + (long) (random.nextDouble() * (watchMaxDelayNanos - watchMinDelayNanos));
        }

        long timeoutNanos() {
            return timeoutNanos;
        }

        void reset() {
            minDelayNanos = MIN_DELAY;
            maxDelayNanos = MAX_DELAY;
            watchMaxDelayNanos = WATCH_MAX_DELAY;
            watchMinDelayNanos = 0;
        }

        /** Every request takes exactly {@code oneWay} each way and watch events arrive after exactly {@code watch}. */
        Network fixed(Duration oneWay, Duration watch) {
            minDelayNanos = oneWay.toNanos();
            maxDelayNanos = oneWay.toNanos();
            watchMaxDelayNanos = watch.toNanos();
            watchMinDelayNanos = watch.toNanos();
            return this;
        }
    }

    final String identity;
    final String holder;
    final SimWorld world;
    final SimLeaseServer server;
    final LeaseView view;
    final Lane lane;
    final NodePorts ports;
    private final Network network = new Network();
    private final Map<String, Lease> delivered = new HashMap<>();
    private long lastDeliveryAt;
    private boolean killed;
    private long frozenUntil;
    private long partitionedUntil;
    private boolean relistOnHeal;
    private boolean watchCut;

    SimPeer(SimWorld world, SimLeaseServer server, ShardingConfig config, String incarnation, Duration wallSkew) {
        this.world = world;
        this.server = server;
        this.identity = config.identity();
        this.holder = LeaseNaming.holder(identity, incarnation);
        this.view = new LeaseView(world, new LeaseNaming(config.group()), config.leaseDuration());
        this.lane = world.lane(this);
        this.ports = new NodePorts(world, world.wall(wallSkew), lane, server.storeFor(this), view);
    }

    /** Starts the watch: the current Leases (its first LIST) are delivered at once, then every change. */
    void watch() {
        server.watch(this);
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
        partitionedUntil = Math.max(partitionedUntil, world.nanoTime() + d.toNanos());
        relistOnHeal = true;
        world.at(partitionedUntil, this, () -> {
            if (relistOnHeal && !partitionedAt(world.nanoTime())) {
                relistOnHeal = false;
                relist(server.all());
            }
        });
    }

    /** The watch alone breaks (requests are still answered): its events are lost until {@link #relistWatch}. */
    void cutWatch() {
        watchCut = true;
    }

    /** The broken watch is started afresh: one LIST of the current Leases, which skips every version written meanwhile. */
    void relistWatch() {
        watchCut = false;
        relist(server.all());
    }

    /** A watch event from the server: delivered in order, after this process's watch delay. */
    void deliver(Lease lease, boolean deleted) {
        long now = world.nanoTime();
        if (watchCut) {
            return;
        }
        if (partitionedAt(now)) {
            relistOnHeal = true;
            return;
        }
        long at = Math.max(lastDeliveryAt, now + network.watchDelayNanos(world.random()));
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
