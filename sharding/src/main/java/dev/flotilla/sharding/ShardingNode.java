package dev.flotilla.sharding;

import dev.flotilla.core.fence.Admission;
import dev.flotilla.core.fence.WriteTarget;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.sharding.audit.AuditTrail;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica's sharding machinery over its {@link NodePorts}: membership, the coordinator
 * election and plan, and the shard state machine, renewed together every retry period on one
 * {@link Lane}. {@link Sharding} wires it to fabric8 and the manager; the simulation wires several
 * to one virtual timeline. Safe to call from any thread; the work itself runs on the lane.
 */
@OnPorts
final class ShardingNode {

    private static final Logger log = LoggerFactory.getLogger(ShardingNode.class);

    private final ShardingConfig config;
    private final ShardSpace space;
    private final NodePorts ports;
    private final Membership membership;
    private final ShardOwnership ownership;
    private final Coordinator coordinator;
    private final Consumer<String> fatal;
    /** Lane-confined. */
    private boolean leaving;
    private boolean stopped;

    /** @param fatal told, once, when this replica must stop all work (another replica took its identity) */
    ShardingNode(ShardingConfig config, String holder, NodePorts ports, ShardWork work, ShardMetrics metrics,
            AuditTrail trail, Consumer<String> fatal) {
        this.config = config;
        this.space = config.space();
        this.ports = ports;
        this.fatal = fatal;
        this.membership = new Membership(config, holder, ports);
        this.ownership = new ShardOwnership(config, holder, ports, work, metrics, trail);
        this.coordinator = new Coordinator(config, holder, ports, work, metrics);
    }

    /** The key gate: a namespaced key while its shard is active and freshly renewed, a cluster-scoped one on the fresh coordinator. */
    boolean admits(ObjectKey key) {
        return key.isClusterScoped() ? coordinator.isLeadingFresh() : ownership.admits(space.shardOf(key.namespace()));
    }

    /**
     * The write fence: a namespaced write while its shard is held with time to spare before the renew
     * deadline (tracked in flight, cancelled if the shard is fenced), a cluster-scoped one on the fresh
     * coordinator.
     */
    Admission admitWrite(WriteTarget target, Runnable cancel) {
        if (target.clusterScoped()) {
            return coordinator.isLeadingFresh() ? Admission.admitted()
                    : new Admission.Refused("cluster-scoped write, and replica '" + config.identity() + "' is not the coordinator");
        }
        return ownership.admitWrite(space.shardOf(target.namespace()), cancel);
    }

    /** Takes the membership Lease, then starts renewing, electing and taking the shards the coordinator assigns. */
    CompletableFuture<Void> join() {
        CompletableFuture<Void> joined = new CompletableFuture<>();
        ports.lane().execute(() -> membership.join().whenComplete((ok, error) -> ports.lane().execute(() -> {
            if (error != null) {
                joined.completeExceptionally(error);
                return;
            }
            scheduleTick();
            ownership.start();
            coordinator.start();
            joined.complete(null);
        })));
        return joined;
    }

    private void scheduleTick() {
        ports.lane().schedule(this::tick, ports.clock().nanoTime() + config.retryPeriod().toNanos());
    }

    private void tick() {
        if (stopped) {
            return;
        }
        try {
            // Shards and leadership keep being renewed while they are handed over: a slow drain must not let them expire.
            if (!leaving) {
                membership.renew(this::identityTaken);
            }
            ownership.renewAll();
            coordinator.renew();
        } finally {
            scheduleTick(); // one failed renewal must not end every later one
        }
    }

    private void identityTaken(String why) {
        if (stopped) {
            return;
        }
        stopped = true;
        log.atError().addKeyValue("replica", config.identity()).addKeyValue("reason", why).log("stopping all work at once");
        ownership.fenceAll(why);
        coordinator.abandon();
        fatal.accept(why);
    }

    /**
     * Leaves gracefully: the coordinator (if this replica is it) re-plans without this replica, the
     * membership Lease is released, every shard is drained and released so that its new owner
     * takes it at once, and leadership is released last.
     */
    CompletableFuture<Void> leave() {
        CompletableFuture<Void> left = new CompletableFuture<>();
        ports.lane().execute(() -> {
            if (stopped) {
                left.complete(null);
                return;
            }
            leaving = true;
            coordinator.leave()
                    .thenCompose(x -> onLane(membership::leave))
                    .thenCompose(x -> onLane(ownership::releaseAll))
                    .thenCompose(x -> onLane(coordinator::resign))
                    .whenComplete((x, error) -> ports.lane().execute(() -> {
                        stopped = true;
                        left.complete(null);
                    }));
        });
        return left;
    }

    private CompletableFuture<Void> onLane(Supplier<CompletableFuture<Void>> step) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ports.lane().execute(() -> step.get().whenComplete((x, error) -> done.complete(null)));
        return done;
    }

    /** Refuses every key at once, then (on the lane) fences every shard and drops leadership without releasing anything. */
    CompletableFuture<Void> abandon(String why) {
        ownership.refuseAll();
        coordinator.refuse();
        CompletableFuture<Void> done = new CompletableFuture<>();
        ports.lane().execute(() -> {
            stopped = true;
            ownership.fenceAll(why);
            coordinator.abandon();
            done.complete(null);
        });
        return done;
    }

    Set<Integer> activeShards() {
        return ownership.active();
    }

    boolean isCoordinator() {
        return coordinator.isLeading();
    }

    /** For the simulation's checks: until when {@code shard} is admitted here (0: refused). */
    long admittedUntil(int shard) {
        return ownership.admittedUntil(shard);
    }

    /** For the simulation's checks: until when this replica counts as the coordinator (0: it does not). */
    long leadingUntil() {
        return coordinator.leadingUntil();
    }
}
