package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's view of its group's Leases, fed by a watch ({@link LeaseWatch} in production),
 * with the monotonic time at which each Lease's holder last changed or renewed. Expiry is judged
 * from those observation times, as client-go does, and never from the renewTime written by
 * another machine's clock: a Lease is expired when nobody has been seen renewing it for its whole
 * duration.
 *
 * <pre>{@code
 * Reactor reactor; // decides on every change
 * Lease lease;     // what the watch delivered
 * LeaseView view = new LeaseView(MonotonicClock.system(), new LeaseNaming("flotilla"), Duration.ofSeconds(15));
 * view.onChange((before, after) -> reactor.poke());
 * view.record(lease, false);
 * boolean held = view.get(lease.getMetadata().getName()).map(view::isHeld).orElse(false);
 * }</pre>
 */
@OnPorts
final class LeaseView {

    private static final Logger log = LoggerFactory.getLogger(LeaseView.class);
    /** How many recent resourceVersions per Lease are remembered for {@link #hasSeen}. */
    private static final int VERSIONS_KEPT = 16;

    /**
     * What was last seen of one Lease; {@code deleted} keeps a deleted Lease's last state until it
     * expires. The holder and the desired owner are read once here: every decision pass asks for them.
     */
    static final class Seen {
        private final Lease lease;
        private final long changedNanos;
        private final boolean deleted;
        private final String holder;
        private final String desiredOwner;
        private final String member;
        private final String holderIdentity;
        /** The membership Lease of the holder, which says whether it is live (protocol 2); read on every pass. */
        private final String holderMembership;
        /** The last non-empty holder before the current one (or before a deletion), "" if none was seen. */
        private final String formerHolder;
        /** When this replica last saw {@link #formerHolder} renew or take the Lease (monotonic); meaningless without one. */
        private final long formerRenewedNanos;

        /** This Lease's last few resourceVersions as delivered, its own last: one consistent snapshot with it. */
        private final List<String> recentVersions;
        /** A shard Lease's range, read once: every pass of every replica asks for it. */
        private final Optional<HashRange> range;

        Seen(Lease lease, long changedNanos, boolean deleted, LeaseNaming naming, List<String> recentVersions,
                String formerHolder, long formerRenewedNanos) {
            this.recentVersions = recentVersions;
            this.formerHolder = formerHolder;
            this.formerRenewedNanos = formerRenewedNanos;
            this.lease = Objects.requireNonNull(lease, "lease");
            this.changedNanos = changedNanos;
            this.deleted = deleted;
            this.holder = Leases.holderOf(lease);
            this.desiredOwner = annotationOf(lease, LeaseNaming.ANNOTATION_DESIRED_OWNER);
            this.member = naming.memberOf(lease.getMetadata().getName()).orElse("");
            this.holderIdentity = holder.isEmpty() ? "" : LeaseNaming.identityOf(holder);
            this.holderMembership = holder.isEmpty() ? "" : naming.memberLease(holderIdentity);
            this.range = naming.shardOf(lease.getMetadata().getName()).isPresent() ? rangeOf(lease, naming) : Optional.empty();
        }

        Lease lease() {
            return lease;
        }

        /** When this replica last saw the Lease's holder or renewal change (monotonic). */
        long changedNanos() {
            return changedNanos;
        }

        boolean deleted() {
            return deleted;
        }

        String name() {
            return lease.getMetadata().getName();
        }

        /** The holderIdentity, "" when free. */
        String holder() {
            return holder;
        }

        /**
         * Whether this state is {@code resourceVersion} of this Lease or a later one: a writer can tell whether the view
         * has caught up with its own write. Versions are ordered where the server makes them comparable
         * ({@link ResourceVersions}); a watch that relists after a break jumps past the versions written meanwhile, and
         * looking a writer's version up among those delivered left it waiting for good (a holder that never applied
         * the coordinator's move, a coordinator that never saw its layout settle). Opaque versions are looked up among
         * the last few delivered.
         */
        boolean hasSeen(String resourceVersion) {
            return ResourceVersions.atLeast(Leases.resourceVersion(lease), resourceVersion) || recentVersions.contains(resourceVersion);
        }

        /** The identity part of the holder ({@link LeaseNaming#identityOf}), "" when free. */
        String holderIdentity() {
            return holderIdentity;
        }

        /** The member whose membership Lease this is, "" for any other Lease. */
        String member() {
            return member;
        }

        /** Whether this Lease was written by this protocol ({@link LeaseNaming#PROTOCOL}). */
        boolean speaksProtocol() {
            return LeaseNaming.PROTOCOL.equals(annotation(LeaseNaming.ANNOTATION_PROTOCOL));
        }

        /** The protocol that wrote this Lease last: its annotation, "1" when it has none. */
        String protocol() {
            String p = annotation(LeaseNaming.ANNOTATION_PROTOCOL);
            return p.isEmpty() ? "1" : p;
        }

        /**
         * The namespace hashes a shard Lease covers: its {@link LeaseNaming#ANNOTATION_RANGE}, or without
         * one the equal-width range of its index among {@link LeaseNaming#ANNOTATION_SHARDS}; empty when
         * neither can be read (a hand edit), which no holder takes and the coordinator rewrites.
         */
        Optional<HashRange> range() {
            return range;
        }

        private static Optional<HashRange> rangeOf(Lease lease, LeaseNaming naming) {
            String text = annotationOf(lease, LeaseNaming.ANNOTATION_RANGE);
            try {
                if (!text.isEmpty()) {
                    return Optional.of(HashRange.parse(text));
                }
                Optional<Integer> slot = naming.shardOf(lease.getMetadata().getName());
                String shards = annotationOf(lease, LeaseNaming.ANNOTATION_SHARDS);
                if (slot.isEmpty() || shards.isEmpty()) {
                    return Optional.empty();
                }
                ShardSpace space = new ShardSpace(Integer.parseInt(shards));
                return slot.get() < space.shards() ? Optional.of(HashRange.of(space, slot.get())) : Optional.empty();
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        }

        /** The member the coordinator published for a shard Lease, "" when none. */
        String desiredOwner() {
            return desiredOwner;
        }

        String annotation(String key) {
            return annotationOf(lease, key);
        }

        private static String annotationOf(Lease lease, String key) {
            Map<String, String> annotations = lease.getMetadata().getAnnotations();
            return annotations == null ? "" : annotations.getOrDefault(key, "");
        }
    }

    private final MonotonicClock clock;
    private final LeaseNaming naming;
    private final Duration defaultDuration;
    private final Map<String, Seen> seen = new ConcurrentHashMap<>();
    /** Holders this replica has proof are gone (its own previous incarnation, {@link RestartEvidence}). */
    private final java.util.Set<String> gone = ConcurrentHashMap.newKeySet();
    /** Since when the watch has delivered everything (monotonic): a member Lease never seen has been absent since then. */
    private volatile long watchingSinceNanos;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    /** Deleted Leases remembered until they expire; {@link #prune} has nothing to do while none are. */
    private final java.util.concurrent.atomic.AtomicInteger deletedKept = new java.util.concurrent.atomic.AtomicInteger();
    /**
     * When the watch last delivered anything (a list counts), {@code Long.MIN_VALUE} before it has (monotonic nanos may
     * be negative): how {@link LeaseWatch} tells a silent one.
     */
    private volatile long lastRecordedNanos = Long.MIN_VALUE;
    /** Per Lease, the version a write failed on and until when (monotonic) not to write on it again. */
    private final Map<String, FailedWrite> failedWrites = new ConcurrentHashMap<>();
    /** This replica's membership Lease, whose renewals tell how current the view is ({@link #judgedNow}); "" until followed. */
    private volatile String ownLease = "";
    private volatile long ownSlackNanos;
    /** Own renewals answered and not yet delivered by the watch, oldest first (guarded by itself). */
    private final java.util.ArrayDeque<OwnWrite> ownPending = new java.util.ArrayDeque<>();
    /** The send time of the newest own renewal the watch delivered (monotonic): the view holds every write made before it. */
    private volatile long currentAsOfNanos;
    /** Whether an own write was answered yet (see {@link #ownWriteAnswered}). */
    private volatile boolean ownJudging;

    private record OwnWrite(String resourceVersion, long sentNanos) {
    }

    private record FailedWrite(String resourceVersion, long untilNanos) {
    }

    LeaseView(MonotonicClock clock, LeaseNaming naming, Duration defaultDuration) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.naming = Objects.requireNonNull(naming, "naming");
        this.defaultDuration = Objects.requireNonNull(defaultDuration, "defaultDuration");
        this.watchingSinceNanos = clock.nanoTime();
    }

    /** The watch has listed every Lease of the group (call once it synced): absence is news from here on. */
    void watching() {
        watchingSinceNanos = clock.nanoTime();
    }

    /**
     * From now on the view judges expiries only as far as it can see: {@code leaseName} is this replica's membership
     * Lease, renewed every retry period, and {@link #ownWriteAnswered} reports each renewal. Once the watch has not
     * delivered a renewal sent within {@code slack} (cut off, frozen, or a watch that stalled or has not caught up
     * after an outage), {@link #judgedNow} stops at the newest delivered one plus {@code slack}, so no holder is
     * judged gone for want of renewals this view could not see. (Seen in the chaos suite: after a 20 s partition a
     * replica took the coordinator Lease on a view 20 s old, 0.65 s before its watch was started afresh, then moved a
     * shard off a live replica and moved it back 7 s later.)
     */
    void followOwnWrites(String leaseName, Duration slack) {
        ownSlackNanos = slack.toNanos();
        ownLease = Objects.requireNonNull(leaseName, "leaseName");
    }

    /**
     * A write of this replica's membership Lease was answered: {@code resourceVersion}, sent at {@code sentNanos}.
     * The first one (the join) starts the judging: until then the view is taken as it is (a join waits out a
     * predecessor's membership on it), and from then on it is current as of the join's send time until it delivers it.
     */
    void ownWriteAnswered(String resourceVersion, long sentNanos) {
        if (ownLease.isEmpty() || resourceVersion == null) {
            return;
        }
        if (!ownJudging) {
            currentAsOfNanos = sentNanos - ownSlackNanos;
            ownJudging = true;
        }
        synchronized (ownPending) {
            if (ownPending.size() == 64) {
                ownPending.removeFirst(); // a watch this far behind is judged by the ones kept
            }
            ownPending.addLast(new OwnWrite(resourceVersion, sentNanos));
        }
    }

    private void ownDelivered(String resourceVersion) {
        long asOf = Long.MIN_VALUE;
        synchronized (ownPending) {
            // Own writes are sequential: the last one the delivered version covers covers every earlier one.
            int covered = -1;
            int i = 0;
            for (OwnWrite w : ownPending) {
                if (ResourceVersions.atLeast(resourceVersion, w.resourceVersion())) {
                    covered = i;
                }
                i++;
            }
            for (int k = 0; k <= covered; k++) {
                asOf = Math.max(asOf, ownPending.removeFirst().sentNanos());
            }
        }
        if (asOf > currentAsOfNanos) {
            currentAsOfNanos = asOf;
        }
    }

    /**
     * The instant (monotonic) up to which expiries are judged: now, unless the view is behind (see
     * {@link #followOwnWrites}); then the send time of the newest own renewal it delivered plus the slack. Judging a
     * holder live for longer is always safe: takeovers wait, nothing is written on a stale view.
     */
    long judgedNow() {
        long now = clock.nanoTime();
        if (!ownJudging) {
            return now;
        }
        return Math.min(now, currentAsOfNanos + ownSlackNanos);
    }

    /** Told of every Lease the watch delivers: what the view held before (empty if nothing) and what it holds now. */
    @FunctionalInterface
    interface Listener {
        void changed(Optional<Seen> before, Seen after);
    }

    /** Called after every change (on the watch's thread); listeners must be quick. */
    void onChange(Listener listener) {
        listeners.add(listener);
    }

    /**
     * Whether {@code after} changes more than the renewal of a live Lease: it appeared or was
     * deleted, its holder or desired owner changed, or it had expired in this view and is renewed
     * again. Decision passes need to run on these; a plain renewal only moves an expiry, which the
     * passes wait for on a timer anyway.
     */
    boolean isNews(Optional<Seen> before, Seen after) {
        if (before.isEmpty()) {
            return true;
        }
        Seen b = before.get();
        return b.deleted() != after.deleted() || !b.holder().equals(after.holder())
                || !b.desiredOwner().equals(after.desiredOwner()) || !b.range().equals(after.range())
                || !b.annotation(LeaseNaming.ANNOTATION_OBJECTS).equals(after.annotation(LeaseNaming.ANNOTATION_OBJECTS))
                || (!b.holder().isEmpty() && clock.nanoTime() >= expiresAtNanos(b));
    }

    /** When the watch last delivered a Lease (monotonic nanos); {@code Long.MIN_VALUE} before the first. */
    long lastRecordedNanos() {
        return lastRecordedNanos;
    }

    /** What the watch delivered: an added or updated Lease, or ({@code deleted}) its last state before deletion. */
    void record(Lease lease, boolean deleted) {
        record(lease, deleted, null);
    }

    /**
     * Records {@code expected}'s Lease as deleted if the view still holds exactly {@code expected}: a Lease missing
     * from a fresh list was deleted while the watch was down, unless the new watch has delivered it since.
     */
    void recordDeletedIfUnchanged(Seen expected) {
        record(expected.lease(), true, expected);
    }

    private void record(Lease lease, boolean deleted, Seen onlyIf) {
        if (lease == null || lease.getMetadata() == null || lease.getMetadata().getName() == null) {
            return;
        }
        long now = clock.nanoTime();
        lastRecordedNanos = now;
        String name = lease.getMetadata().getName();
        Seen[] was = new Seen[1];
        boolean[] skipped = {false};
        Seen after = seen.compute(name, (n, before) -> {
            if (onlyIf != null && before != onlyIf) {
                skipped[0] = true;
                return before;
            }
            was[0] = before;
            boolean renewed = before == null || before.deleted() != deleted || !sameTenure(before.lease(), lease);
            if (deleted && (before == null || !before.deleted())) {
                deletedKept.incrementAndGet();
            } else if (!deleted && before != null && before.deleted()) {
                deletedKept.decrementAndGet();
            }
            String holderNow = Leases.holderOf(lease);
            String former = before == null ? "" : before.formerHolder;
            long formerRenewed = before == null ? 0 : before.formerRenewedNanos;
            // (A deleted Lease keeps its last holder, timed from the deletion, until it comes back under another.)
            if (before != null && !before.holder().isEmpty() && !deleted && !before.holder().equals(holderNow)) {
                former = before.holder(); // it lost the Lease now, as far as this replica can tell
                formerRenewed = before.changedNanos();
            }
            return new Seen(lease, renewed ? now : before.changedNanos(), deleted, naming,
                    recent(before == null ? List.of() : before.recentVersions, lease), former, formerRenewed);
        });
        if (skipped[0]) {
            return;
        }
        if (!deleted && name.equals(ownLease)) {
            ownDelivered(lease.getMetadata().getResourceVersion());
        }
        Optional<Seen> before = Optional.ofNullable(was[0]);
        for (Listener l : listeners) {
            try {
                l.changed(before, after);
            } catch (RuntimeException e) {
                log.atError().addKeyValue("error", FailureText.of(e)).log("lease listener failed");
            }
        }
    }

    /** Same holder and same renewal: an annotation edit by the coordinator is not a renewal. */
    private static boolean sameTenure(Lease a, Lease b) {
        LeaseSpec x = a.getSpec();
        LeaseSpec y = b.getSpec();
        if (x == null || y == null) {
            return x == y;
        }
        return Objects.equals(x.getHolderIdentity(), y.getHolderIdentity())
                && Objects.equals(x.getRenewTime(), y.getRenewTime())
                && Objects.equals(x.getAcquireTime(), y.getAcquireTime())
                && Objects.equals(x.getLeaseTransitions(), y.getLeaseTransitions());
    }

    private static List<String> recent(List<String> before, Lease lease) {
        String rv = lease.getMetadata().getResourceVersion();
        if (rv == null) {
            return before;
        }
        List<String> out = new ArrayList<>(Math.min(before.size() + 1, VERSIONS_KEPT));
        for (int i = Math.max(0, before.size() + 1 - VERSIONS_KEPT); i < before.size(); i++) {
            out.add(before.get(i));
        }
        out.add(rv);
        return List.copyOf(out);
    }

    /** Whether the watch has delivered {@code resourceVersion} of Lease {@code name} (recently). */
    boolean hasSeen(String name, String resourceVersion) {
        Seen s = seen.get(name);
        return s != null && s.hasSeen(resourceVersion);
    }

    /** Forgets deleted Leases whose last holder's lease has run out, so members that came and went do not accumulate. */
    void prune() {
        if (deletedKept.get() == 0) {
            return;
        }
        long now = judgedNow(); // a deleted Lease is kept as long as its holder may be presumed live
        seen.entrySet().removeIf(e -> {
            boolean expired = e.getValue().deleted() && now >= expiresAtNanos(e.getValue());
            if (expired) {
                deletedKept.decrementAndGet();
            }
            return expired;
        });
    }

    Optional<Seen> get(String name) {
        return Optional.ofNullable(seen.get(name));
    }

    /**
     * A write based on {@code s} did not land (refused as stale with 409, the Lease gone, or no answer): a write on the
     * same version would most likely fail the same way. Until {@code untilNanos}, or until the view shows another
     * version, {@link #writeWaitUntil} says to wait. Without it a replica rewrote such Leases as fast as its rate
     * limiter allowed: 40 a second each, on a stale view after an outage (refused) and while cut off (failed).
     */
    void writeFailed(Seen s, long untilNanos) {
        failedWrites.put(s.name(), new FailedWrite(Leases.resourceVersion(s.lease()), untilNanos));
    }

    /** Until when (monotonic) a write based on {@code s} should wait (see {@link #writeFailed}); 0 when it need not. */
    long writeWaitUntil(Seen s) {
        FailedWrite r = failedWrites.get(s.name());
        if (r == null) {
            return 0;
        }
        if (!Objects.equals(r.resourceVersion(), Leases.resourceVersion(s.lease())) || clock.nanoTime() >= r.untilNanos()) {
            failedWrites.remove(s.name(), r);
            return 0;
        }
        return r.untilNanos();
    }

    List<Seen> all() {
        return List.copyOf(seen.values());
    }

    Duration durationOf(Seen s) {
        Integer secs = s.lease().getSpec() == null ? null : s.lease().getSpec().getLeaseDurationSeconds();
        return secs == null || secs <= 0 ? defaultDuration : Duration.ofSeconds(secs);
    }

    /** When {@code s} expires on this replica's monotonic clock (meaningless if it has no holder). */
    long expiresAtNanos(Seen s) {
        return s.changedNanos() + durationOf(s).toNanos();
    }

    /**
     * Until when (monotonic) the holder of {@code shard} (a shard Lease) must be presumed to be
     * working on it. A shard Lease is never renewed (protocol 2): its holder's membership Lease is,
     * and the holder stops at its renew deadline after its last successful membership renewal. So
     * the holder is live for one lease duration after this replica last saw its membership Lease
     * renewed by it (or deleted while naming it); if this replica never saw the membership Lease
     * name it, for one lease duration after it first saw the shard Lease name it or began watching,
     * whichever is later (whatever happened before, the holder has had that long to fail a renewal).
     * 0 when the shard is free or this replica has proof its holder is gone ({@link #markGone}).
     */
    long holderLiveUntil(Seen shard) {
        String holder = shard.holder();
        if (holder.isEmpty() || gone.contains(holder)) {
            return 0;
        }
        Seen member = seen.get(shard.holderMembership);
        if (member != null && member.holder().equals(holder)) {
            return expiresAtNanos(member); // a deleted Lease counts from the moment its deletion was seen
        }
        if (member != null && member.formerHolder.equals(holder)) {
            return member.formerRenewedNanos + durationOf(member).toNanos();
        }
        return Math.max(watchingSinceNanos, shard.changedNanos()) + durationOf(shard).toNanos();
    }

    /** This replica has proof that {@code holder} (a holderIdentity) no longer runs: its Leases may be taken at once. */
    void markGone(String holder) {
        gone.add(holder);
    }

    /** Whether this replica has proof that {@code holder} no longer runs. */
    boolean isGone(String holder) {
        return gone.contains(holder);
    }

    /** Whether the holder of {@code shard} must be presumed working on it now; see {@link #holderLiveUntil}. */
    boolean isLive(Seen shard) {
        return judgedNow() < holderLiveUntil(shard);
    }

    /** Whether the holder of {@code shard} is judged gone (as far as this view can see: {@link #judgedNow}). */
    boolean holderGone(Seen shard) {
        return !isLive(shard);
    }

    /** Held by someone who was seen renewing within the lease duration (as far as this view can see). */
    boolean isHeld(Seen s) {
        return !s.holder().isEmpty() && judgedNow() < expiresAtNanos(s);
    }
}
