package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.logging.RepeatingFailures;
import dev.flotilla.sharding.audit.AuditTrail;
import dev.flotilla.sharding.audit.LeaseTransition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shard Lease state machine: the shards this replica holds, and the only place that changes
 * that. A shard is taken when the coordinator names this replica and its Lease is free or its
 * holder is gone ({@link LeaseView#holderLiveUntil}: judged by the holder's membership Lease); it
 * is worked on only while a renewal of this replica's membership Lease sent less than the renew
 * deadline ago succeeded ({@link #memberRenewed}), measured on the {@link MonotonicClock}, so a
 * frozen process or a stepped wall clock cannot stretch it. Shard Leases are written only on
 * handover (take, release): steady-state Lease traffic is one renewal per member.
 *
 * <pre>
 *  NONE --desired here, Lease free/expired--> ACQUIRING --written--> SYNCING --caches synced--> ACTIVE
 *    ^                                            |  conflict/failed                 |             |
 *    +--------------------------------------------+                                  |  desired elsewhere
 *    +<--- fence: deadline passed, Lease names another holder, Lease deleted --------+             v
 *    +<--- released (or left to expire if a reconcile would not stop) ------------ RELEASING <-----+
 * </pre>
 *
 * All state is confined to the replica's {@link Lane}; requests and drains complete elsewhere and
 * post their outcome back. Only {@link #admits} is called from other threads (the key gate), and
 * it reads one atomic deadline per shard.
 */
@OnPorts
final class ShardOwnership {

    private static final Logger log = LoggerFactory.getLogger(ShardOwnership.class);

    /**
     * Writes to a shard stop this long before its renew deadline (at most half the time between the
     * retry period and the deadline): a write sent a moment before the deadline still has the
     * lease margin ({@link ShardingConfig#MIN_LEASE_MARGIN}) plus this to reach the API server.
     */
    static final Duration WRITE_MARGIN = Duration.ofMillis(500);

    /**
     * How long a newly held shard's caches may take to sync before the shard is handed back: 60 s, or what the JVM's
     * {@value #SYNC_TIMEOUT_PROPERTY} system property says (an ISO-8601 duration; tests of the sync failures shorten it).
     */
    static final Duration SYNC_TIMEOUT = RepeatingFailures.durationProperty(ShardOwnership.SYNC_TIMEOUT_PROPERTY,
            Duration.ofSeconds(60));
    static final String SYNC_TIMEOUT_PROPERTY = "flotilla.sharding.syncTimeout";

    enum Phase { NONE, ACQUIRING, SYNCING, ACTIVE, RELEASING }

    private static final class Slot {
        Phase phase = Phase.NONE;
        /** Bumped on every acquisition, so that a late outcome of an earlier tenure is ignored. */
        long generation;
        /** The Lease as this replica last wrote it. */
        Lease lease;
        /** RELEASING and drained: the release write is under way. */
        boolean freeing;
        /** Whether the Lease names this replica, as far as its own writes tell (taken, and not yet freed). */
        boolean named;
        /**
         * When a tenure ended without a clean release (fenced, or a reconcile or write would not end): a
         * write it sent may still be on its way, so the Lease, which still names this replica (whose live
         * membership keeps it from the others), is freed only from this instant on (monotonic, one lease
         * duration later: when protocol 1 let an unrenewed shard Lease expire). 0: nothing pending.
         */
        long quietAfterNanos;
        /** A late free of a Lease left naming this replica is on the wire. */
        boolean freeingLate;
        long freeSinceNanos = -1;
        /** Handed back because its caches did not sync: the sync streak's lines say so, the release logs at DEBUG. */
        boolean quietRelease;
        CompletableFuture<Void> released = CompletableFuture.completedFuture(null);
    }

    private final ShardingConfig config;
    private final String holder;
    private final MonotonicClock clock;
    private final Clock wall;
    private final Lane lane;
    private final LeaseStore store;
    private final LeaseView view;
    private final ShardWork work;
    private final ShardMetrics metrics;
    private final AuditTrail trail;
    /** Every slot a coordinator may publish (up to {@link ShardSpace#MAX_SHARDS}): its shard count may differ from ours. */
    private final Slot[] slots;
    private final HeldRanges ranges;
    /** The shard Leases' names, made once: every pass looks up all of them. */
    private final String[] leaseNames;
    /** Per shard, the monotonic instant until which its keys are admitted; 0 when refused. */
    private final AtomicLongArray admitUntil;
    private final Reactor reactor;
    private final long renewDeadlineNanos;
    /** How long before a shard's renew deadline writes stop being sent; see {@link #WRITE_MARGIN}. */
    private final long writeMarginNanos;
    private final ShardWrites writes;
    private volatile Set<Integer> active = Set.of();
    /** Shards whose unreadable range was logged (once per shard until it is taken). */
    private final Set<Integer> warnedRange = new java.util.HashSet<>();
    /**
     * Shards whose caches keep failing to sync (a list refused on every retry): handed back and taken again once a
     * SYNC_TIMEOUT, which is one line when it starts and a reminder a minute (the configured reminder period), not lines
     * per shard per cycle.
     */
    private final RepeatingFailures syncFailures;
    /** Set once by refuseAll (any thread): from then on nothing is admitted, whatever the lane still does. */
    private volatile boolean refused;
    private boolean stopping;
    /** Send time (monotonic) of the last successful write of this replica's membership Lease; the shards' fence. */
    private long memberRenewedAtNanos;
    private boolean memberRenewed;


    ShardOwnership(ShardingConfig config, String holder, NodePorts ports, ShardWork work, ShardMetrics metrics,
            AuditTrail trail, HeldRanges ranges) {
        this.config = config;
        this.holder = holder;
        this.clock = ports.clock();
        this.syncFailures = new RepeatingFailures(log, RepeatingFailures.configuredReminder(), clock::nanoTime);
        this.wall = ports.wall();
        this.lane = ports.lane();
        this.store = ports.store();
        this.view = ports.view();
        this.work = work;
        this.metrics = metrics;
        this.trail = trail;
        this.ranges = ranges;
        this.slots = new Slot[ShardSpace.MAX_SHARDS];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot();
        }
        this.leaseNames = new LeaseNaming(config.group()).shardLeases(ShardSpace.MAX_SHARDS);
        this.admitUntil = new AtomicLongArray(ShardSpace.MAX_SHARDS);
        this.renewDeadlineNanos = config.renewDeadline().toNanos();
        // Never more than half the slack between renewals and the deadline, or a write would wait for every renewal.
        this.writeMarginNanos = Math.min(WRITE_MARGIN.toNanos(), config.renewDeadline().minus(config.retryPeriod()).toNanos() / 2);
        this.writes = new ShardWrites(ShardSpace.MAX_SHARDS);
        this.reactor = new Reactor(lane, clock, this::pass, config.retryPeriod());
    }

    /** When the last successful membership renewal was sent (monotonic); {@code Long.MIN_VALUE} before the first. Lane. */
    long memberRenewedSentNanos() {
        return memberRenewed ? memberRenewedAtNanos : Long.MIN_VALUE;
    }

    /**
     * This replica's membership Lease was written successfully, the write sent at {@code sentNanos}:
     * every active shard is admitted until then plus the renew deadline. On the lane.
     */
    void memberRenewed(long sentNanos) {
        if (memberRenewed && sentNanos <= memberRenewedAtNanos) {
            return;
        }
        boolean couldNotTake = clock.nanoTime() >= memberDeadline() - writeMarginNanos;
        memberRenewed = true;
        memberRenewedAtNanos = sentNanos;
        if (couldNotTake) {
            reactor.poke(); // a pass may have skipped a shard desired here for want of a fresh membership
        }
        long until = sentNanos + renewDeadlineNanos;
        for (int shard = 0; shard < slots.length; shard++) {
            if (slots[shard].phase == Phase.ACTIVE) {
                admitUntil.set(shard, until);
            }
        }
    }

    /** The instant the shards' fence falls: the last membership renewal's send time plus the renew deadline (0: none yet). */
    private long memberDeadline() {
        return memberRenewed ? memberRenewedAtNanos + renewDeadlineNanos : 0;
    }

    /**
     * Whether no shard Lease names this replica any more (as far as its own writes tell): only then
     * may a leave free the membership Lease, since the others judge a shard's holder by it.
     */
    boolean releasedEveryShard() {
        for (Slot slot : slots) {
            if (slot.named) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code shard}'s keys are worked on now: active, and the membership renewed within the renew deadline. Any thread. */
    boolean admits(int shard) {
        return shard >= 0 && !refused && clock.nanoTime() < admitUntil.get(shard);
    }

    /**
     * The write fence for {@code shard}: admitted while the shard is active and its renew deadline is
     * more than the write margin away; the admitted write counts as in flight until its {@code done}
     * runs, and is cancelled if the shard is fenced first. Any thread.
     */
    dev.flotilla.core.fence.Admission admitWrite(int shard, Runnable cancel) {
        if (shard < 0) {
            return new dev.flotilla.core.fence.Admission.Refused("the namespace lies in no shard replica '"
                    + config.identity() + "' holds");
        }
        ShardWrites.Write write = writes.register(shard, cancel); // before the look: a fence then cancels it
        long until = admitUntil.get(shard);
        if (refused || until == 0 || clock.nanoTime() >= until - writeMarginNanos) {
            write.done();
            return new dev.flotilla.core.fence.Admission.Refused("shard " + shard + " is not held by replica '"
                    + config.identity() + "'" + (until == 0 || refused ? "" : " with " + Duration.ofNanos(writeMarginNanos).toMillis()
                    + " ms to spare before its renew deadline"));
        }
        return new dev.flotilla.core.fence.Admission.Admitted(write::done);
    }

    /** Writes in flight on {@code shard}; for tests. */
    int writesInFlight(int shard) {
        return writes.inFlight(shard);
    }

    /** The monotonic instant until which {@code shard} is admitted (0: refused); for the simulation's checks. */
    long admittedUntil(int shard) {
        return admitUntil.get(shard);
    }

    /** Shards whose keys this replica works on now. Any thread. */
    Set<Integer> active() {
        return active;
    }

    void start() {
        // News about any shard, and every change of a shard that is, was or is to be ours (our own writes
        // arriving tell a pass that skipped a shard for not having seen them yet that it may decide now).
        view.onChange((before, after) -> {
            if (view.isNews(before, after) || holder.equals(after.holder()) || config.identity().equals(after.desiredOwner())) {
                reactor.poke();
            }
        });
        reactor.poke();
    }

    void poke() {
        reactor.poke();
    }

    /** One decision pass over every shard; returns when it next needs to look (an expiry or a deadline). */
    private OptionalLong pass() {
        if (stopping) {
            return OptionalLong.empty();
        }
        syncFailures.sweep();
        long now = clock.nanoTime();
        long next = Long.MAX_VALUE;
        long deadline = memberDeadline();
        String expiredWhy = "no renewal of the membership lease succeeded within the renew deadline of " + config.renewDeadline();
        List<Integer> expired = new ArrayList<>();
        int[] expiredCounts = {0, 0};
        for (int shard = 0; shard < slots.length; shard++) {
            Slot slot = slots[shard];
            if (slot.phase == Phase.SYNCING || slot.phase == Phase.ACTIVE) {
                if (now >= deadline) {
                    // Every held shard at once: each fenced now, all of them in one log line after the pass.
                    int[] counts = fence(shard, expiredWhy, true, false);
                    if (counts != null) {
                        expired.add(shard);
                        expiredCounts[0] += counts[0];
                        expiredCounts[1] += counts[1];
                    }
                    continue;
                }
                next = Math.min(next, deadline);
            }
            Optional<LeaseView.Seen> seen = view.get(leaseNames[shard]);
            if (seen.isEmpty()) {
                continue;
            }
            LeaseView.Seen s = seen.get();
            if (s.deleted()) {
                if (slot.phase == Phase.SYNCING || slot.phase == Phase.ACTIVE) {
                    slots[shard].named = false;
                    fence(shard, "the shard lease was deleted");
                }
                continue;
            }
            String desired = s.desiredOwner();
            boolean mine = holder.equals(s.holder());
            switch (slot.phase) {
                case SYNCING, ACTIVE -> {
                    // The watch may not have delivered our own last write yet: an older state is no news.
                    if (slot.lease != null && !s.hasSeen(Leases.resourceVersion(slot.lease))) {
                        continue;
                    }
                    if (!mine) {
                        slot.named = false;
                        fence(shard, "the shard lease now names holder '" + s.holder() + "', not this replica");
                    } else if (!desired.equals(config.identity())) {
                        giveUp(shard, desired);
                    }
                }
                case NONE -> {
                    if (!mine && slot.named && (slot.lease == null || s.hasSeen(Leases.resourceVersion(slot.lease)))) {
                        slot.named = false; // freed for us (the coordinator re-ranging it) or taken since our fenced tenure
                    }
                    if (mine && !desired.equals(config.identity()) && !slot.freeingLate) {
                        // Ours in name only: a tenure that ended without a clean release waits out its quiet time; otherwise
                        // (the watch has not shown our own release yet, or a take whose answer was lost did land) a retry
                        // period lets the watch catch up first: this replica never worked on the shard since.
                        if (slot.quietAfterNanos == 0) {
                            slot.quietAfterNanos = now + config.retryPeriod().toNanos();
                        }
                        if (now >= slot.quietAfterNanos) {
                            freeLate(shard, s);
                        } else {
                            next = Math.min(next, slot.quietAfterNanos);
                        }
                    } else if (desired.equals(config.identity()) && now < deadline - writeMarginNanos) {
                        long holderUntil = mine ? 0 : view.holderLiveUntil(s);
                        long writeWait = view.writeWaitUntil(s);
                        if (s.range().isEmpty()) {
                            if (warnedRange.add(shard)) {
                                log.atError().addKeyValue("shard", shard).addKeyValue("lease", s.name())
                                        .addKeyValue("range", s.annotation(LeaseNaming.ANNOTATION_RANGE))
                                        .log("shard lease names this replica but its range cannot be read; not taking it");
                            }
                        } else if (now < writeWait) {
                            next = Math.min(next, writeWait); // a take on this version failed: not again at once
                        } else if (view.judgedNow() >= holderUntil) {
                            acquire(shard, s);
                        } else {
                            next = Math.min(next, holderUntil);
                        }
                    }
                }
                case ACQUIRING, RELEASING -> {
                    // an outcome is on its way
                }
            }
        }
        logFenced(expired, expiredWhy, expiredCounts[0], expiredCounts[1]);
        return next == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(next);
    }

    private void acquire(int shard, LeaseView.Seen s) {
        Slot slot = slots[shard];
        slot.phase = Phase.ACQUIRING;
        long generation = ++slot.generation;
        slot.freeing = false;
        long sent = clock.nanoTime();
        store.update(s.lease(), l -> Leases.hold(l, holder, leaseSeconds(), wall))
                .whenComplete((outcome, error) -> lane.execute(() -> acquired(shard, generation, sent, s, LeaseWrite.settled(outcome, error))));
    }

    private void acquired(int shard, long generation, long sent, LeaseView.Seen s, LeaseWrite outcome) {
        Slot slot = slots[shard];
        if (slot.generation != generation || slot.phase != Phase.ACQUIRING) {
            return;
        }
        if (!(outcome instanceof LeaseWrite.Written written)) {
            if (outcome instanceof LeaseWrite.Failed f) {
                metrics.renewalFailed(ShardMetrics.LeaseKind.SHARD);
                log.atDebug().addKeyValue("shard", shard).addKeyValue("error", FailureText.of(f.error()))
                        .log("could not take a shard lease");
            }
            view.writeFailed(s, clock.nanoTime() + config.retryPeriod().toNanos());
            slot.phase = Phase.NONE;
            slot.released.complete(null); // a leave waiting for this shard has nothing to wait for
            reactor.poke(); // the Lease changed under us, or the request failed: decide again on the fresh view
            return;
        }
        slot.phase = Phase.SYNCING;
        slot.lease = written.lease();
        // The range of the version we wrote on (the write was conditional on it): fixed for this tenure.
        ranges.put(shard, s.range().orElseThrow());
        warnedRange.remove(shard);
        slot.named = true;
        slot.quietAfterNanos = 0; // this tenure ends in its own way
        // A handover is timed from the moment the shard became free: its release, or its previous holder's expiry.
        slot.freeSinceNanos = -1;
        if (!s.holder().isEmpty() && !holder.equals(s.holder())) {
            slot.freeSinceNanos = Math.min(sent, view.holderLiveUntil(s));
        } else if (s.holder().isEmpty() && s.lease().getSpec() != null && s.lease().getSpec().getLeaseTransitions() != null) {
            slot.freeSinceNanos = s.changedNanos();
        }
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.ACQUIRED, clock.nanoTime()));
        if (stopping) {
            giveUp(shard, ""); // won while leaving: hand it straight back
            return;
        }
        CompletableFuture<Void> synced;
        try {
            synced = work.hold(held()).thenCompose(x -> work.whenSynced(shard));
        } catch (RuntimeException e) {
            synced = CompletableFuture.failedFuture(e);
        }
        synced.whenComplete((ok, error) -> lane.execute(() -> activate(shard, generation, error)));
        // On the lane's clock, not a JDK timer: a frozen process, and the simulation, time it like every deadline.
        lane.schedule(() -> activate(shard, generation, new TimeoutException("caches did not sync within " + SYNC_TIMEOUT)),
                clock.nanoTime() + SYNC_TIMEOUT.toNanos());
        reactor.poke(); // schedules the fence at this tenure's deadline
    }

    private void activate(int shard, long generation, Throwable syncError) {
        Slot slot = slots[shard];
        if (slot.phase != Phase.SYNCING || slot.generation != generation) {
            return;
        }
        if (syncError != null) {
            syncFailures.failed("shard caches (each shard handed back and taken again)",
                    syncError, "shard " + shard, () -> syncState(shard));
            slot.quietRelease = true;
            giveUp(shard, "");
            return;
        }
        long now = clock.nanoTime();
        long until = memberDeadline();
        if (now >= until) {
            giveUp(shard, ""); // synced too late: this tenure can no longer be proven
            return;
        }
        slot.phase = Phase.ACTIVE;
        admitUntil.set(shard, until);
        publishActive();
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.ACTIVE, now));
        metrics.owned(shard, true);
        long freeSince = slot.freeSinceNanos;
        if (freeSince > 0) {
            metrics.handover(Duration.ofNanos(Math.max(0, now - freeSince)));
        }
        int queued = work.admitted(shard);
        log.atInfo().addKeyValue("shard", shard).addKeyValue("replica", config.identity()).addKeyValue("queued", queued)
                .addKeyValue("handoverMillis", freeSince > 0 ? Duration.ofNanos(now - freeSince).toMillis() : -1)
                .log("shard acquired");
    }

    /** Shards whose partitions are watched: syncing or active. */
    private Set<Integer> held() {
        Set<Integer> out = new TreeSet<>();
        for (int i = 0; i < slots.length; i++) {
            if (slots[i].phase == Phase.SYNCING || slots[i].phase == Phase.ACTIVE) {
                out.add(i);
            }
        }
        return out;
    }

    private void publishActive() {
        Set<Integer> out = new TreeSet<>();
        for (int i = 0; i < slots.length; i++) {
            if (slots[i].phase == Phase.ACTIVE) {
                out.add(i);
            }
        }
        active = Set.copyOf(out);
    }

    /** Drops the partitions of shards no longer held; a failure here is logged, the informers follow on the next change. */
    private void rescope() {
        try {
            work.hold(held()).whenComplete((ok, error) -> {
                if (error != null) {
                    log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", FailureText.of(error))
                            .log("informers did not follow the shards held");
                }
            });
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", FailureText.of(e))
                    .log("informers did not follow the shards held");
        }
    }

    /** Hands a shard over: refuse its keys, let in-flight reconciles finish (bounded), stop its informers, release its Lease. */
    private CompletableFuture<Void> giveUp(int shard, String to) {
        Slot slot = slots[shard];
        if (slot.phase == Phase.RELEASING) {
            return slot.released;
        }
        if (slot.phase == Phase.ACQUIRING) {
            // The take is on its way: whoever waits hears when it failed, or when the won Lease was handed back.
            if (slot.released.isDone()) {
                slot.released = new CompletableFuture<>();
            }
            return slot.released;
        }
        if (slot.phase == Phase.NONE) {
            return CompletableFuture.completedFuture(null);
        }
        boolean wasActive = slot.phase == Phase.ACTIVE;
        slot.phase = Phase.RELEASING;
        if (slot.released.isDone()) {
            slot.released = new CompletableFuture<>();
        }
        admitUntil.set(shard, 0);
        if (wasActive) {
            publishActive();
            metrics.owned(shard, false);
        }
        long generation = slot.generation;
        long begin = clock.nanoTime();
        CompletableFuture<Boolean> drain;
        try {
            drain = work.drain(shard, config.drainTimeout());
        } catch (RuntimeException e) {
            drain = CompletableFuture.failedFuture(e);
        }
        drain.whenComplete((drained, error) -> lane.execute(() -> {
            if (error != null) {
                log.atError().addKeyValue("shard", shard).addKeyValue("error", FailureText.of(error)).log("shard drain failed");
            }
            drained(shard, generation, error == null && drained, to, begin);
        }));
        return slot.released;
    }

    private void drained(int shard, long generation, boolean drained, String to, long begin) {
        Slot slot = slots[shard];
        if (slot.generation != generation || slot.phase != Phase.RELEASING) {
            return;
        }
        rescope(); // informers stop first: the slot is RELEASING, so its partitions are dropped
        if (!drained) {
            // A reconcile ignored its interrupt: freeing the Lease now would let the next owner start beside it.
            // Let it expire instead: the others wait a whole lease duration, by then it has long been fenced.
            log.atWarn().addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                    .log("a reconcile on the shard did not stop; leaving its lease to expire instead of releasing it");
            leaveHeld(shard);
            released(shard, generation, false, false, to, begin);
            return;
        }
        // The reconciles are done, and the fence admits no new write (the slot is RELEASING); a write already
        // sent may still be on the wire (a slow answer). Cancelling it here would only stop waiting for it: the
        // server could still apply it after the release. So wait for its answer, and if none comes within the
        // drain timeout, let the Lease expire instead. (A write waiting for a permit or a backoff is not in
        // flight: the fence refuses it when it would be sent.)
        int awaited = writes.inFlight(shard);
        CompletableFuture<Void> settled = writes.settled(shard);
        if (!settled.isDone()) {
            settled.whenComplete((x, e) -> lane.execute(() -> writesSettled(shard, generation, to, begin, awaited)));
            lane.schedule(() -> writesStuck(shard, generation, to, begin), clock.nanoTime() + config.drainTimeout().toNanos());
            return;
        }
        writesSettled(shard, generation, to, begin, 0);
    }

    private void writesStuck(int shard, long generation, String to, long begin) {
        Slot slot = slots[shard];
        if (slot.generation != generation || slot.phase != Phase.RELEASING || slot.freeing) {
            return;
        }
        log.atWarn().addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                .addKeyValue("writesInFlight", writes.inFlight(shard))
                .log("a write on the shard did not end; leaving its lease to expire instead of releasing it");
        leaveHeld(shard);
        released(shard, generation, false, false, to, begin);
    }

    private void writesSettled(int shard, long generation, String to, long begin, int awaited) {
        Slot slot = slots[shard];
        if (slot.generation != generation || slot.phase != Phase.RELEASING || slot.freeing) {
            return;
        }
        if (awaited > 0) {
            log.atInfo().addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                    .addKeyValue("writesAwaited", awaited).log("writes in flight on a released shard answered before the release");
        }
        slot.freeing = true;
        Leases.releaseHeld(store, leaseNames[shard], freshest(shard), holder, Leases.RELEASE_ATTEMPTS)
                .whenComplete((outcome, error) -> lane.execute(() -> {
                    if (outcome == Leases.Released.FREED || outcome == Leases.Released.NOT_HELD) {
                        slot.named = false;
                    } else {
                        leaveHeld(shard);
                    }
                    released(shard, generation, true, outcome == Leases.Released.FREED, to, begin);
                }));
    }

    /** The tenure ended without a clean release: the Lease, still naming us, is freed a lease duration from now at the earliest. */
    private void leaveHeld(int shard) {
        slots[shard].quietAfterNanos = clock.nanoTime() + config.leaseDuration().toNanos();
    }

    /** Frees a Lease that names this replica though it no longer works on the shard, once its quiet time has passed. */
    private void freeLate(int shard, LeaseView.Seen s) {
        Slot slot = slots[shard];
        slot.freeingLate = true;
        long generation = slot.generation;
        Leases.releaseHeld(store, leaseNames[shard], s.lease(), holder, Leases.RELEASE_ATTEMPTS)
                .whenComplete((outcome, error) -> lane.execute(() -> {
                    slot.freeingLate = false;
                    if (slot.generation == generation && (outcome == Leases.Released.FREED || outcome == Leases.Released.NOT_HELD)) {
                        slot.named = false;
                        slot.quietAfterNanos = 0;
                        if (outcome == Leases.Released.FREED) {
                            log.atInfo().addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                                    .log("freed a shard lease that still named this replica though it no longer works on it");
                        }
                    }
                    reactor.poke();
                }));
    }

    private void released(int shard, long generation, boolean drained, boolean released, String to, long begin) {
        Slot slot = slots[shard];
        if (slot.generation != generation || slot.phase != Phase.RELEASING) {
            return;
        }
        slot.phase = Phase.NONE; // only now: no pass may take it back before the release is written
        ranges.remove(shard);
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.RELEASED, clock.nanoTime()));
        (slot.quietRelease ? log.atDebug() : log.atInfo()).addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                .addKeyValue("to", to.isEmpty() ? "-" : to).addKeyValue("drained", drained).addKeyValue("released", released)
                .addKeyValue("millis", Duration.ofNanos(clock.nanoTime() - begin).toMillis()).log("shard released");
        slot.quietRelease = false;
        slot.released.complete(null);
        reactor.poke();
    }

    /**
     * Stops working on a shard at once: its keys are refused, in-flight reconciles on it are
     * interrupted and its informers stopped. The Lease is left alone: this replica can no longer
     * prove it holds it, and it expires for the others after the lease duration.
     */
    private void fence(int shard, String why) {
        fence(shard, why, true, true);
    }

    /**
     * Fences {@code shards} for one reason with one log line (a lost membership fences every held shard: 32 lines
     * saying the same would drown the one that matters).
     */
    private void fenceTogether(List<Integer> shards, String why, boolean followScope) {
        List<Integer> fenced = new ArrayList<>();
        int interrupted = 0;
        int cancelled = 0;
        for (int shard : shards) {
            int[] counts = fence(shard, why, false, false);
            if (counts != null) {
                fenced.add(shard);
                interrupted += counts[0];
                cancelled += counts[1];
            }
        }
        logFenced(fenced, why, interrupted, cancelled);
        if (followScope) {
            rescope();
        }
    }

    /** For the sync streak: working again, still ours to get working, or handed elsewhere. */
    private RepeatingFailures.SourceState syncState(int shard) {
        Slot slot = slots[shard];
        if (slot.phase == Phase.ACTIVE) {
            return RepeatingFailures.SourceState.RECOVERED;
        }
        boolean desiredHere = view.get(leaseNames[shard]).map(s -> !s.deleted() && config.identity().equals(s.desiredOwner()))
                .orElse(false);
        return desiredHere || slot.phase != Phase.NONE ? RepeatingFailures.SourceState.FAILING : RepeatingFailures.SourceState.GONE;
    }

    private void logFenced(List<Integer> shards, String why, int interrupted, int cancelled) {
        if (!shards.isEmpty()) {
            log.atError().addKeyValue("shards", shards).addKeyValue("replica", config.identity()).addKeyValue("reason", why)
                    .addKeyValue("interrupted", interrupted).addKeyValue("writesCancelled", cancelled)
                    .log("shards fenced: stopped working on them at once");
        }
    }

    /** @return interrupted reconciles and cancelled writes, or null when the shard was not being worked on */
    private int[] fence(int shard, String why, boolean followScope, boolean logLine) {
        Slot slot = slots[shard];
        if (slot.phase != Phase.SYNCING && slot.phase != Phase.ACTIVE) {
            return null;
        }
        boolean wasActive = slot.phase == Phase.ACTIVE;
        slot.phase = Phase.NONE;
        admitUntil.set(shard, 0);
        if (wasActive) {
            publishActive();
        }
        int interrupted = work.interrupt(shard);
        int cancelled = writes.cancelAll(shard);
        ranges.remove(shard);
        if (slot.named) {
            // The Lease still names us (the fence was our own deadline): our membership may be renewed again and keep
            // it from the next owner, so it is freed once a lease duration has passed, as protocol 1 let it expire.
            leaveHeld(shard);
        }
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.FENCED, clock.nanoTime()));
        metrics.owned(shard, false);
        metrics.fenced();
        if (logLine) {
            log.atError().addKeyValue("shard", shard).addKeyValue("replica", config.identity()).addKeyValue("reason", why)
                    .addKeyValue("interrupted", interrupted).addKeyValue("writesCancelled", cancelled)
                    .log("shard fenced: stopped working on it at once");
        }
        if (followScope) {
            rescope();
        }
        reactor.poke();
        return new int[] {interrupted, cancelled};
    }

    /**
     * The newest version of a held shard's Lease that this replica knows: the watch's, once it has
     * delivered our own last write (the coordinator writes the desired owner in between), else
     * our own. Writing on the newest version spares a 409 and a read.
     */
    private Lease freshest(int shard) {
        Lease own = slots[shard].lease;
        Optional<LeaseView.Seen> seen = view.get(leaseNames[shard]);
        if (seen.isPresent() && !seen.get().deleted() && holder.equals(seen.get().holder())
                && (own == null || seen.get().hasSeen(Leases.resourceVersion(own)))) {
            return seen.get().lease();
        }
        return own;
    }

    /** Gives every shard up (graceful leave); completes when all are released or left to expire. */
    CompletableFuture<Void> releaseAll() {
        stopping = true;
        List<CompletableFuture<Void>> releases = new ArrayList<>();
        for (int shard = 0; shard < slots.length; shard++) {
            releases.add(giveUp(shard, ""));
        }
        return CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new));
    }

    /** Refuses every key at once; any thread (the gate must close before anything else runs). */
    void refuseAll() {
        refused = true;
        for (int shard = 0; shard < slots.length; shard++) {
            admitUntil.set(shard, 0);
        }
        active = Set.of();
    }

    /** Stops everything at once without releasing (a fatal loss, or abandon): the Leases expire for the others. */
    void fenceAll(String why) {
        stopping = true;
        refuseAll();
        List<Integer> all = new ArrayList<>();
        for (int shard = 0; shard < slots.length; shard++) {
            all.add(shard);
        }
        fenceTogether(all, why, true); // rescoped once for all of them
    }

    private int leaseSeconds() {
        return (int) config.leaseDuration().toSeconds();
    }
}
