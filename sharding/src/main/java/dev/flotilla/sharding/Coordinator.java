package dev.flotilla.sharding;

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
    /** The last plan and what it was computed from: most passes (renewals) change neither. */
    private Map<Integer, String> planFor = Map.of();
    private Set<String> planLive = Set.of();
    private Map<Integer, String> plan = Map.of();    private final String holder;
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

    Coordinator(ShardingConfig config, String holder, NodePorts ports, ShardWork work, ShardMetrics metrics) {
        this.config = config;
        LeaseNaming naming = new LeaseNaming(config.group());
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
            run(store.create(Leases.hold(fresh, holder, leaseSeconds(), wall)));
            return;
        }
        LeaseView.Seen c = seen.get();
        if (c.holder().isEmpty() || !view.isHeld(c) || holder.equals(c.holder()) || view.isGone(c.holder())) {
            run(store.update(c.lease(), l -> Leases.hold(l, holder, leaseSeconds(), wall)));
        } else {
            next[0] = Math.min(next[0], view.expiresAtNanos(c));
        }
    }

    private void run(CompletableFuture<LeaseWrite> write) {
        role = Role.CAMPAIGNING;
        long attempt = ++campaign;
        long sent = clock.nanoTime();
        CompletableFuture<Void> settled = new CompletableFuture<>();
        campaignSettled = settled;
        write.whenComplete((outcome, e) -> lane.execute(() -> {
            try {
                campaigned(attempt, sent, LeaseWrite.settled(outcome, e));
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
        leaderUntil.set(sent + renewDeadlineNanos);
        metrics.leading(true);
        log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("lease", coordinatorLease)
                .log("became coordinator");
        work.admitClusterScoped();
        reactor.poke();
    }

    private void stepDown(String why) {
        role = Role.FOLLOWER;
        leaderUntil.set(0);
        metrics.leading(false);
        int interrupted = work.interruptClusterScoped();
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
        store.update(base, l -> Leases.hold(l, holder, leaseSeconds(), wall))
                .whenComplete((outcome, e) -> lane.execute(() -> renewed(attempt, sent, LeaseWrite.settled(outcome, e), mayRetry)));
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
                    if (attempt != campaign || role != Role.LEADER || error != null) {
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
            case LeaseWrite.Failed f -> log.atDebug().addKeyValue("error", f.error().toString())
                    .log("coordinator renewal failed"); // the deadline steps down if none succeeds in time
        }
    }

    /** Publishes the plan; returns the writes it sent. */
    private List<CompletableFuture<Void>> publish(Set<String> live, long[] next) {
        int shards = config.shards();
        Map<Integer, String> current = new HashMap<>();
        Map<Integer, LeaseView.Seen> shardLeases = new HashMap<>();
        for (int shard = 0; shard < shards; shard++) {
            String name = shardLeaseNames[shard];
            Optional<LeaseView.Seen> seen = view.get(name);
            if (seen.isPresent() && seen.get().deleted() && view.isHeld(seen.get())) {
                // Deleted under a holder that may still be working on it: recreate (free) only once that
                // holder's lease would have expired, or the shard could have two owners.
                next[0] = Math.min(next[0], view.expiresAtNanos(seen.get()));
                continue;
            }
            if (seen.isEmpty() || seen.get().deleted()) {
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
        if (current.isEmpty() && !leaving) {
            // A cold start: nobody holds or is assigned anything yet. Replicas started together join seconds apart
            // (on two busy cores, three JVMs started at once joined up to 3.6 s apart, and the watch adds its lag);
            // planning for the first would move shards again as each of the others appears. Wait until no member
            // has joined for one lease duration (at most two lease durations after taking the lead). Two retry
            // periods moved shards in 2 of 10 trials.
            long settled = Math.min(membersChangedNanos + config.leaseDuration().toNanos(),
                    ledSinceNanos + config.leaseDuration().toNanos() * 2);
            if (clock.nanoTime() < settled) {
                next[0] = Math.min(next[0], settled);
                return List.of();
            }
        }
        if (!current.equals(planFor) || !live.equals(planLive)) {
            plan = ShardAssigner.plan(shards, current, live);
            planFor = current;
            planLive = Set.copyOf(live);
        }
        // One write per changed shard, all at once: a member leaving moves a third of the shards.
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (var entry : shardLeases.entrySet()) {
            int shard = entry.getKey();
            LeaseView.Seen s = entry.getValue();
            String before = s.desiredOwner();
            String after = plan.getOrDefault(shard, "");
            if (!before.equals(after) && publishing.add(shard)) {
                writes.add(publish(shard, s, before, after));
            }
        }
        return writes;
    }

    /** Writes one shard's desired owner. */
    private CompletableFuture<Void> publish(int shard, LeaseView.Seen s, String before, String after) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        store.update(s.lease(), l -> {
            Leases.annotate(l, LeaseNaming.ANNOTATION_DESIRED_OWNER, after);
            return Leases.annotate(l, LeaseNaming.ANNOTATION_SHARDS, String.valueOf(config.shards()));
        }).whenComplete((outcome, e) -> lane.execute(() -> {
            publishing.remove(shard);
            switch (LeaseWrite.settled(outcome, e)) {
                case LeaseWrite.Written w -> {
                    log.atInfo().addKeyValue("shard", shard).addKeyValue("from", before.isEmpty() ? "-" : before)
                            .addKeyValue("to", after.isEmpty() ? "-" : after).addKeyValue("replica", config.identity())
                            .log("shard assigned");
                    if (!before.isEmpty()) {
                        metrics.moved();
                    }
                    reactor.poke(); // a pass while this write was in flight skipped the shard
                }
                case LeaseWrite.Failed f -> {
                    log.atWarn().addKeyValue("shard", shard).addKeyValue("error", f.error().toString())
                            .log("could not publish a shard's owner; retrying");
                    reactor.poke();
                }
                case LeaseWrite.Conflict c -> reactor.poke(); // someone renewed in between: publish again on the fresh Lease
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

    /** Stops at once without releasing the Lease, as a crash would. */
    void abandon() {
        closed = true;
        role = Role.FOLLOWER;
        leaderUntil.set(0);
        metrics.leading(false);
    }

    private int leaseSeconds() {
        return (int) config.leaseDuration().toSeconds();
    }
}
