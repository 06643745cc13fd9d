package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.fence.Admission;
import dev.flotilla.core.fence.WriteTarget;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.sharding.audit.AuditTrail;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    /** How often the objects of the shards held are counted for the membership Lease (the coordinator's weights). */
    static final java.time.Duration OBJECTS_REPORT_PERIOD = java.time.Duration.ofSeconds(5);

    private final HeldRanges ranges;
    private final ShardWork work;
    private final NodePorts ports;
    private final Membership membership;
    private final ShardOwnership ownership;
    private final Coordinator coordinator;
    private final CoordinatorLabel label;
    private final Consumer<String> fatal;
    /** Lane-confined. */
    private boolean stopped;
    /** When the objects were last counted (monotonic, lane-confined); counted on the first tick. */
    private long countedAtNanos;
    private boolean counted;
    /** The last count failed (logged once, and once when it works again). */
    private boolean countFailed;

    /** @param fatal told, once, when this replica must stop all work (another replica took its identity) */
    ShardingNode(ShardingConfig config, String holder, NodePorts ports, ShardWork work, ShardMetrics metrics,
            AuditTrail trail, Consumer<String> fatal) {
        this(config, holder, ports, work, metrics, trail, fatal, RestartEvidence.none(), new HeldRanges(), java.util.Optional.empty());
    }

    /**
     * @param evidence what this replica can prove about its previous incarnation (restart in place)
     * @param podLabel where this replica's Pod is labelled while it coordinates; empty outside a Pod
     */
    ShardingNode(ShardingConfig config, String holder, NodePorts ports, ShardWork work, ShardMetrics metrics,
            AuditTrail trail, Consumer<String> fatal, RestartEvidence evidence, HeldRanges ranges,
            java.util.Optional<CoordinatorLabelWriter> podLabel) {
        this.config = config;
        this.ranges = ranges;
        this.work = work;
        this.ports = ports;
        this.fatal = fatal;
        this.ownership = new ShardOwnership(config, holder, ports, work, metrics, trail, ranges);
        this.membership = new Membership(config, holder, ports, ownership::memberRenewed, evidence,
                () -> metrics.renewalFailed(ShardMetrics.LeaseKind.MEMBER));
        this.label = new CoordinatorLabel(podLabel, ports.lane(), ports.clock());
        this.coordinator = new Coordinator(config, holder, ports, work, metrics, label);
    }

    /** When the last successful membership renewal was sent (monotonic); {@code Long.MIN_VALUE} before the first. Lane. */
    long memberRenewedSentNanos() {
        return ownership.memberRenewedSentNanos();
    }

    /** The key gate: a namespaced key while its shard is active and freshly renewed, a cluster-scoped one on the fresh coordinator. */
    boolean admits(ObjectKey key) {
        return key.isClusterScoped() ? coordinator.isLeadingFresh() : ownership.admits(ranges.slotOf(key.namespace()));
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
        return ownership.admitWrite(ranges.slotOf(target.namespace()), cancel);
    }

    /** Takes the membership Lease, then starts renewing, electing and taking the shards the coordinator assigns. */
    CompletableFuture<Void> join() {
        CompletableFuture<Void> joined = new CompletableFuture<>();
        ports.lane().execute(() -> refuseOlderProtocol().thenCompose(x -> onLaneJoin()).whenComplete((ok, error) -> ports.lane().execute(() -> {
            if (error != null) {
                joined.completeExceptionally(error instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                        ? c.getCause() : error);
                return;
            }
            scheduleTick();
            ownership.start();
            coordinator.start();
            joined.complete(null);
        })));
        return joined;
    }

    private CompletableFuture<Void> onLaneJoin() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ports.lane().execute(() -> membership.join().whenComplete((ok, error) -> {
            if (error != null) {
                done.completeExceptionally(error);
            } else {
                done.complete(null);
            }
        }));
        return done;
    }

    /**
     * Protocol 1 renewed every shard Lease and judged a shard free when its own Lease expired;
     * protocol 2 never renews shard Leases and reads a shard's range from its index; this protocol
     * reads it from the Lease. Replicas of two protocols in one group would take each other's
     * namespaces, so a replica does not join a group whose Leases carry another protocol while
     * someone still renews them: it watches such Leases for a lease duration plus a retry period and
     * fails with {@link ShardingSetupException} (one line saying what to do) if any is renewed.
     * Stale ones (an old group that was stopped) are adopted: their holders are gone.
     */
    private CompletableFuture<Void> refuseOlderProtocol() {
        java.util.Map<String, Long> older = new java.util.TreeMap<>();
        for (LeaseView.Seen s : ports.view().all()) {
            if (!s.deleted() && !s.holder().isEmpty() && !s.speaksProtocol()) {
                older.put(s.name(), s.changedNanos());
            }
        }
        if (older.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("leases", older.size())
                .addKeyValue("protocols", older.keySet().stream().map(n -> ports.view().get(n).map(LeaseView.Seen::protocol).orElse("?"))
                        .distinct().sorted().toList())
                .log("the group has leases of another sharding protocol; watching them for one lease duration before joining");
        CompletableFuture<Void> checked = new CompletableFuture<>();
        long until = ports.clock().nanoTime() + config.leaseDuration().plus(config.retryPeriod()).toNanos();
        checkOlder(older, until, checked);
        return checked;
    }

    private void checkOlder(java.util.Map<String, Long> older, long until, CompletableFuture<Void> checked) {
        for (var entry : older.entrySet()) {
            var now = ports.view().get(entry.getKey());
            if (now.isPresent() && !now.get().deleted() && !now.get().speaksProtocol() && !now.get().holder().isEmpty()
                    && now.get().changedNanos() != entry.getValue()) {
                checked.completeExceptionally(new ShardingSetupException("sharding group '" + config.group() + "' in namespace "
                        + config.leaseNamespace() + " is run by replicas of sharding protocol " + now.get().protocol() + " (Lease " + entry.getKey()
                        + " renewed by " + now.get().holder() + "); this version speaks protocol " + LeaseNaming.PROTOCOL
                        + " and cannot share a group with them: stop every old replica first (README, Upgrading), or use "
                        + "another group"));
                return;
            }
        }
        if (ports.clock().nanoTime() >= until) {
            log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("leases", older.size())
                    .log("nobody renewed the other protocol's leases for a lease duration; adopting the group");
            checked.complete(null);
            return;
        }
        ports.lane().schedule(() -> checkOlder(older, until, checked),
                Math.min(until, ports.clock().nanoTime() + config.retryPeriod().toNanos() / 2));
    }

    private void scheduleTick() {
        ports.lane().schedule(this::tick, ports.clock().nanoTime() + config.retryPeriod().toNanos());
    }

    private void tick() {
        if (stopped) {
            return;
        }
        try {
            // The membership Lease fences every shard held: it is renewed while they are handed over too (until
            // Membership.leave), so a slow drain cannot let them expire.
            long now = ports.clock().nanoTime();
            if (!counted || now - countedAtNanos >= OBJECTS_REPORT_PERIOD.toNanos()) {
                counted = true;
                countedAtNanos = now;
                reportObjects();
            }
            membership.renew(this::identityTaken);
            coordinator.renew();
            label.tick();
        } finally {
            scheduleTick(); // one failed renewal must not end every later one
        }
    }

    /**
     * Counts the cached primaries of the ACTIVE shards (a syncing one's cache is not complete yet) for
     * the next renewals to carry; a failure to count reports nothing rather than stopping renewals.
     */
    private void reportObjects() {
        List<HashRange> counted = new ArrayList<>();
        for (int shard : ownership.active()) {
            ranges.of(shard).ifPresent(counted::add);
        }
        counted.sort((a, b) -> Long.compareUnsigned(a.first(), b.first()));
        if (counted.isEmpty()) {
            membership.report("", "");
            return;
        }
        try {
            Map<String, Long> objects = new HashMap<>();
            work.objects().forEach((ns, n) -> {
                long hash = ShardSpace.hash(ns);
                if (!ns.isEmpty() && counted.stream().anyMatch(r -> r.contains(hash))) {
                    objects.put(ns, n);
                }
            });
            membership.report(NamespaceWeights.ofNamespaces(objects).text(NamespaceWeights.MAX_TEXT_ENTRIES),
                    String.join(",", counted.stream().map(HashRange::text).toList()));
        } catch (RuntimeException e) {
            if (!countFailed) {
                log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", FailureText.of(e))
                        .log("could not count the objects of the shards held; the coordinator keeps their last counts");
            }
            countFailed = true;
            return;
        }
        if (countFailed) {
            log.atInfo().addKeyValue("replica", config.identity()).log("counting the objects of the shards held works again");
            countFailed = false;
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
     * membership Lease is marked leaving (another coordinator plans without it too), every shard is
     * drained and released so that its new owner takes it at once, then the membership Lease is
     * freed (left to expire if a shard Lease still names this replica), and leadership is released
     * last; the coordinator label is removed meanwhile and waited for, at most a renew deadline.
     */
    CompletableFuture<Void> leave() {
        CompletableFuture<Void> left = new CompletableFuture<>();
        ports.lane().execute(() -> {
            if (stopped) {
                left.complete(null);
                return;
            }
            coordinator.leave()
                    .thenCompose(x -> onLane(membership::markLeaving))
                    .thenCompose(x -> onLane(ownership::releaseAll))
                    .thenCompose(x -> onLane(() -> membership.leave(ownership.releasedEveryShard())))
                    .thenCompose(x -> onLane(coordinator::resign))
                    .thenCompose(x -> onLane(this::labelRemoved))
                    .whenComplete((x, error) -> ports.lane().execute(() -> {
                        stopped = true;
                        left.complete(null);
                    }));
        });
        return left;
    }

    /** The label's removal (sent when leadership ended), waited for at most a renew deadline: a leave must end. */
    private CompletableFuture<Void> labelRemoved() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        label.removed().whenComplete((x, error) -> done.complete(null));
        ports.lane().schedule(() -> done.complete(null), ports.clock().nanoTime() + config.renewDeadline().toNanos());
        return done;
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

    /** This replica is the coordinator and the layout it plans is in place ({@link Coordinator#isSettled}). */
    boolean layoutSettled() {
        return coordinator.isSettled();
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
