package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Elects the group's coordinator on its Lease and, while leading, publishes on each shard Lease
 * the member that should hold it ({@link ShardAssigner}). The election follows the shard Leases'
 * rules, on the {@link MonotonicClock}: a candidate takes the coordinator Lease only when it is
 * free or nobody has been seen renewing it for its duration, and a leader counts as leading only
 * until its last successful renewal plus the renew deadline. The coordinator keeps nothing the
 * Leases do not hold: live members are the fresh membership Leases, current owners the published
 * desired owners (or, failing that, the holders), so a newly elected coordinator computes the
 * same plan and moves nothing that need not move. Confined to the replica's {@link Lane}; only
 * {@link #isLeadingFresh} and {@link #isLeading} are read from other threads.
 */
@OnPorts
final class Coordinator {

    private static final Logger log = LoggerFactory.getLogger(Coordinator.class);

    enum Role { FOLLOWER, CAMPAIGNING, LEADER }

    private final ShardingConfig config;
    private final String coordinatorLease;
    /** The shard Leases' names, made once: every pass looks up all of them. */
    private final String[] shardLeaseNames;
    private final LeaseNaming naming;
    /** The last plan and what it was computed from: most passes (renewals) change none of it. */
    private Set<String> planLive = Set.of();
    private NamespaceWeights planWeights = NamespaceWeights.none();
    private List<HashRange> planTarget = List.of();
    private boolean planMoving;
    private boolean planAdopting;
    private boolean planSettling;
    private RangePlan plan;
    /** The layout of ranges this coordinator is moving the group to; null until it leads. */
    private List<HashRange> target;
    /** Objects per namespace hash as the members last reported them (unsigned order), and the reports applied. */
    private final java.util.TreeMap<Long, Long> known = new java.util.TreeMap<>(Long::compareUnsigned);
    private final Map<String, String> appliedReports = new HashMap<>();
    private NamespaceWeights knownWeights = NamespaceWeights.none();
    /** The weights as of the last pass where every live member's counts covered what it held: what is planned from. */
    private NamespaceWeights wholeWeights = NamespaceWeights.none();
    /**
     * Shards this coordinator assigned whose write is in flight ({@code version} null) or not yet
     * seen by the watch: busy with {@code range} whatever the view still shows.
     */
    private record Assigned(HashRange range, String version) {
    }

    private final Map<Integer, Assigned> assigned = new HashMap<>();
    /** See {@link #isSettled}; written on the lane. */
    private volatile boolean settled;
    private final String holder;
    private final MonotonicClock clock;
    private final Clock wall;
    private final Lane lane;
    private final LeaseStore store;
    private final LeaseView view;
    private final ShardWork work;
    private final ShardMetrics metrics;
    private final Reactor reactor;
    private final long renewDeadlineNanos;
    /** The monotonic instant until which this replica counts as the coordinator; 0 when it does not. */
    private final AtomicLong leaderUntil = new AtomicLong();
    private volatile Role role = Role.FOLLOWER;
    /** Set once by refuse (any thread): cluster-scoped keys stay refused whatever the lane still does. */
    private volatile boolean refused;
    private Lease lease;
    private long renewedAtNanos;
    private boolean renewing;
    private long campaign;
    /** Completes once the outcome of the latest campaign write has been handled. */
    private CompletableFuture<Void> campaignSettled = CompletableFuture.completedFuture(null);
    private boolean leaving;
    private boolean closed;
    /** Shards whose desired-owner write is in flight: not published again until it lands. */
    private final Set<Integer> publishing = new HashSet<>();
    private final Set<String> warned = new HashSet<>();
    /** The live members of the last pass, and when they last changed (monotonic): a cold start waits for them to settle. */
    private Set<String> lastLive = Set.of();
    private long membersChangedNanos;
    /** When this replica last became the coordinator (monotonic). */
    private long ledSinceNanos;
    /** This replica's Pod's coordinator label: told of every change of role, never asked anything. */
    private final CoordinatorLabel label;

    Coordinator(ShardingConfig config, String holder, NodePorts ports, ShardWork work, ShardMetrics metrics) {
        this(config, holder, ports, work, metrics, CoordinatorLabel.none(ports.lane(), ports.clock()));
    }

    Coordinator(ShardingConfig config, String holder, NodePorts ports, ShardWork work, ShardMetrics metrics,
            CoordinatorLabel label) {
        this.label = label;
        this.config = config;
        this.naming = new LeaseNaming(config.group());
        this.coordinatorLease = naming.coordinatorLease();
        this.shardLeaseNames = naming.shardLeases(config.shards());
        this.holder = holder;
        this.clock = ports.clock();
        this.wall = ports.wall();
        this.lane = ports.lane();
        this.store = ports.store();
        this.view = ports.view();
        this.work = work;
        this.metrics = metrics;
        this.renewDeadlineNanos = config.renewDeadline().toNanos();
        this.reactor = new Reactor(lane, clock, this::pass, config.retryPeriod());
    }

    void start() {
        view.onChange((before, after) -> {
            if (view.isNews(before, after)) {
                reactor.poke();
            }
        });
        // Not leading yet: a label a previous incarnation in this Pod left (killed while leading) goes first.
        label.leading(false);
        reactor.poke();
    }

    boolean isLeading() {
        return role == Role.LEADER;
    }

    /** Leading, and renewed within the renew deadline on this replica's monotonic clock: what admits cluster-scoped keys. */
    boolean isLeadingFresh() {
        return !refused && clock.nanoTime() < leaderUntil.get();
    }

    /** The monotonic instant until which this replica counts as the coordinator (0: it does not); for the simulation's checks. */
    long leadingUntil() {
        return leaderUntil.get();
    }

    private OptionalLong pass() {
        if (closed) {
            return OptionalLong.empty();
        }
        long now = clock.nanoTime();
        long[] next = {Long.MAX_VALUE};
        Set<String> live = liveMembers(next);
        metrics.members(live.size());
        if (!live.equals(lastLive)) {
            lastLive = live;
            membersChangedNanos = now;
        }
        view.prune();
        if (role == Role.LEADER) {
            long deadline = renewedAtNanos + renewDeadlineNanos;
            Optional<LeaseView.Seen> c = view.get(coordinatorLease);
            if (now >= deadline) {
                stepDown("no renewal of the coordinator lease succeeded within the renew deadline");
            } else if (c.isPresent() && c.get().deleted()) {
                stepDown("the coordinator lease was deleted");
            } else if (c.isPresent() && c.get().hasSeen(Leases.resourceVersion(lease)) && !holder.equals(c.get().holder())) {
                stepDown("the coordinator lease now names holder '" + c.get().holder() + "'");
            } else {
                next[0] = Math.min(next[0], deadline);
            }
        }
        if (role == Role.FOLLOWER && !leaving) {
            campaign(next);
        }
        if (role == Role.LEADER) {
            if (leaving) {
                live.remove(config.identity());
            }
            if (!live.isEmpty() || leaving) {
                publish(live, next);
            }
            // Not even this replica looks alive: its own view has stalled. Publishing "nobody" would make
            // every replica drop every shard; wait for the view instead.
        }
        return next[0] == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(next[0]);
    }

    /**
     * Members that take shards: a fresh membership Lease of this protocol, not marked leaving. (A
     * leaving member still fences what it holds; it is only left out of the plan.)
     */
    private Set<String> liveMembers(long[] next) {
        Set<String> live = new TreeSet<>();
        for (LeaseView.Seen s : view.all()) {
            // A deleted membership Lease counts for a lease duration after its deletion: its holder recreates it.
            if (s.member().isEmpty() || !view.isHeld(s)) {
                continue;
            }
            next[0] = Math.min(next[0], view.expiresAtNanos(s));
            if (!s.speaksProtocol() && !s.deleted()) {
                if (warned.add("protocol/" + s.holder())) {
                    log.atError().addKeyValue("member", s.member()).addKeyValue("holder", s.holder())
                            .addKeyValue("protocol", s.protocol())
                            .log("a replica of another sharding protocol renews its membership lease in this group; it gets no "
                                    + "shards, and the two protocols must not run side by side: stop it (see the README, Upgrading)");
                }
                continue;
            }
            if ("true".equals(s.annotation(LeaseNaming.ANNOTATION_LEAVING))) {
                continue;
            }
            live.add(s.member());
        }
        return live;
    }

    /** Takes the coordinator Lease if it is free or expired; otherwise asks to look again when it would expire. */
    private void campaign(long[] next) {
        Optional<LeaseView.Seen> seen = view.get(coordinatorLease);
        if (seen.isPresent() && seen.get().deleted() && view.isHeld(seen.get())) {
            next[0] = Math.min(next[0], view.expiresAtNanos(seen.get())); // its holder may still think it leads
            return;
        }
        if (seen.isEmpty() || seen.get().deleted()) {
            Lease fresh = Leases.newLease(coordinatorLease, Map.of(LeaseNaming.LABEL_GROUP, config.group(),
                    LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_COORDINATOR), Map.of());
            run(store.create(Leases.hold(fresh, holder, leaseSeconds(), wall)), null);
            return;
        }
        LeaseView.Seen c = seen.get();
        long wait = view.writeWaitUntil(c);
        if (clock.nanoTime() < wait) {
            next[0] = Math.min(next[0], wait); // a campaign on this version failed: not again at once
        } else if (c.holder().isEmpty() || !view.isHeld(c) || holder.equals(c.holder()) || view.isGone(c.holder())) {
            run(store.update(c.lease(), l -> Leases.hold(l, holder, leaseSeconds(), wall)), c);
        } else {
            next[0] = Math.min(next[0], view.expiresAtNanos(c));
        }
    }

    /** @param base the Lease version the write is based on; null for a create */
    private void run(CompletableFuture<LeaseWrite> write, LeaseView.Seen base) {
        role = Role.CAMPAIGNING;
        long attempt = ++campaign;
        long sent = clock.nanoTime();
        CompletableFuture<Void> settled = new CompletableFuture<>();
        campaignSettled = settled;
        write.whenComplete((outcome, e) -> lane.execute(() -> {
            try {
                LeaseWrite settledOutcome = LeaseWrite.settled(outcome, e);
                if (!(settledOutcome instanceof LeaseWrite.Written) && base != null) {
                    view.writeFailed(base, clock.nanoTime() + config.retryPeriod().toNanos());
                }
                campaigned(attempt, sent, settledOutcome);
            } finally {
                settled.complete(null);
            }
        }));
    }

    private void campaigned(long attempt, long sent, LeaseWrite outcome) {
        if (attempt != campaign) {
            return;
        }
        if (role != Role.CAMPAIGNING || closed || leaving) {
            // Resigned, abandoned or leaving while the write was out: a won Lease is kept only for resign() to free.
            if (outcome instanceof LeaseWrite.Written w) {
                lease = w.lease();
            }
            if (role == Role.CAMPAIGNING) {
                role = Role.FOLLOWER;
            }
            reactor.poke();
            return;
        }
        if (!(outcome instanceof LeaseWrite.Written written)) {
            role = Role.FOLLOWER;
            reactor.poke();
            return;
        }
        lease = written.lease();
        renewedAtNanos = sent;
        if (clock.nanoTime() >= sent + renewDeadlineNanos) {
            role = Role.FOLLOWER; // the answer came too late to prove anything; try again
            reactor.poke();
            return;
        }
        role = Role.LEADER;
        ledSinceNanos = clock.nanoTime();
        target = null; // read again from the Leases: another coordinator may have moved the layout since
        plan = null;
        assigned.clear();
        leaderUntil.set(sent + renewDeadlineNanos);
        metrics.leading(true);
        log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("lease", coordinatorLease)
                .log("became coordinator");
        work.admitClusterScoped();
        label.leading(true);
        reactor.poke();
    }

    private void stepDown(String why) {
        role = Role.FOLLOWER;
        leaderUntil.set(0);
        settled = false;
        metrics.leading(false);
        metrics.layoutSettled(false);
        int interrupted = work.interruptClusterScoped();
        label.leading(false);
        if (!closed) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("reason", why)
                    .addKeyValue("interrupted", interrupted).log("lost coordinator leadership");
        }
        reactor.poke();
    }

    /** Renews the coordinator Lease while leading; call on the lane every retry period. */
    void renew() {
        if (role != Role.LEADER || renewing || lease == null) {
            return;
        }
        renew(lease, true);
    }

    private void renew(Lease base, boolean mayRetry) {
        renewing = true;
        long sent = clock.nanoTime();
        long attempt = campaign;
        String layout = target == null || target.isEmpty() ? null : layoutText(target);
        String settledText = String.valueOf(settled);
        store.update(base, l -> {
            if (layout != null) {
                Leases.annotate(l, LeaseNaming.ANNOTATION_LAYOUT, layout); // for the next coordinator: where this one was going
            }
            Leases.annotate(l, LeaseNaming.ANNOTATION_LAYOUT_SETTLED, settledText); // for operators and flotilla shards
            return Leases.hold(l, holder, leaseSeconds(), wall);
        }).whenComplete((outcome, e) -> lane.execute(() -> renewed(attempt, sent, LeaseWrite.settled(outcome, e), mayRetry)));
    }

    private void renewed(long attempt, long sent, LeaseWrite outcome, boolean mayRetry) {
        renewing = false;
        if (attempt != campaign || role != Role.LEADER) {
            return;
        }
        switch (outcome) {
            case LeaseWrite.Written w -> {
                lease = w.lease();
                if (sent > renewedAtNanos) {
                    renewedAtNanos = sent;
                    leaderUntil.set(sent + renewDeadlineNanos);
                }
            }
            case LeaseWrite.Conflict c -> {
                renewing = true;
                store.get(coordinatorLease).whenComplete((now, error) -> lane.execute(() -> {
                    renewing = false;
                    if (attempt != campaign || role != Role.LEADER) {
                        return;
                    }
                    if (error != null) {
                        metrics.renewalFailed(ShardMetrics.LeaseKind.COORDINATOR); // could not even read it back
                        return;
                    }
                    if (now.isEmpty() || !holder.equals(Leases.holderOf(now.get()))) {
                        stepDown("renewal found the coordinator lease " + now.map(l -> "held by '" + Leases.holderOf(l)
                                + "'").orElse("deleted"));
                    } else if (mayRetry) {
                        renew(now.get(), false);
                    } else {
                        lease = now.get();
                    }
                }));
            }
            case LeaseWrite.Missing m -> stepDown("renewal found the coordinator lease deleted");
            case LeaseWrite.Failed f -> {
                metrics.renewalFailed(ShardMetrics.LeaseKind.COORDINATOR);
                log.atDebug().addKeyValue("error", FailureText.of(f.error()))
                        .log("coordinator renewal failed"); // the deadline steps down if none succeeds in time
            }
        }
    }

    /**
     * Publishes the plan; returns the writes it sent. Each shard Lease carries its hash range; the
     * layout of ranges follows {@link RangePlanner} from the objects the members report. Two rules
     * keep a namespace from two holders across every change of layout:
     * <ul>
     *   <li>a Lease's range is rewritten only while it is quiet: no desired owner, and no holder
     *       that may still work on it (none, or one judged gone by its membership Lease, which the
     *       rewrite then clears);</li>
     *   <li>a Lease gets a desired owner only when every other Lease whose range overlaps its range
     *       is quiet (counting this coordinator's own writes still in flight or not yet seen).</li>
     * </ul>
     * So a range that changes is first handed back (desired owner "" and the holder's release, or
     * its holder's fence), then rewritten, then assigned; ranges that keep their bounds move as before.
     */
    private List<CompletableFuture<Void>> publish(Set<String> live, long[] next) {
        int shards = config.shards();
        long now = clock.nanoTime();
        Map<Integer, String> current = new HashMap<>();
        Map<Integer, LeaseView.Seen> shardLeases = new TreeMap<>();
        boolean missing = false;
        for (int shard = 0; shard < shards; shard++) {
            String name = shardLeaseNames[shard];
            Optional<LeaseView.Seen> seen = view.get(name);
            if (seen.isPresent() && seen.get().deleted() && view.isHeld(seen.get())) {
                // Deleted under a holder that may still be working on it: recreate (free) only once that
                // holder's lease would have expired, or the shard could have two owners.
                shardLeases.put(shard, seen.get()); // and its range stays busy until then
                next[0] = Math.min(next[0], view.expiresAtNanos(seen.get()));
                missing = true;
                continue;
            }
            if (seen.isEmpty() || seen.get().deleted()) {
                missing = true;
                if (publishing.add(shard)) {
                    int created = shard;
                    store.create(Leases.newLease(name, Map.of(LeaseNaming.LABEL_GROUP, config.group(),
                            LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_SHARD, LeaseNaming.LABEL_SHARD, String.valueOf(shard)),
                            Map.of(LeaseNaming.ANNOTATION_SHARDS, String.valueOf(shards))))
                            .whenComplete((o, e) -> lane.execute(() -> {
                                publishing.remove(created);
                                reactor.poke(); // a pass that saw the new Lease before this answer skipped it
                            }));
                }
                continue; // published once the watch shows it
            }
            LeaseView.Seen s = seen.get();
            shardLeases.put(shard, s);
            String desired = s.desiredOwner();
            String holderIdentity = s.holderIdentity();
            boolean holderLive = view.isLive(s);
            if (live.contains(desired)) {
                current.put(shard, desired);
            } else if (live.contains(holderIdentity) && holderLive) {
                current.put(shard, holderIdentity);
            }
            if (!leaving && !holderIdentity.isEmpty() && holderLive && !live.contains(holderIdentity)
                    && warned.add(shard + "/" + s.holder())) {
                log.atWarn().addKeyValue("shard", shard).addKeyValue("holder", s.holder())
                        .log("shard lease is held by someone who is not a live member; it moves when that lease expires");
            }
            if (!leaving && !desired.isEmpty() && !live.contains(desired) && warned.add(shard + "/desired/" + desired)) {
                log.atWarn().addKeyValue("shard", shard).addKeyValue("desiredOwner", desired)
                        .log("shard lease names a desired owner that is not a live member; re-assigning it");
            }
        }
        // Leases of slots beyond the shard count (it was lowered): they are handed back and stay quiet.
        for (LeaseView.Seen s : view.all()) {
            Optional<Integer> slot = naming.shardOf(s.name());
            if (slot.isPresent() && slot.get() >= shards && (!s.deleted() || view.isHeld(s))) {
                shardLeases.put(slot.get(), s);
            }
        }
        if (current.isEmpty() && !leaving && neverHeld(shardLeases)) {
            // A cold start: nobody holds or is assigned anything yet, and no shard was ever held (after an outage
            // that freed every shard the group is not starting: waiting for members to stop joining kept 8 of 8
            // shards unowned for 8 s after the last replica came back, in the simulation). Replicas started together join seconds apart
            // (on two busy cores, three JVMs started at once joined up to 3.6 s apart, and the watch adds its lag);
            // planning for the first would move shards again as each of the others appears. Wait until no member
            // has joined for one lease duration (at most two lease durations after taking the lead). Two retry
            // periods moved shards in 2 of 10 trials.
            long settled = Math.min(membersChangedNanos + config.leaseDuration().toNanos(),
                    ledSinceNanos + config.leaseDuration().toNanos() * 2);
            if (now < settled) {
                next[0] = Math.min(next[0], settled);
                return List.of();
            }
        }
        if (target == null) {
            target = initialLayout(shardLeases);
        }
        boolean moving = missing || target.size() != shards;
        for (int shard = 0; shard < shards && !moving; shard++) {
            LeaseView.Seen s = shardLeases.get(shard);
            moving = s == null || s.deleted() || !s.range().equals(Optional.of(target.get(shard)));
        }
        // A failover first: while a Lease still names a holder (or a desired owner) that is gone, only owners are
        // planned. A range change would add a hand-back, a rewrite and a second assignment to the orphan's path
        // (measured: up to 5.4 s past the dead holder's expiry under load, where an owner move took one write).
        boolean adopting = adopting(shardLeases, live, shards);
        // Nor does a new layout start while membership is still changing: one event changes it more than once (a
        // killed replica's replacement joins, then the dead one expires up to a lease duration after its last renewal;
        // a partitioned one expires, then rejoins a retry period or two after the network heals). Ranges laid out in
        // between are laid out twice, and a live holder's range handed back for a rewrite waits, unowned, for the
        // ranges it overlaps: a dead holder's until it expires (6.5-7.3 s in 6 of 12 seeds of the chaos suite's pod-kill-one), or a
        // failover's fresh takes (one such range unowned 6.5 s past the bound in CI). Owners still move at once.
        long membersSettleAt = membersChangedNanos + layoutSettleNanos();
        boolean settling = now < membersSettleAt && !target.isEmpty();
        if (settling) {
            next[0] = Math.min(next[0], membersSettleAt);
        }
        NamespaceWeights reported = weights(live);
        // Plan from whole counts only: while a member has not yet counted what it holds (just joined, just took a
        // shard), its shards would look empty and the others heavy, and a layout planned from that moves twice.
        boolean whole = reportsCoverHoldings(shardLeases, live);
        if (whole) {
            wholeWeights = reported;
        }
        NamespaceWeights weights = wholeWeights;
        Map<Integer, String> owners = new TreeMap<>(current);
        owners.keySet().removeIf(slot -> slot >= target.size());
        // Owners that follow the last plan (its publishes landing, one by one during a failover) need no new plan:
        // planning is the pass's costly part, and the lane it runs on also takes this replica's shards.
        if (plan == null || !follows(owners, plan) || !live.equals(planLive) || !weights.equals(planWeights)
                || !target.equals(planTarget) || moving != planMoving || adopting != planAdopting
                || settling != planSettling) {
            // While a layout is being moved to, only owners are planned: a new layout waits for this one to land.
            plan = RangePlanner.plan(new RangePlan.Input(target, owners, live, weights, shards,
                    RangePlan.Input.DEFAULT_TOLERANCE,
                    moving || adopting || settling ? 0 : RangePlan.Input.defaultMaxRangeChanges(shards)));
            planLive = Set.copyOf(live);
            planWeights = weights;
            planTarget = target;
            planMoving = moving;
            planAdopting = adopting;
            planSettling = settling;
            if (!plan.layout().equals(target)) {
                log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("rangesChanged", plan.rangeChanged().size())
                        .addKeyValue("objects", weights.total()).addKeyValue("namespaces", weights.size())
                        .addKeyValue("maxOverMean", String.format(java.util.Locale.ROOT, "%.3f", plan.maxOverMean()))
                        .log("new shard layout: ranges weighted by objects");
                metrics.layoutChanged();
                target = plan.layout();
                planTarget = target;
            }
        }
        List<Busy> busy = busy(shardLeases);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        // A capped plan has more to do once this step lands: not settled.
        boolean settledNow = !moving && plan.layout().equals(target) && !plan.capped();
        for (var entry : shardLeases.entrySet()) {
            int shard = entry.getKey();
            LeaseView.Seen s = entry.getValue();
            if (s.deleted() || publishing.contains(shard)) {
                continue;
            }
            long wait = view.writeWaitUntil(s);
            if (now < wait) {
                next[0] = Math.min(next[0], wait); // a write on this version failed: not again at once
                settledNow = false;
                continue;
            }
            String desired = s.desiredOwner();
            if (shard >= shards) {
                settledNow &= desired.isEmpty() && quiet(s);
                if (!desired.isEmpty()) {
                    writes.add(publish(shard, s, desired, "", Optional.empty(), false));
                }
                continue;
            }
            HashRange wanted = target.get(shard);
            String owner = plan.owners().getOrDefault(shard, "");
            settledNow &= desired.equals(owner) && s.holderIdentity().equals(owner) && view.isLive(s);
            if (s.range().equals(Optional.of(wanted))) {
                // A holder judged gone is cleared with the assignment, as a range rewrite clears it: the taker's own
                // view may count that holder live much longer (one that joined after the holder's last renewal counts
                // it from when it first saw the Lease, and cannot know better), and would wait that long to take it
                // (measured: 15 s after a SIGKILL of 2 of 3 at a 10 s lease, their replacements having joined 4 s in).
                boolean holderGone = !s.holder().isEmpty() && view.holderGone(s);
                if ((!desired.equals(owner) || holderGone) && (owner.isEmpty() || clear(busy, shard, wanted))) {
                    writes.add(publish(shard, s, desired, owner, Optional.empty(), holderGone));
                    if (!owner.isEmpty()) {
                        busy.add(new Busy(shard, Optional.of(wanted)));
                    }
                }
            } else if (!desired.isEmpty()) {
                writes.add(publish(shard, s, desired, "", Optional.empty(), false)); // hand it back before its range changes
            } else if (!quiet(s)) {
                next[0] = Math.min(next[0], view.holderLiveUntil(s)); // its holder releases (news) or is judged gone
            } else if (clear(busy, shard, wanted)) {
                writes.add(publish(shard, s, desired, owner, Optional.of(wanted), !s.holder().isEmpty()));
                if (!owner.isEmpty()) {
                    busy.add(new Busy(shard, Optional.of(wanted)));
                }
            }
        }
        settled = settledNow && writes.isEmpty() && whole;
        metrics.layoutSettled(settled);
        return writes;
    }

    /** Whether none of these shard Leases was ever held (a group starting for the first time). */
    private static boolean neverHeld(Map<Integer, LeaseView.Seen> shardLeases) {
        for (LeaseView.Seen s : shardLeases.values()) {
            var spec = s.lease().getSpec();
            if (spec != null && (spec.getLeaseTransitions() != null || spec.getAcquireTime() != null)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether some shard of the group still names a holder that is not a live member, or, with no holder, a desired
     * owner that is not: shards a failover has yet to place with a live member.
     */
    private static boolean adopting(Map<Integer, LeaseView.Seen> shardLeases, Set<String> live, int shards) {
        for (var e : shardLeases.entrySet()) {
            LeaseView.Seen s = e.getValue();
            if (e.getKey() >= shards || s.deleted()) {
                continue;
            }
            String holder = s.holderIdentity();
            String desired = s.desiredOwner();
            if (holder.isEmpty() ? !desired.isEmpty() && !live.contains(desired) : !live.contains(holder)) {
                return true;
            }
        }
        return false;
    }

    /** Whether every live member's last report counted exactly the ranges it holds: the weights planned from are whole. */
    private boolean reportsCoverHoldings(Map<Integer, LeaseView.Seen> shardLeases, Set<String> live) {
        Map<String, Set<String>> held = new HashMap<>();
        for (String m : live) {
            held.put(m, new TreeSet<>());
        }
        for (LeaseView.Seen s : shardLeases.values()) {
            Set<String> of = held.get(s.holderIdentity());
            if (of != null && s.range().isPresent()) {
                of.add(s.range().get().text());
            }
        }
        for (var e : held.entrySet()) {
            Optional<LeaseView.Seen> member = view.get(naming.memberLease(e.getKey()));
            String reported = member.map(m -> m.annotation(LeaseNaming.ANNOTATION_OBJECTS_OF)).orElse("");
            Set<String> counted = reported.isEmpty() ? Set.of() : new TreeSet<>(List.of(reported.split(",")));
            if (!counted.equals(e.getValue())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Leading, and the last pass found the layout it plans for in place: every shard held by its
     * planned owner, no range move pending, and every member's object counts covering what it holds
     * (so a new count would be needed to change the plan). For operators (a gauge) and tests.
     */
    boolean isSettled() {
        return role == Role.LEADER && settled;
    }

    /** Whether every owner in {@code owners} is the one {@code plan} gives its shard. */
    private static boolean follows(Map<Integer, String> owners, RangePlan plan) {
        for (var e : owners.entrySet()) {
            if (!e.getValue().equals(plan.owners().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** A shard Lease someone may work on, or is about to (a range empty when it cannot be read: it overlaps everything). */
    private record Busy(int shard, Optional<HashRange> range) {
    }

    /** The Leases that are not quiet, and the ones this coordinator has assigned but not yet seen assigned. */
    private List<Busy> busy(Map<Integer, LeaseView.Seen> shardLeases) {
        List<Busy> out = new ArrayList<>();
        for (var entry : shardLeases.entrySet()) {
            LeaseView.Seen s = entry.getValue();
            Assigned a = assigned.get(entry.getKey());
            if (a != null && (a.version() == null || !(s.hasSeen(a.version())))) {
                out.add(new Busy(entry.getKey(), Optional.of(a.range())));
            } else if (a != null) {
                assigned.remove(entry.getKey());
            }
            if (!quiet(s)) {
                out.add(new Busy(entry.getKey(), s.range()));
            }
        }
        return out;
    }

    /** Whether no Lease other than {@code shard}'s that overlaps {@code range} is busy. */
    private static boolean clear(List<Busy> busy, int shard, HashRange range) {
        for (Busy b : busy) {
            if (b.shard() != shard && (b.range().isEmpty() || b.range().get().overlaps(range))) {
                return false;
            }
        }
        return true;
    }

    /** Nobody is assigned a Lease, nor may still work on it (no holder, or one judged gone). */
    private boolean quiet(LeaseView.Seen s) {
        if (s.deleted()) {
            return !view.isHeld(s);
        }
        return s.desiredOwner().isEmpty() && (s.holder().isEmpty() || view.holderGone(s));
    }

    /**
     * The layout to start from on taking the lead: the one the previous coordinator was moving to
     * (its Lease's {@link LeaseNaming#ANNOTATION_LAYOUT}), else the shard Leases' ranges if they
     * partition the hash space, else none (the planner lays the ranges out afresh).
     */
    private List<HashRange> initialLayout(Map<Integer, LeaseView.Seen> shardLeases) {
        String recorded = lease == null || lease.getMetadata().getAnnotations() == null ? ""
                : lease.getMetadata().getAnnotations().getOrDefault(LeaseNaming.ANNOTATION_LAYOUT, "");
        if (!recorded.isEmpty()) {
            try {
                List<HashRange> layout = java.util.Arrays.stream(recorded.split(",")).map(HashRange::parse).toList();
                RangePlan.checkPartition(layout);
                return layout;
            } catch (IllegalArgumentException e) {
                log.atWarn().addKeyValue("lease", coordinatorLease).addKeyValue("error", e.getMessage())
                        .log("the coordinator lease's layout cannot be read; starting from the shard leases' ranges");
            }
        }
        List<HashRange> fromLeases = new ArrayList<>();
        for (int shard = 0; shard < config.shards(); shard++) {
            LeaseView.Seen s = shardLeases.get(shard);
            if (s == null || s.deleted() || s.range().isEmpty()) {
                return List.of();
            }
            fromLeases.add(s.range().get());
        }
        try {
            RangePlan.checkPartition(fromLeases);
            return fromLeases;
        } catch (IllegalArgumentException e) {
            return List.of();
        }
    }

    /**
     * Objects per namespace hash, from the members' reports (a gone member's last one too). A
     * report replaces what was known only within the ranges it counted, so a namespace of a shard
     * being handed over keeps its last count until its new holder reports it.
     */
    private NamespaceWeights weights(Set<String> live) {
        boolean changed = false;
        // A member that is gone still tells what its shards weigh (a failover plans with it); the live ones' newer
        // counts are applied after it.
        List<LeaseView.Seen> members = new ArrayList<>();
        for (LeaseView.Seen s : view.all()) {
            if (!s.member().isEmpty() && !s.deleted()) {
                members.add(s);
            }
        }
        members.sort(java.util.Comparator.comparing((LeaseView.Seen s) -> live.contains(s.member())));
        for (LeaseView.Seen s : members) {
            String objects = s.annotation(LeaseNaming.ANNOTATION_OBJECTS);
            String of = s.annotation(LeaseNaming.ANNOTATION_OBJECTS_OF);
            String report = of + "|" + objects;
            if (report.equals(appliedReports.get(s.member()))) {
                continue;
            }
            appliedReports.put(s.member(), report);
            try {
                List<HashRange> counted = of.isEmpty() ? List.of()
                        : java.util.Arrays.stream(of.split(",")).map(HashRange::parse).toList();
                NamespaceWeights reported = NamespaceWeights.parse(objects);
                for (HashRange r : counted) {
                    known.subMap(r.first(), true, r.last(), true).clear();
                }
                for (int i = 0; i < reported.size(); i++) {
                    long hash = reported.hash(i);
                    if (counted.stream().anyMatch(r -> r.contains(hash))) {
                        known.put(hash, reported.weight(i));
                    }
                }
                changed = true;
            } catch (IllegalArgumentException e) {
                if (warned.add("objects/" + s.member() + "/" + report.hashCode())) {
                    log.atWarn().addKeyValue("member", s.member()).addKeyValue("error", e.getMessage())
                            .log("a member's object counts cannot be read; its shards keep their last known counts");
                }
            }
        }
        if (changed) {
            knownWeights = NamespaceWeights.ofHashes(known);
        }
        return knownWeights;
    }

    /** The layout as {@link LeaseNaming#ANNOTATION_LAYOUT} records it. */
    private static String layoutText(List<HashRange> layout) {
        return String.join(",", layout.stream().map(HashRange::text).toList());
    }

    /** Writes one shard's desired owner (and, on a quiet Lease, its new range, clearing a holder judged gone). */
    private CompletableFuture<Void> publish(int shard, LeaseView.Seen s, String before, String after,
            Optional<HashRange> range, boolean clearHolder) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        publishing.add(shard);
        if (!after.isEmpty()) {
            assigned.put(shard, new Assigned(range.or(s::range).orElseThrow(), null));
        }
        Optional<HashRange> from = s.range();
        store.update(s.lease(), l -> {
            Leases.annotate(l, LeaseNaming.ANNOTATION_DESIRED_OWNER, after);
            range.ifPresent(r -> Leases.annotate(l, LeaseNaming.ANNOTATION_RANGE, r.text()));
            if (clearHolder) {
                Leases.release(l);
            }
            return Leases.annotate(l, LeaseNaming.ANNOTATION_SHARDS, String.valueOf(config.shards()));
        }).whenComplete((outcome, e) -> lane.execute(() -> {
            publishing.remove(shard);
            LeaseWrite settled = LeaseWrite.settled(outcome, e);
            if (!(settled instanceof LeaseWrite.Written)) {
                view.writeFailed(s, clock.nanoTime() + config.retryPeriod().toNanos());
            }
            if (settled instanceof LeaseWrite.Written w && !after.isEmpty()) {
                assigned.put(shard, new Assigned(range.or(s::range).orElseThrow(), Leases.resourceVersion(w.lease())));
            } else if (!after.isEmpty()) {
                // Not written: the view shows what is; the next pass decides again on it.
                assigned.remove(shard);
            }
            switch (settled) {
                case LeaseWrite.Written w -> {
                    if (range.isPresent()) {
                        log.atInfo().addKeyValue("shard", shard).addKeyValue("from", from.map(HashRange::text).orElse("-"))
                                .addKeyValue("to", range.get().text()).addKeyValue("owner", after.isEmpty() ? "-" : after)
                                .addKeyValue("replica", config.identity()).log("shard range changed");
                    }
                    log.atInfo().addKeyValue("shard", shard).addKeyValue("from", before.isEmpty() ? "-" : before)
                            .addKeyValue("to", after.isEmpty() ? "-" : after).addKeyValue("replica", config.identity())
                            .log("shard assigned");
                    if (!before.isEmpty()) {
                        metrics.moved();
                    }
                    reactor.poke(); // a pass while this write was in flight skipped the shard
                }
                case LeaseWrite.Failed f -> {
                    log.atWarn().addKeyValue("shard", shard).addKeyValue("error", FailureText.of(f.error()))
                            .log("could not publish a shard's owner; retrying");
                    reactor.poke();
                }
                case LeaseWrite.Conflict c -> reactor.poke(); // someone wrote in between: publish again on the fresh Lease
                case LeaseWrite.Missing m -> reactor.poke();
            }
            done.complete(null);
        }));
        return done;
    }

    /**
     * Plans without this replica (a graceful leave), so that its shards move before it lets go;
     * completes once those writes have landed. Leadership is kept until {@link #resign}.
     */
    CompletableFuture<Void> leave() {
        leaving = true;
        if (role != Role.LEADER) {
            return CompletableFuture.completedFuture(null);
        }
        long[] ignored = {Long.MAX_VALUE};
        Set<String> live = liveMembers(ignored);
        live.remove(config.identity());
        List<CompletableFuture<Void>> writes = publish(live, ignored);
        return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new));
    }

    /**
     * Gives leadership up gracefully: cluster-scoped keys are refused and their reconciles drained
     * first, then the Lease is freed so another replica takes over at once. Call on the lane.
     */
    CompletableFuture<Void> resign() {
        closed = true;
        if (role == Role.CAMPAIGNING) {
            // A campaign write is out: wait for its answer, then free the Lease if it won.
            CompletableFuture<Void> done = new CompletableFuture<>();
            campaignSettled.whenComplete((x, e) -> lane.execute(() -> resign().whenComplete((y, f) -> done.complete(null))));
            return done;
        }
        if (lease == null || (role != Role.LEADER && !holder.equals(Leases.holderOf(lease)))) {
            role = Role.FOLLOWER;
            return CompletableFuture.completedFuture(null);
        }
        boolean wasLeading = role == Role.LEADER;
        role = Role.FOLLOWER;
        leaderUntil.set(0);
        metrics.leading(false);
        metrics.layoutSettled(false);
        // Removed before the Lease is freed (after the drain), so the next coordinator's label usually comes after it.
        label.leading(false);
        CompletableFuture<Boolean> drained = wasLeading ? work.drainClusterScoped(config.drainTimeout())
                : CompletableFuture.completedFuture(true);
        CompletableFuture<Void> done = new CompletableFuture<>();
        Lease base = lease;
        drained.whenComplete((idle, error) -> lane.execute(() -> {
            if (error != null || !Boolean.TRUE.equals(idle)) {
                done.complete(null); // a cluster-scoped reconcile would not stop: let the Lease expire instead
                return;
            }
            Leases.releaseHeld(store, coordinatorLease, base, holder, Leases.RELEASE_ATTEMPTS)
                    .whenComplete((o, e) -> done.complete(null));
        }));
        return done;
    }

    /** Refuses cluster-scoped keys at once; any thread (abandon closes the gate before anything else runs). */
    void refuse() {
        refused = true;
        leaderUntil.set(0);
    }

    /**
     * Stops at once without releasing the Lease, as a crash would; the label stays too (another incarnation in this
     * Pod may lead already when this one learns its identity was taken).
     */
    void abandon() {
        closed = true;
        role = Role.FOLLOWER;
        leaderUntil.set(0);
        metrics.leading(false);
        metrics.layoutSettled(false);
    }

    /**
     * How long membership must stay unchanged before a new layout may change ranges, counted from the last change (a
     * coordinator that just took the lead counts from its first pass): a lease duration, since a killed replica expires
     * up to that long after its last renewal (its replacement has often joined by then), plus two retry periods, for a
     * replica back from a partition to renew and be seen. Past the chaos suite's ownership bound (lease + one retry
     * period) from a fault's end, so no range is handed back in the span that bound judges.
     */
    private long layoutSettleNanos() {
        return config.leaseDuration().plus(config.retryPeriod().multipliedBy(2)).toNanos();
    }

    private int leaseSeconds() {
        return (int) config.leaseDuration().toSeconds();
    }
}
