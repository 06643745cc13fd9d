package dev.flotilla.chaos.engine;

import dev.flotilla.chaos.experiment.ChaosPlan;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.InvalidExperimentException;
import dev.flotilla.chaos.experiment.Mode;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import dev.flotilla.sharding.auditlog.AuditLog;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.sharding.auditlog.ChaosVerdict;
import dev.flotilla.sharding.auditlog.RangeOwnershipCheck;
import dev.flotilla.sharding.auditlog.RequestBudgetCheck;
import dev.flotilla.sharding.auditlog.SingleWriterCheck;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs experiments one after another on a {@link LocalTopology}: brings the group to a settled,
 * converged state, starts the load, applies the fault, ends it, lets the load's last wave converge,
 * and judges the invariants from the API server's audit log and the cluster's final state.
 */
public final class ExperimentRunner {

    private static final Logger log = LoggerFactory.getLogger(ExperimentRunner.class);
    /** The Lease names of the group every replica joins (flotilla run's default group). */
    private static final LeaseNaming NAMING = new LeaseNaming(dev.flotilla.sharding.ShardingConfig.DEFAULT_GROUP);

    /** The replicas' timings and budget: flotilla run flags the engine passes, and what the checks judge against. */
    /**
     * Shorter than flotilla run's defaults (15 s, 10 s, 2 s) so that a run fits in CI. The retry period is 1 s: each
     * failover waits out up to 3 passes, and at 2 s a kill of 2 of 3 converged 0.4 s inside T.
     */
    public static final Duration LEASE = Duration.ofSeconds(10);
    public static final Duration RENEW_DEADLINE = Duration.ofSeconds(7);
    public static final Duration RETRY = Duration.ofSeconds(1);
    public static final int SHARDS = 8;
    public static final double QPS = 5;
    public static final int BURST = 10;
    /**
     * Lease requests one replica may send in 10 s: what its guard's Lease budget lets through
     * (lease-qps x 1.1 x 10 + lease-burst), the same rule as for other requests.
     */
    static final int LEASE_BUDGET = RequestBudgetCheck.bucketBudget(GuardConfig.DEFAULT_LEASE_QPS, GuardConfig.DEFAULT_LEASE_BURST);
    /** Convergence may take this much longer than fault-free, after the lease duration: T = baseline + lease + 5 s. */
    static final Duration SLACK = Duration.ofSeconds(5);
    static final Duration LOAD_BEFORE_FAULT = Duration.ofSeconds(1);
    static final double STEADY_UPDATES_PER_SECOND = 2;
    private static final Duration SETTLE_LIMIT = Duration.ofSeconds(120);
    /** How long the fault-free run may take to converge; an experiment is watched for its T only. */
    private static final Duration FAULT_FREE_WATCH = Duration.ofSeconds(90);

    /** The arguments every replica gets after {@code run --kubeconfig FILE}. */
    public static List<String> runArgs() {
        return List.of("--allow-insecure-api-server", "--health-port", "-1", "--metrics-port", "-1",
                "--shards", String.valueOf(SHARDS), "--lease-duration", LEASE.toSeconds() + "s",
                "--renew-deadline", RENEW_DEADLINE.toSeconds() + "s", "--retry-period", RETRY.toSeconds() + "s",
                "--qps", String.valueOf(QPS), "--burst", String.valueOf(BURST), "--shutdown-timeout", "5s");
    }

    private final LocalTopology topology;
    private final Workload workload;
    private final int replicas;
    private final FaultInjector injector;
    private final RandomGenerator random;
    private Duration baseline;

    public ExperimentRunner(LocalTopology topology, Workload workload, int replicas, long seed) {
        this.topology = topology;
        this.workload = workload;
        this.replicas = replicas;
        this.injector = new FaultInjector(topology, seed);
        this.random = new SplittableRandom(seed);
    }

    /** Starts the replicas, populates the workload and measures the fault-free convergence time. */
    public Duration prepare() throws InterruptedException {
        workload.populate();
        topology.scaleTo(replicas);
        settle();
        ExperimentResult none = runTimeline("fault-free", "none", "flotilla", execution -> { }, Duration.ofDays(1), 1);
        baseline = none.convergence();
        if (baseline == null) {
            throw new IllegalStateException("the fault-free run never converged: " + none.violations());
        }
        log.atInfo().addKeyValue("baselineMillis", baseline.toMillis()).log("fault-free convergence measured");
        return baseline;
    }

    public Duration baseline() {
        return baseline;
    }

    /** T for every experiment. */
    public Duration convergenceLimit() {
        return baseline.plus(LEASE).plus(SLACK);
    }

    /** Runs one document with the replicas' current build and one wave of updates after the fault. */
    public ExperimentResult run(ChaosPlan plan, String build) throws InterruptedException {
        return run(plan, build, 1);
    }

    /**
     * The same with {@code waves} waves of updates (every source once each) after the fault. A single experiment's
     * pods are picked before it starts (none picked is an error); a Schedule's or a Workflow's when each fault starts.
     */
    public ExperimentResult run(ChaosPlan plan, String build, int waves) throws InterruptedException {
        plan.faults().forEach(injector::check);
        topology.restartCrashed();
        topology.scaleTo(replicas);
        settle();
        List<ReplicaPod> targets = plan instanceof Experiment e ? select(e) : List.of();
        return runTimeline(plan.name(), plan.describe(), build, execution -> execution.run(plan, targets),
                convergenceLimit(), waves);
    }

    private interface FaultPhase {
        void run(PlanExecution execution) throws InterruptedException;
    }

    private ExperimentResult runTimeline(String name, String action, String build, FaultPhase phase, Duration limit,
            int waves) throws InterruptedException {
        Map<String, Long> untouched = new HashMap<>();
        Map<String, Integer> restartsBefore = new HashMap<>();
        for (ReplicaPod p : topology.pods()) {
            untouched.put(p.name(), p.pid());
            restartsBefore.put(p.name(), p.restarts());
        }
        Instant from = Instant.now();
        List<Timeline.Converged> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread sampler = Thread.ofVirtual().name("chaos-sampler").start(() -> sample(samples, sampling));
        workload.startSteady(STEADY_UPDATES_PER_SECOND);
        long updatesBefore = workload.updates();
        Thread.sleep(LOAD_BEFORE_FAULT.toMillis());
        Instant phaseStart = Instant.now();
        log.atInfo().addKeyValue("experiment", name).addKeyValue("action", action).log("fault phase started");
        PlanExecution execution = new PlanExecution(injector::apply, this::pick);
        try {
            phase.run(execution);
        } catch (InterruptedException | RuntimeException | Error e) {
            // The faults have ended (PlanExecution's promise); the load and the sampler stop with them.
            sampling.set(false);
            sampler.interrupt();
            workload.stopSteady();
            throw e;
        }
        Instant faultEnd = Instant.now();
        long faultEndNanos = System.nanoTime();
        log.atInfo().addKeyValue("experiment", name).log("fault phase ended");
        List<Timeline.FaultWindow> windows = execution.windows();
        List<String> notes = new ArrayList<>(execution.notes());
        Instant faultStart = windows.stream().map(Timeline.FaultWindow::from).min(Instant::compareTo).orElse(phaseStart);
        List<String> targets = windows.stream().flatMap(w -> w.targets().stream()).distinct().toList();
        targets.forEach(untouched::remove);
        Thread.sleep(1000);
        workload.stopSteady();
        for (int i = 0; i < waves; i++) {
            workload.wave();
        }
        // Converged: every mirror holds the generator's last value. Measured from the fault's end.
        Duration convergence = null;
        Workload.State state = workload.state();
        // Watched until T after the fault's end: later is a violation whatever it would have taken.
        Duration watch = limit.toDays() >= 1 ? FAULT_FREE_WATCH : limit;
        long deadline = faultEndNanos + watch.toNanos();
        while (System.nanoTime() < deadline) {
            state = workload.state();
            if (state.done()) {
                convergence = Duration.between(faultEnd, Instant.now());
                break;
            }
            topology.restartCrashed().forEach(p -> notes.add("container of " + p + " exited unexpectedly; restarted"));
            Thread.sleep(500);
        }
        // Ownership is judged up to its deadline at least: a run that converged sooner still shows that every
        // range had its one live owner by then.
        Instant ownershipDeadline = faultEnd.plus(ownershipCheck().bound()).plusSeconds(1);
        long untilDeadline = Duration.between(Instant.now(), ownershipDeadline).toMillis();
        if (untilDeadline > 0 && limit.toDays() < 1) {
            Thread.sleep(untilDeadline);
        }
        Instant to = Instant.now();
        sampling.set(false);
        sampler.interrupt();
        sampler.join();
        List<String> violations = new ArrayList<>();
        if (convergence == null) {
            violations.add("convergence: " + state.converged() + " of " + state.total() + " converged within "
                    + String.format(java.util.Locale.ROOT, "%.1f", watch.toMillis() / 1000.0)
                    + " s of the fault's end; first behind: "
                    + state.behind().stream().limit(3).toList());
        } else if (convergence.compareTo(limit) > 0) {
            violations.add("convergence: took " + convergence.toMillis() + " ms, T = " + limit.toMillis() + " ms");
        }
        // No lost update: every source's mirror holds the last value written, and no source was written by anyone else.
        if (!state.overwritten().isEmpty()) {
            violations.add("no lost update: sources changed by someone other than the load generator: "
                    + state.overwritten().stream().limit(3).toList());
        }
        for (Map.Entry<String, Long> u : untouched.entrySet()) {
            ReplicaPod p = topology.pods().stream().filter(x -> x.name().equals(u.getKey())).findFirst().orElse(null);
            if (p == null || !p.isAlive() || p.pid() != u.getValue() || p.restarts() != restartsBefore.get(u.getKey())) {
                violations.add("untouched replicas keep running: " + u.getKey() + " was not targeted but "
                        + (p == null ? "is gone" : !p.isAlive() ? "is down" : "was restarted"));
            }
        }
        List<String> leftovers = topology.leftovers();
        if (!leftovers.isEmpty()) {
            violations.add("clean-up: " + leftovers);
        }
        // The server's own record, for the replicas only.
        List<AuditedRequest> audit = AuditLog.read(topology.auditLog().orElseThrow());
        ChaosVerdict verdict = judge(audit, from, to, faultEnd);
        violations.addAll(verdict.failures());
        if (!verdict.ownership().holds()) {
            // What a report needs to explain a gap: every accepted write of a shard Lease around the fault.
            notes.addAll(shardLeaseWrites(audit, faultStart.minusSeconds(1), to));
        }
        double allOwned = verdict.ownership().allOwnedAfterFault().toMillis() / 1000.0;
        double unowned = verdict.ownership().shards().stream()
                .mapToDouble(s -> s.longestUnowned().toMillis() / 1000.0).max().orElse(0);
        // Between faults far enough apart (a Schedule's firings), ownership is judged after each one as after the last.
        for (Interlude quiet : interludes(windows, ownershipCheck().bound())) {
            RangeOwnershipCheck.Result r = ownershipCheck().check(audit, quiet.after().to(), quiet.until(), quiet.after().to());
            r.violations().forEach(v -> violations.add("range ownership (after " + quiet.after().step() + "): " + v));
            double owned = r.allOwnedAfterFault().toMillis() / 1000.0;
            notes.add(String.format(java.util.Locale.ROOT, "after %s: every range owned again %.1f s after it ended",
                    quiet.after().step(), owned));
            allOwned = Math.max(allOwned, owned);
            unowned = Math.max(unowned, r.shards().stream().mapToDouble(s -> s.longestUnowned().toMillis() / 1000.0).max()
                    .orElse(0));
        }
        if (windows.size() > 1) {
            notes.add(String.format(java.util.Locale.ROOT, "after %s (the last to end): every range owned again %.1f s after the fault phase ended",
                    windows.stream().max(Comparator.comparing(Timeline.FaultWindow::to)).orElseThrow().step(),
                    verdict.ownership().allOwnedAfterFault().toMillis() / 1000.0));
        }
        int peak = verdict.requests().identities().stream().mapToInt(i -> i.peak().requests()).max().orElse(0);
        ExperimentResult result = new ExperimentResult(name, action, build, targets, faultStart, faultEnd, convergence,
                limit.toDays() >= 1 ? null : limit, verdict.singleWriter().size(), peak, verdict.requests().budget(), unowned,
                allOwned, workload.updates() - updatesBefore, violations, notes,
                timeline(audit, ownershipCheck().check(audit, from, to, faultEnd), from, to, samples, windows));
        log.atInfo().addKeyValue("experiment", name).addKeyValue("holds", result.holds())
                .addKeyValue("convergenceMillis", convergence == null ? -1 : convergence.toMillis())
                .addKeyValue("violations", violations.size()).log("experiment judged");
        return result;
    }

    /** A quiet span after the fault {@code after} and before the next fault started. */
    record Interlude(Timeline.FaultWindow after, Instant until) {
    }

    /**
     * The quiet spans between faults at least {@code bound} long: after each, every range must be owned again within
     * the bound, as after the last fault. Faults that overlap or follow closer are judged together, after the last.
     */
    static List<Interlude> interludes(List<Timeline.FaultWindow> windows, Duration bound) {
        List<Timeline.FaultWindow> byStart = windows.stream().sorted(Comparator.comparing(Timeline.FaultWindow::from)).toList();
        List<Interlude> out = new ArrayList<>();
        Timeline.FaultWindow latest = null;
        for (Timeline.FaultWindow w : byStart) {
            if (latest != null && !Duration.between(latest.to(), w.from()).minus(bound).isNegative()) {
                out.add(new Interlude(latest, w.from()));
            }
            if (latest == null || w.to().isAfter(latest.to())) {
                latest = w;
            }
        }
        return out;
    }

    /** Objects converged every half second until told to stop: the report's first chart. */
    private void sample(List<Timeline.Converged> samples, java.util.concurrent.atomic.AtomicBoolean sampling) {
        while (sampling.get()) {
            try {
                Workload.State st = workload.state();
                samples.add(new Timeline.Converged(Instant.now(), st.converged(), st.total()));
            } catch (RuntimeException e) {
                // A sample lost (the API server restarting in a ClusterChaos): the chart has a gap, nothing else.
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * The charts' data: the samples, each replica's non-Lease requests per second, and each range's owners over the
     * whole span ({@code drawn}: judged from the start, so that owners before and between faults show too).
     */
    static Timeline timeline(List<AuditedRequest> audit, RangeOwnershipCheck.Result drawn, Instant from, Instant to,
            List<Timeline.Converged> samples, List<Timeline.FaultWindow> faults) {
        int seconds = (int) Math.max(1, (Duration.between(from, to).toMillis() + 999) / 1000);
        Map<String, List<Integer>> requests = new java.util.TreeMap<>();
        for (AuditedRequest r : audit) {
            if (!r.user().startsWith(LocalTopology.USER_PREFIX) || r.isLease() || r.received().isBefore(from)
                    || !r.received().isBefore(to)) {
                continue;
            }
            List<Integer> counts = requests.computeIfAbsent(r.user().substring(LocalTopology.USER_PREFIX.length()),
                    u -> new ArrayList<>(java.util.Collections.nCopies(seconds, 0)));
            int at = (int) (Duration.between(from, r.received()).toMillis() / 1000);
            counts.set(at, counts.get(at) + 1);
        }
        List<Timeline.OwnerSpan> owners = new ArrayList<>();
        for (RangeOwnershipCheck.ShardTimeline shard : drawn.shards()) {
            for (RangeOwnershipCheck.Span span : shard.spans()) {
                owners.add(new Timeline.OwnerSpan(shard.shard(), span.from(), span.to(),
                        span.owners().stream().map(dev.flotilla.sharding.LeaseNaming::identityOf).toList()));
            }
        }
        List<Timeline.Converged> converged;
        synchronized (samples) {
            converged = List.copyOf(samples);
        }
        return new Timeline(from, to, converged, requests, owners, faults);
    }

    /** One line per accepted write of a shard Lease in {@code [from, to]}: when, by whom, and the holder, owner and range it left. */
    static List<String> shardLeaseWrites(List<AuditedRequest> audit, Instant from, Instant to) {
        List<String> out = new ArrayList<>();
        for (AuditedRequest r : audit) {
            Optional<Integer> shard = NAMING.shardOf(r.name());
            if (shard.isEmpty() || !r.resource().equals("leases") || !r.isAcceptedWrite() || r.completed().isBefore(from)
                    || r.completed().isAfter(to)) {
                continue;
            }
            Map<String, String> a = r.leaseAnnotations();
            out.add("shard lease write: " + r.completed() + " shard " + shard.get() + " by " + r.user() + ": holder '"
                    + r.leaseHolder().orElse("") + "', desired owner '" + a.getOrDefault(LeaseNaming.ANNOTATION_DESIRED_OWNER, "")
                    + "', range " + a.getOrDefault(LeaseNaming.ANNOTATION_RANGE, "-"));
        }
        return out;
    }

    private ChaosVerdict judge(List<AuditedRequest> audit, Instant from, Instant to, Instant faultEnd) {
        ShardSpace space = new ShardSpace(SHARDS);
        SingleWriterCheck single = new SingleWriterCheck(space, NAMING, LocalTopology.NAMESPACE);
        List<SingleWriterCheck.Violation> overlaps = single.violations(audit).stream()
                .filter(v -> !v.write().completed().isBefore(from) && !v.write().completed().isAfter(to)).toList();
        RequestBudgetCheck budget = new RequestBudgetCheck(QPS, BURST, LEASE_BUDGET, user -> user.startsWith(LocalTopology.USER_PREFIX));
        RangeOwnershipCheck ownership = ownershipCheck();
        return new ChaosVerdict(overlaps, budget.check(audit, from, to, Optional.of(faultEnd)),
                ownership.check(audit, faultEnd, to, faultEnd));
    }

    /** The range-ownership invariant at the engine's timings; its bound is also how long each experiment is judged. */
    private static RangeOwnershipCheck ownershipCheck() {
        return new RangeOwnershipCheck(new ShardSpace(SHARDS), NAMING,
                LocalTopology.NAMESPACE, LEASE, RETRY);
    }

    /** The pods the experiment's selector matches (labels as the API server has them), then its mode's pick. */
    List<ReplicaPod> select(Experiment e) {
        if (e.selector().isEmpty()) {
            return List.of();
        }
        List<ReplicaPod> picked = pick(e);
        if (picked.isEmpty() && !(e.mode() instanceof Mode.RandomMaxPercent)) {
            throw new InvalidExperimentException(e.source() + ": spec.selector matched no pod that mode " + e.mode()
                    + " could pick; nothing to act on");
        }
        return picked;
    }

    /** The same, empty when nothing matches: a Schedule's firing or a Workflow's node then applies nothing. */
    private List<ReplicaPod> pick(Experiment e) {
        if (e.selector().isEmpty()) {
            return List.of();
        }
        List<ReplicaPod> matched = new ArrayList<>();
        for (ReplicaPod p : topology.pods()) {
            if (e.selector().get().matches(LocalTopology.NAMESPACE, p.name(), topology.labelsOf(p))) {
                matched.add(p);
            }
        }
        synchronized (random) {
            return e.mode().pick(matched, Comparator.comparing(ReplicaPod::name), random);
        }
    }

    /** Waits until every shard is held by a live pod, the coordinator reports its layout settled, and the workload has converged. */
    void settle() throws InterruptedException {
        long deadline = System.nanoTime() + SETTLE_LIMIT.toNanos();
        String why = "";
        while (System.nanoTime() < deadline) {
            topology.restartCrashed();
            why = unsettled();
            if (why.isEmpty()) {
                return;
            }
            Thread.sleep(1000);
        }
        throw new IllegalStateException("the group did not settle within " + SETTLE_LIMIT.toSeconds() + " s: " + why);
    }

    private String unsettled() {
        Set<String> live = new HashSet<>();
        topology.pods().stream().filter(ReplicaPod::isAlive).forEach(p -> live.add(p.name()));
        if (live.size() < replicas) {
            return live.size() + " of " + replicas + " replicas running";
        }
        for (ReplicaPod p : topology.pods()) {
            if (p.isAlive() && !topology.joinedSinceStart(p)) {
                return p.name() + " has not joined the group since its container started";
            }
        }
        Map<String, Integer> held = new HashMap<>();
        int shards = 0;
        for (Lease l : topology.admin().leases().inNamespace(LocalTopology.NAMESPACE)
                .withLabel(LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_SHARD).list().getItems()) {
            String holder = l.getSpec().getHolderIdentity() == null ? "" : l.getSpec().getHolderIdentity();
            String identity = holder.contains("_") ? holder.substring(0, holder.lastIndexOf('_')) : holder;
            if (live.contains(identity)) {
                shards++;
                held.merge(identity, 1, Integer::sum);
            }
        }
        if (shards < SHARDS) {
            return shards + " of " + SHARDS + " shards held by live replicas";
        }
        // The group's own word that its layout is in place: the coordinator's annotation, carried by its renewals.
        Lease coordinator = topology.admin().leases().inNamespace(LocalTopology.NAMESPACE)
                .withName(NAMING.coordinatorLease()).get();
        if (coordinator == null || coordinator.getMetadata().getAnnotations() == null
                || !"true".equals(coordinator.getMetadata().getAnnotations().get(LeaseNaming.ANNOTATION_LAYOUT_SETTLED))) {
            return "the coordinator has not reported its layout settled (shards held: " + held + ")";
        }
        Workload.State s = workload.state();
        return s.done() ? "" : s.converged() + " of " + s.total() + " objects converged";
    }
}
