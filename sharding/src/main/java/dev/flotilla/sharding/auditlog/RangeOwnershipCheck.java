package dev.flotilla.sharding.auditlog;

import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Range ownership, judged from the API server's audit log: for each shard a timeline of its live
 * owners, the time it had none and the time it had two, and the verdict that every range is
 * owned by exactly one live replica within a lease duration plus a retry period of the fault's
 * end (and of any later loss of its owner).
 *
 * <p>Who holds a shard Lease is read as {@link SingleWriterCheck} reads it (the answer to the last
 * accepted write of it). Shard Leases are not renewed (protocol 2 on): a holder is live while its
 * <em>membership</em> Lease is, so a holder is live from an accepted write of its membership
 * Lease that names it until that write's time plus the Lease's {@code leaseDurationSeconds} (the
 * given lease duration when the answer has none). The server's acceptance times are used, never
 * the replicas' {@code renewTime}s: one clock for the whole judgement, as the replicas themselves
 * judge expiry by when they saw a renewal. A shard is <em>unowned</em> while its own Lease names no
 * live holder; it has <em>two owners</em> while another shard Lease whose range overlaps its range
 * names a different live holder too. A shard whose Lease the log never shows written is unowned:
 * the log should cover the group's life.
 *
 * <pre>{@code
 * Instant from;
 * Instant to;
 * Instant faultEnd;
 * var check = new RangeOwnershipCheck(new ShardSpace(32), new LeaseNaming("flotilla"), "flotilla-system",
 *         Duration.ofSeconds(15), Duration.ofSeconds(2));
 * RangeOwnershipCheck.Result result = check.check(AuditLog.read(Path.of("audit.log")), from, to, faultEnd);
 * result.violations().forEach(System.out::println);
 * }</pre>
 */
public final class RangeOwnershipCheck {

    /**
     * An interval in which a shard's live owners did not change.
     *
     * @param owners its live owners ({@code holderIdentity}s): its own Lease's holder first; empty when unowned
     */
    public record Span(Instant from, Instant to, List<String> owners) {
        public Span {
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(to, "to");
            owners = List.copyOf(owners);
            if (to.isBefore(from)) {
                throw new IllegalArgumentException("span ends before it starts: " + from + " to " + to);
            }
        }

        public Duration length() {
            return Duration.between(from, to);
        }
    }

    /**
     * One shard's owners over the judged span.
     *
     * @param spans          consecutive, covering the judged span
     * @param unowned        total time without a live owner
     * @param twoOwners      total time with two or more
     * @param longestUnowned the longest time without one, counted from when it began (which may precede the span)
     */
    public record ShardTimeline(int shard, List<Span> spans, Duration unowned, Duration twoOwners, Duration longestUnowned) {
        public ShardTimeline {
            spans = List.copyOf(spans);
            Objects.requireNonNull(unowned, "unowned");
            Objects.requireNonNull(twoOwners, "twoOwners");
            Objects.requireNonNull(longestUnowned, "longestUnowned");
        }
    }

    /** Why the verdict fails: a closed set, each one line. */
    public sealed interface Violation permits UnownedTooLong, TwoOwners, EndsBeforeDeadline {
    }

    /**
     * A shard without a live owner past its deadline: the fault's deadline (fault end + lease duration +
     * retry period) for a gap that began by then, else its own start + lease duration + retry period.
     */
    public record UnownedTooLong(int shard, Instant since, Instant until, Instant deadline) implements Violation {
        public UnownedTooLong {
            Objects.requireNonNull(since, "since");
            Objects.requireNonNull(until, "until");
            Objects.requireNonNull(deadline, "deadline");
        }

        @Override
        public String toString() {
            return "shard " + shard + " had no live owner from " + since + " to " + until + " ("
                    + seconds(Duration.between(since, until)) + " s), past its deadline " + deadline;
        }
    }

    /** A shard with two live owners at once, for {@code total} in all, first from {@code since}. */
    public record TwoOwners(int shard, Instant since, Duration total, List<String> owners) implements Violation {
        public TwoOwners {
            Objects.requireNonNull(since, "since");
            Objects.requireNonNull(total, "total");
            owners = List.copyOf(owners);
        }

        @Override
        public String toString() {
            return "shard " + shard + " had two live owners for " + seconds(total) + " s, first from " + since + ": "
                    + String.join(", ", owners);
        }
    }

    /** The judged span ends before the fault's deadline, so recovery cannot be shown. */
    public record EndsBeforeDeadline(Instant to, Instant deadline) implements Violation {
        public EndsBeforeDeadline {
            Objects.requireNonNull(to, "to");
            Objects.requireNonNull(deadline, "deadline");
        }

        @Override
        public String toString() {
            return "the judged span ends at " + to + ", before the deadline " + deadline + ": recovery cannot be shown";
        }
    }

    /**
     * @param deadline           fault end + the bound
     * @param shards             shards 0 .. S-1, in order
     * @param violations         in the order found: by shard, then time
     * @param allOwnedAfterFault how long after the fault's end every range had one live owner again, counting the gaps
     *                           the fault caused (those that began by the deadline); zero if none lasted past its end
     */
    public record Result(Instant from, Instant to, Instant faultEnd, Instant deadline, List<ShardTimeline> shards,
            List<Violation> violations, Duration allOwnedAfterFault) {
        public Result {
            Objects.requireNonNull(allOwnedAfterFault, "allOwnedAfterFault");
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(to, "to");
            Objects.requireNonNull(faultEnd, "faultEnd");
            Objects.requireNonNull(deadline, "deadline");
            shards = List.copyOf(shards);
            violations = List.copyOf(violations);
        }

        /** Every range owned by exactly one live replica within the bound after the fault ended. */
        public boolean holds() {
            return violations.isEmpty();
        }
    }

    private final ShardSpace space;
    private final GroupLeases leases;
    private final Duration leaseDuration;
    private final Duration bound;

    /**
     * @param leaseDuration for membership Leases whose answers carry none
     * @param retryPeriod   with the lease duration, how long a range may stay unowned after a fault:
     *                      lease duration + retry period
     */
    public RangeOwnershipCheck(ShardSpace space, LeaseNaming naming, String leaseNamespace, Duration leaseDuration,
            Duration retryPeriod) {
        this.space = Objects.requireNonNull(space, "space");
        this.leases = new GroupLeases(space, naming, leaseNamespace);
        if (leaseDuration.isNegative() || leaseDuration.isZero() || retryPeriod.isNegative() || retryPeriod.isZero()) {
            throw new IllegalArgumentException("lease duration and retry period must be positive, got " + leaseDuration
                    + ", " + retryPeriod);
        }
        this.leaseDuration = leaseDuration;
        // A dead holder's membership expires at most a lease duration after the fault (its last renewal came before);
        // the others act on that expiry as it happens (the coordinator reassigns, the taker acquires), and a replica
        // back from a partition takes what it is handed within a retry period (its Lease watch restarted). Measured
        // in the chaos suite at a 10 s lease and 1 s retry period: every range owned again 9.7-10.0 s after a kill,
        // 0.9-1.4 s after a partition. (It was lease + 4 periods while a rejoining replica waited up to 32 s for
        // fabric8 to reconnect its Lease watch.)
        this.bound = leaseDuration.plus(retryPeriod);
    }

    /** How long a range may stay unowned after the fault ends (or after it loses its owner later): lease duration + retry period. */
    public Duration bound() {
        return bound;
    }

    /**
     * Judges {@code [from, to]}; the whole log before {@code from} is read for who held what.
     *
     * @throws IllegalArgumentException if {@code to} precedes {@code from}, or if an accepted write of
     *                                  one of the group's Leases carries no Lease in its answer
     */
    public Result check(List<AuditedRequest> log, Instant from, Instant to, Instant faultEnd) {
        if (to.isBefore(from)) {
            throw new IllegalArgumentException("the span ends (" + to + ") before it starts (" + from + ")");
        }
        List<AuditedRequest> byTime = GroupLeases.byTime(log);
        leases.replicas(byTime, true);
        Instant deadline = faultEnd.plus(bound);

        // Every instant at which an owner may change: a Lease write, or a membership expiring.
        TreeSet<Instant> breaks = new TreeSet<>(List.of(from, to));
        for (AuditedRequest r : byTime) {
            if (leases.slot(r).isPresent() || leases.member(r).isPresent()) {
                breaks.add(r.completed());
                breaks.add(r.completed().plus(r.leaseDuration().orElse(leaseDuration)));
            }
        }
        Instant start = breaks.first();
        List<Instant> instants = new ArrayList<>(breaks.headSet(to, true));

        int shards = space.shards();
        List<List<Span>> spans = new ArrayList<>();
        Duration[] unowned = new Duration[shards];
        Duration[] twoOwners = new Duration[shards];
        Duration[] longest = new Duration[shards];
        Instant[] gapSince = new Instant[shards];       // when the gap in progress began (null: owned)
        Instant[] twoSince = new Instant[shards];       // when two owners were first seen (null: never)
        List<List<String>> twoWho = new ArrayList<>();
        List<Violation> violations = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            spans.add(new ArrayList<>());
            twoWho.add(List.of());
            unowned[s] = twoOwners[s] = longest[s] = Duration.ZERO;
        }
        GroupLeases.Holders holders = leases.holders();
        Map<String, Instant> liveUntil = new HashMap<>();
        int next = 0;
        Instant[] lastOwned = {faultEnd}; // when the last gap the fault caused closed
        List<List<Violation>> perShard = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            perShard.add(new ArrayList<>());
        }
        for (int i = 0; i < instants.size(); i++) {
            Instant at = instants.get(i);
            while (next < byTime.size() && !byTime.get(next).completed().isAfter(at)) {
                AuditedRequest r = byTime.get(next++);
                if (!holders.apply(r) && leases.member(r).isPresent() && GroupLeases.accepted(r)
                        && r.leaseHolder().filter(h -> !h.isEmpty()).isPresent()) {
                    liveUntil.merge(r.leaseHolder().get(), r.completed().plus(r.leaseDuration().orElse(leaseDuration)),
                            (a, b) -> a.isAfter(b) ? a : b);
                }
            }
            Instant end = i + 1 < instants.size() ? instants.get(i + 1) : to;
            for (int s = 0; s < shards; s++) {
                List<String> owners = owners(s, holders.tenures(), liveUntil, at);
                if (owners.isEmpty() && gapSince[s] == null) {
                    gapSince[s] = at;
                } else if (!owners.isEmpty() && gapSince[s] != null) {
                    closeGap(s, gapSince[s], at, from, deadline, longest, perShard);
                    if (!gapSince[s].isAfter(deadline) && at.isAfter(lastOwned[0])) {
                        lastOwned[0] = at;
                    }
                    gapSince[s] = null;
                }
                // What lies inside [from, to] is measured and drawn; what lies before only decides the state.
                Instant a = at.isBefore(from) ? from : at;
                Instant b = end.isAfter(to) ? to : end;
                if (!b.isAfter(a)) {
                    continue;
                }
                Duration length = Duration.between(a, b);
                if (owners.isEmpty()) {
                    unowned[s] = unowned[s].plus(length);
                } else if (owners.size() > 1) {
                    twoOwners[s] = twoOwners[s].plus(length);
                    if (twoSince[s] == null) {
                        twoSince[s] = a;
                        twoWho.set(s, owners);
                    }
                }
                List<Span> mine = spans.get(s);
                Span last = mine.isEmpty() ? null : mine.getLast();
                if (last != null && last.owners().equals(owners) && last.to().equals(a)) {
                    mine.set(mine.size() - 1, new Span(last.from(), b, owners));
                } else {
                    mine.add(new Span(a, b, owners));
                }
            }
        }
        List<ShardTimeline> timelines = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            if (gapSince[s] != null) {
                if (!gapSince[s].isAfter(deadline)) {
                    lastOwned[0] = to;
                }
                // Still unowned at the end: a violation only once its own deadline has passed.
                Duration sofar = Duration.between(gapSince[s], to);
                longest[s] = sofar.compareTo(longest[s]) > 0 ? sofar : longest[s];
                Instant due = due(gapSince[s], deadline);
                if (to.isAfter(due)) {
                    perShard.get(s).add(new UnownedTooLong(s, gapSince[s], to, due));
                }
            }
            if (twoSince[s] != null) {
                perShard.get(s).add(new TwoOwners(s, twoSince[s], twoOwners[s], twoWho.get(s)));
            }
            violations.addAll(perShard.get(s));
            timelines.add(new ShardTimeline(s, spans.get(s), unowned[s], twoOwners[s], longest[s]));
        }
        if (to.isBefore(deadline)) {
            violations.add(new EndsBeforeDeadline(to, deadline));
        }
        return new Result(from, to, faultEnd, deadline, timelines, violations, Duration.between(faultEnd, lastOwned[0]));
    }

    private void closeGap(int shard, Instant since, Instant until, Instant from, Instant deadline, Duration[] longest,
            List<List<Violation>> perShard) {
        if (!until.isAfter(from)) {
            return; // over before the judged span: the group's start, or an earlier fault, not this one
        }
        Duration gap = Duration.between(since, until);
        longest[shard] = gap.compareTo(longest[shard]) > 0 ? gap : longest[shard];
        Instant due = due(since, deadline);
        if (until.isAfter(due)) {
            perShard.get(shard).add(new UnownedTooLong(shard, since, until, due));
        }
    }

    /**
     * When a gap that began at {@code since} must have ended: a gap the fault caused (one that began
     * by the deadline, such as a dead holder's membership expiring after the fault) by the deadline;
     * a later one, from a loss after recovery, within the same bound of its own start.
     */
    private Instant due(Instant since, Instant deadline) {
        return since.isAfter(deadline) ? since.plus(bound) : deadline;
    }

    /** Shard {@code s}'s live owners at {@code at}: its own Lease's holder, then other holders of overlapping ranges. */
    private static List<String> owners(int s, Map<Integer, GroupLeases.Tenure> tenures, Map<String, Instant> liveUntil,
            Instant at) {
        GroupLeases.Tenure own = tenures.get(s);
        if (own == null || !live(own.holder(), liveUntil, at)) {
            return List.of();
        }
        List<String> owners = new ArrayList<>(List.of(own.holder()));
        for (var other : tenures.entrySet()) {
            GroupLeases.Tenure t = other.getValue();
            if (other.getKey() != s && other.getKey() != GroupLeases.COORDINATOR && !owners.contains(t.holder())
                    && t.overlaps(own) && live(t.holder(), liveUntil, at)) {
                owners.add(t.holder());
            }
        }
        return owners;
    }

    private static boolean live(String holder, Map<String, Instant> liveUntil, Instant at) {
        Instant until = liveUntil.get(holder);
        return until != null && until.isAfter(at);
    }

    static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1f", d.toNanos() / 1e9);
    }
}
