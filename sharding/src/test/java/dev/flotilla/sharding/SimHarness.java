package dev.flotilla.sharding;

import dev.flotilla.sharding.audit.InMemoryAuditTrail;
import dev.flotilla.sharding.audit.LeaseTransition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the state-machine unit tests share: one virtual timeline, the simulated API server, and
 * peers on a fixed 5 ms network (so every answer's timing is exact), with lease 6 s, renew
 * deadline 4 s, retry 1 s and 4 shards.
 */
final class SimHarness {

    static final String GROUP = "unit";
    static final Duration LEASE = Duration.ofSeconds(6);
    static final Duration RENEW = Duration.ofSeconds(4);
    static final Duration RETRY = Duration.ofSeconds(1);
    static final Duration ONE_WAY = Duration.ofMillis(5);
    static final Duration WATCH = Duration.ofMillis(5);
    static final LeaseNaming NAMING = new LeaseNaming(GROUP);

    final SimWorld world = new SimWorld(7);
    final SimLeaseServer server = new SimLeaseServer(world);
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final InMemoryAuditTrail trail = new InMemoryAuditTrail();

    static ShardingConfig config(String identity) {
        return ShardingConfig.defaults(identity, "ns").withGroup(GROUP).withShards(4).withTimings(LEASE, RENEW, RETRY)
                .withDrainTimeout(Duration.ofSeconds(1));
    }

    /** A peer on the fixed network whose watch has started. */
    SimPeer peer(String identity, String incarnation, Duration wallSkew) {
        SimPeer peer = new SimPeer(world, server, config(identity), incarnation, wallSkew);
        peer.network().fixed(ONE_WAY, WATCH);
        peer.watch();
        return peer;
    }

    /** Controllers that sync in 50 ms and drain in 20 ms, successfully. */
    SimShardWork work(SimPeer peer) {
        SimShardWork work = new SimShardWork(world, peer);
        work.fixedSync = Duration.ofMillis(50);
        work.fixedDrain = Duration.ofMillis(20);
        return work;
    }

    ShardMetrics metrics(String identity) {
        return new ShardMetrics(registry, identity, NAMING.coordinatorLease());
    }

    /** Calls {@code task} on {@code peer}'s lane every retry period from now on (what a node's tick does). */
    void every(SimPeer peer, Duration period, Runnable task) {
        peer.lane.schedule(new Runnable() {
            @Override
            public void run() {
                task.run();
                peer.lane.schedule(this, world.nanoTime() + period.toNanos());
            }
        }, world.nanoTime() + period.toNanos());
    }

    /** Puts a shard Lease by hand: held by {@code holder} ("" free), desired for {@code desired} ("" none). */
    Lease shardLease(int shard, String holder, String desired) {
        Lease lease = Leases.newLease(NAMING.shardLease(shard), Map.of(LeaseNaming.LABEL_GROUP, GROUP),
                Map.of(LeaseNaming.ANNOTATION_SHARDS, "4", LeaseNaming.ANNOTATION_DESIRED_OWNER, desired));
        if (!holder.isEmpty()) {
            Leases.hold(lease, holder, (int) LEASE.toSeconds(), world.wall(Duration.ZERO));
        }
        return server.put(lease);
    }

    /** A renewal by someone outside the simulation (a live foreign holder), now. */
    void renewByHand(String name, String holder) {
        server.edit(name, l -> Leases.hold(l, holder, (int) LEASE.toSeconds(), world.wall(Duration.ZERO)));
    }

    void setDesired(int shard, String desired) {
        server.edit(NAMING.shardLease(shard), l -> new LeaseBuilder(l).editMetadata()
                .addToAnnotations(LeaseNaming.ANNOTATION_DESIRED_OWNER, desired).endMetadata().build());
    }

    void setHolderByHand(String name, String holder) {
        server.edit(name, l -> new LeaseBuilder(l).editOrNewSpec().withHolderIdentity(holder)
                .withRenewTime(ZonedDateTime.now(ZoneOffset.UTC)).endSpec().build());
    }

    String holderOf(String name) {
        return server.current(name).map(Leases::holderOf).orElse("(none)");
    }

    Optional<Lease> lease(String name) {
        return server.current(name);
    }

    /** Runs {@code step} on {@code peer}'s lane (the state machines' methods are lane-confined) and returns what it returned. */
    <T> java.util.concurrent.CompletableFuture<T> onLane(SimPeer peer, java.util.function.Supplier<java.util.concurrent.CompletableFuture<T>> step) {
        java.util.concurrent.CompletableFuture<T> out = new java.util.concurrent.CompletableFuture<>();
        peer.lane.execute(() -> step.get().whenComplete((v, e) -> {
            if (e != null) {
                out.completeExceptionally(e);
            } else {
                out.complete(v);
            }
        }));
        return out;
    }

    /** A membership Lease of {@code identity} held by {@code holder}, renewed by hand every retry period from now on. */
    void liveMember(String identity, String holder) {
        String name = NAMING.memberLease(identity);
        Lease lease = Leases.newLease(name, Map.of(LeaseNaming.LABEL_GROUP, GROUP, LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_MEMBER),
                Map.of());
        server.put(Leases.hold(lease, holder, (int) LEASE.toSeconds(), world.wall(Duration.ZERO)));
        world.at(world.nanoTime() + RETRY.toNanos(), null, new Runnable() {
            @Override
            public void run() {
                if (server.current(name).map(l -> holder.equals(Leases.holderOf(l))).orElse(false) && !stopped.contains(name)) {
                    renewByHand(name, holder);
                    world.at(world.nanoTime() + RETRY.toNanos(), null, this);
                }
            }
        });
    }

    private final java.util.Set<String> stopped = new java.util.HashSet<>();

    /** Stops the hand renewals of {@code identity}'s membership Lease, as if that replica died. */
    void memberDies(String identity) {
        stopped.add(NAMING.memberLease(identity));
    }

    void run(Duration d) {
        world.runFor(d);
    }

    long now() {
        return world.nanoTime();
    }

    /** The kinds of transition recorded for {@code shard}, in order. */
    List<LeaseTransition.Kind> transitions(int shard) {
        return trail.transitions().stream().filter(t -> t.shard() == shard).map(LeaseTransition::kind).toList();
    }

    Optional<LeaseTransition> last(int shard, LeaseTransition.Kind kind) {
        return trail.transitions().stream().filter(t -> t.shard() == shard && t.kind() == kind).reduce((a, b) -> b);
    }
}
