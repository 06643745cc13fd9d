package dev.flotilla.sharding.auditlog;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The client-side rate limits, judged from the API server's audit log: no judged identity sent
 * more requests in any 10 s than its budget allows, and none in the 30 s after a recovery (no
 * retry storm once the server or the network is back).
 *
 * <p>Windows start at each request (its {@link AuditedRequest#received} time, when the client sent
 * it) and last {@link #WINDOW}; that finds the busiest 10 s exactly, which aligned buckets would
 * split in two. A token bucket of rate {@code qps} and size {@code burst} lets through at most
 * {@code qps x 10 + burst} in 10 s; the budget allows 10% more rate ({@link #SLACK}) for clock
 * and scheduling skew between the client's limiter and the server's timestamps. Lease requests
 * have a limiter of their own in the guard and are judged apart, against {@code leaseBudget}
 * (see {@link #defaultLeaseBudget}); the self reviews ({@link AuditedRequest#SELF_REVIEWS}: the
 * startup check's, sent before the limiter exists) are not counted.
 *
 * <pre>{@code
 * Instant from;
 * Instant to;
 * Instant recovered;
 * // the guard's defaults (module resilience), as flotilla chaos verify takes them
 * var check = new RequestBudgetCheck(dev.flotilla.resilience.guard.GuardConfig.DEFAULT_QPS,
 *         dev.flotilla.resilience.guard.GuardConfig.DEFAULT_BURST,
 *         RequestBudgetCheck.defaultLeaseBudget(32, Duration.ofSeconds(2)),
 *         user -> user.startsWith("system:serviceaccount:flotilla-system:"));
 * RequestBudgetCheck.Result result = check.check(AuditLog.read(Path.of("audit.log")), from, to, Optional.of(recovered));
 * result.holds();
 * }</pre>
 */
public final class RequestBudgetCheck {

    /** The length of a judged window. */
    public static final Duration WINDOW = Duration.ofSeconds(10);
    /** How long after a recovery the windows are reported apart ({@link IdentityResult#afterRecoveryPeak}). */
    public static final Duration AFTER_RECOVERY = Duration.ofSeconds(30);
    /** Rate slack over the configured qps: the limiter's clock is not the server's. */
    public static final double SLACK = 1.1;

    /** Leases a replica renews every retry period: its membership Lease, and the coordinator Lease if it leads. */
    static final int RENEWED_LEASES = 2;
    /**
     * Writes of each shard Lease by one replica in one window at worst: a coordinator moving the
     * whole layout hands each range back, rewrites it and assigns it (docs/architecture.md, protocol 3).
     */
    static final int WRITES_PER_SHARD = 3;

    /**
     * A {@link #WINDOW} and how many requests of one identity started in it.
     *
     * @param start the first request's send time; the window is {@code [start, start + WINDOW)}
     */
    public record Window(Instant start, int requests) {
        public Window {
            Objects.requireNonNull(start, "start");
            if (requests < 0) {
                throw new IllegalArgumentException("requests must not be negative, got " + requests);
            }
        }
    }

    /**
     * One identity's traffic.
     *
     * @param peak                   its busiest window of non-Lease requests in the judged span
     * @param violations             the busiest window of each run of windows over {@link Result#budget}, in time order
     * @param leasePeak              its busiest window of Lease requests
     * @param leaseViolations        the same as {@code violations}, over {@link Result#leaseBudget}
     * @param afterRecoveryPeak      its busiest window of non-Lease requests starting in the 30 s after the
     *                               recovery; empty when no recovery instant was given
     * @param afterRecoveryLeasePeak the same for Lease requests
     */
    public record IdentityResult(String identity, Window peak, List<Window> violations, Window leasePeak,
            List<Window> leaseViolations, Optional<Window> afterRecoveryPeak, Optional<Window> afterRecoveryLeasePeak) {
        public IdentityResult {
            Objects.requireNonNull(identity, "identity");
            Objects.requireNonNull(peak, "peak");
            violations = List.copyOf(violations);
            Objects.requireNonNull(leasePeak, "leasePeak");
            leaseViolations = List.copyOf(leaseViolations);
            Objects.requireNonNull(afterRecoveryPeak, "afterRecoveryPeak");
            Objects.requireNonNull(afterRecoveryLeasePeak, "afterRecoveryLeasePeak");
        }
    }

    /**
     * The judgement of every judged identity that sent anything in the span.
     *
     * @param budget      non-Lease requests allowed per window
     * @param leaseBudget Lease requests allowed per window
     * @param recovery    the instant after which {@code afterRecoveryPeak} was measured, if one was given
     * @param identities  by identity name
     */
    public record Result(double budget, int leaseBudget, Optional<Instant> recovery, List<IdentityResult> identities) {
        public Result {
            Objects.requireNonNull(recovery, "recovery");
            identities = List.copyOf(identities);
        }

        /** Whether no window, after the recovery or not, went over its budget. */
        public boolean holds() {
            return failures().isEmpty();
        }

        /** One line per identity and kind of traffic that went over its budget. */
        public List<String> failures() {
            List<String> out = new ArrayList<>();
            for (IdentityResult i : identities) {
                if (!i.violations().isEmpty()) {
                    out.add(over(i.identity(), "requests", i.violations().size(), i.peak(), budget));
                }
                if (!i.leaseViolations().isEmpty()) {
                    out.add(over(i.identity(), "Lease requests", i.leaseViolations().size(), i.leasePeak(), leaseBudget));
                }
                i.afterRecoveryPeak().filter(w -> w.requests() > budget).ifPresent(w -> out.add(i.identity() + ": "
                        + w.requests() + " requests in the 10 s from " + w.start() + ", within 30 s after the recovery at "
                        + recovery.orElseThrow() + " (budget " + format(budget) + "): a retry storm"));
                i.afterRecoveryLeasePeak().filter(w -> w.requests() > leaseBudget).ifPresent(w -> out.add(i.identity()
                        + ": " + w.requests() + " Lease requests in the 10 s from " + w.start()
                        + ", within 30 s after the recovery at " + recovery.orElseThrow() + " (budget " + leaseBudget
                        + "): a retry storm"));
            }
            return out;
        }

        private static String over(String identity, String what, int episodes, Window peak, double budget) {
            return identity + ": " + peak.requests() + " " + what + " in the 10 s from " + peak.start() + " (budget "
                    + format(budget) + "; " + episodes + " time" + (episodes == 1 ? "" : "s") + " over it)";
        }
    }

    private final double qps;
    private final int burst;
    private final int leaseBudget;
    private final Predicate<String> judged;

    /**
     * @param qps         the guard's requests per second (e.g. {@code GuardConfig.DEFAULT_QPS})
     * @param burst       the guard's burst (e.g. {@code GuardConfig.DEFAULT_BURST})
     * @param leaseBudget Lease requests allowed per identity per 10 s ({@link #defaultLeaseBudget})
     * @param judged      which users are judged: the replicas, not the admin or a load generator
     */
    public RequestBudgetCheck(double qps, int burst, int leaseBudget, Predicate<String> judged) {
        if (!(qps > 0) || Double.isInfinite(qps)) {
            throw new IllegalArgumentException("qps must be positive, got " + qps);
        }
        if (burst < 0 || leaseBudget < 0) {
            throw new IllegalArgumentException("burst and lease budget must not be negative, got " + burst + ", " + leaseBudget);
        }
        this.qps = qps;
        this.burst = burst;
        this.leaseBudget = leaseBudget;
        this.judged = Objects.requireNonNull(judged, "judged");
    }

    /**
     * Lease requests one replica may send in 10 s: {@code ceil(1.1 x (10 s / retryPeriod) x 2) + 3 x shards}.
     * A replica renews two Leases every retry period (its membership, and the coordinator's while it
     * leads; shard Leases are never renewed, their holders' memberships fence them), with the same
     * 10% slack as requests; on top, a coordinator moving the whole layout in one window writes every
     * shard Lease three times (hands the range back, rewrites it, assigns it). With 32 shards and a
     * 2 s retry period: 11 + 96 = 107.
     *
     * <pre>{@code
     * int budget = RequestBudgetCheck.defaultLeaseBudget(dev.flotilla.sharding.ShardSpace.DEFAULT_SHARDS,
 *         dev.flotilla.sharding.ShardingConfig.DEFAULT_RETRY_PERIOD);
     * }</pre>
     */
    public static int defaultLeaseBudget(int shards, Duration retryPeriod) {
        if (shards < 1 || retryPeriod.isNegative() || retryPeriod.isZero()) {
            throw new IllegalArgumentException("need at least 1 shard and a positive retry period, got " + shards + ", "
                    + retryPeriod);
        }
        double renewals = SLACK * WINDOW.toNanos() / retryPeriod.toNanos() * RENEWED_LEASES;
        return (int) Math.ceil(renewals - 1e-9) + WRITES_PER_SHARD * shards;
    }

    /**
     * What a token bucket of {@code qps} and {@code burst} lets through in one window, with the
     * 10% slack: {@code qps x 1.1 x 10 + burst}, rounded down. The request budget is this of the
     * guard's qps and burst; the Lease budget, by default, this of its lease-qps and lease-burst.
     *
     * <pre>{@code
     * int leases = RequestBudgetCheck.bucketBudget(40, 80); // 520
     * }</pre>
     */
    public static int bucketBudget(double qps, int burst) {
        return (int) Math.floor(qps * SLACK * WINDOW.toSeconds() + burst + 1e-9);
    }

    /** Non-Lease requests allowed per identity per window: {@code qps x 1.1 x 10 + burst}. */
    public double budget() {
        return qps * SLACK * WINDOW.toSeconds() + burst;
    }

    public int leaseBudget() {
        return leaseBudget;
    }

    /**
     * Judges the requests sent in {@code [from, to]} by every judged identity, and, given a
     * recovery instant, the windows that start in the {@link #AFTER_RECOVERY} after it.
     */
    public Result check(List<AuditedRequest> log, Instant from, Instant to, Optional<Instant> recovery) {
        if (to.isBefore(from)) {
            throw new IllegalArgumentException("the span ends (" + to + ") before it starts (" + from + ")");
        }
        Map<String, List<Instant>> requests = new TreeMap<>();
        Map<String, List<Instant>> leases = new TreeMap<>();
        for (AuditedRequest r : log) {
            if (!judged.test(r.user()) || AuditedRequest.SELF_REVIEWS.contains(r.resource())) {
                continue;
            }
            (r.isLease() ? leases : requests).computeIfAbsent(r.user(), u -> new ArrayList<>()).add(r.received());
            (r.isLease() ? requests : leases).computeIfAbsent(r.user(), u -> new ArrayList<>());
        }
        double budget = budget();
        List<IdentityResult> out = new ArrayList<>();
        for (String identity : requests.keySet()) {
            List<Instant> mine = sorted(requests.get(identity));
            List<Instant> myLeases = sorted(leases.get(identity));
            if (within(mine, from, to).isEmpty() && within(myLeases, from, to).isEmpty()
                    && recovery.map(at -> within(mine, at, at.plus(AFTER_RECOVERY)).isEmpty()
                            && within(myLeases, at, at.plus(AFTER_RECOVERY)).isEmpty()).orElse(true)) {
                continue; // sent nothing in what was asked about
            }
            List<Window> windows = windows(within(mine, from, to), from, to);
            List<Window> leaseWindows = windows(within(myLeases, from, to), from, to);
            out.add(new IdentityResult(identity, peak(windows, from), over(windows, budget), peak(leaseWindows, from),
                    over(leaseWindows, leaseBudget), recovery.map(at -> afterRecovery(mine, at)),
                    recovery.map(at -> afterRecovery(myLeases, at))));
        }
        return new Result(budget, leaseBudget, recovery, out);
    }

    private static List<Instant> sorted(List<Instant> times) {
        List<Instant> copy = new ArrayList<>(times);
        copy.sort(Comparator.naturalOrder());
        return copy;
    }

    /** The part of sorted {@code times} in {@code [from, to]}. */
    private static List<Instant> within(List<Instant> times, Instant from, Instant to) {
        return times.stream().filter(t -> !t.isBefore(from) && !t.isAfter(to)).toList();
    }

    /** One window per request of sorted {@code times} that starts in {@code [from, to]}, counting the requests of {@code times} in it. */
    private static List<Window> windows(List<Instant> times, Instant from, Instant to) {
        List<Window> out = new ArrayList<>();
        int end = 0;
        for (int start = 0; start < times.size(); start++) {
            Instant t = times.get(start);
            if (start > 0 && times.get(start - 1).equals(t)) {
                continue; // same window as the previous request's
            }
            if (t.isBefore(from) || t.isAfter(to)) {
                continue;
            }
            Instant limit = t.plus(WINDOW);
            end = Math.max(end, start);
            while (end < times.size() && times.get(end).isBefore(limit)) {
                end++;
            }
            out.add(new Window(t, end - start));
        }
        return out;
    }

    private static Window afterRecovery(List<Instant> times, Instant recovery) {
        Instant last = recovery.plus(AFTER_RECOVERY).minusNanos(1);
        return peak(windows(within(times, recovery, last.plus(WINDOW)), recovery, last), recovery);
    }

    private static Window peak(List<Window> windows, Instant none) {
        return windows.stream().max(Comparator.comparingInt(Window::requests)).orElse(new Window(none, 0));
    }

    /** The busiest window of each run of consecutive windows over {@code budget}. */
    private static List<Window> over(List<Window> windows, double budget) {
        List<Window> out = new ArrayList<>();
        Window worst = null; // of the run in progress, if any
        for (Window w : windows) {
            if (w.requests() > budget) {
                worst = worst == null || w.requests() > worst.requests() ? w : worst;
            } else if (worst != null) {
                out.add(worst);
                worst = null;
            }
        }
        if (worst != null) {
            out.add(worst);
        }
        return out;
    }

    static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : String.format(java.util.Locale.ROOT, "%.1f", value);
    }
}
