package dev.flotilla.tuning.controller;

import dev.flotilla.core.fence.FencedWrite;
import dev.flotilla.tuning.quantity.Resources;
import dev.flotilla.core.apply.Conditions;
import dev.flotilla.core.apply.Status;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.core.reconcile.Request;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.tuning.api.ContainerRecommendation;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.api.ResourceTuningPolicyStatus;
import dev.flotilla.tuning.api.TuningAction;
import dev.flotilla.tuning.api.TuningMode;
import dev.flotilla.tuning.api.WorkloadKind;
import dev.flotilla.tuning.guard.Decision;
import dev.flotilla.tuning.guard.GuardrailContext;
import dev.flotilla.tuning.guard.Guardrails;
import dev.flotilla.tuning.guard.PodShape;
import dev.flotilla.tuning.guard.Surge;
import dev.flotilla.tuning.policy.PolicyCheck;
import dev.flotilla.tuning.policy.LabelSelectors;
import dev.flotilla.tuning.policy.PolicyValidator;
import dev.flotilla.tuning.recommend.ContainerResources;
import dev.flotilla.tuning.recommend.ContainerSignals;
import dev.flotilla.tuning.recommend.Finding;
import dev.flotilla.tuning.recommend.Recommendation;
import dev.flotilla.tuning.recommend.Recommender;
import dev.flotilla.tuning.recommend.ResourceBounds;
import dev.flotilla.tuning.recommend.Rule;
import dev.flotilla.tuning.recommend.TuningHistory;
import dev.flotilla.tuning.signals.SignalSource;
import dev.flotilla.tuning.signals.SignalsUnavailableException;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStrategy;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resource tuner: for each policy, finds its workloads and their pods, reads each
 * container's signals, recommends (with the kernel rules), passes the recommendation through the
 * guardrails and acts as the policy's mode says: status only, the pod template (server-side apply),
 * or the running pods (in-place resize). Never evicts, never crashes on a bad policy: an invalid
 * one gets an {@code Invalid} condition and causes no action; missing signals get
 * {@code SignalsMissing} and cause no action.
 *
 * <pre>{@code
 * var prometheus = new dev.flotilla.tuning.signals.PrometheusClient(URI.create("http://prometheus:9090"),
 *         Duration.ofSeconds(3));
 * var signals = new dev.flotilla.tuning.signals.PrometheusSignals(prometheus,
 *         dev.flotilla.tuning.signals.SignalMetrics.defaults(), Duration.ofMinutes(30), Duration.ofSeconds(30),
 *         Duration.ofMinutes(5));
 * manager.controller(ResourceTuningPolicy.class).named("resource-tuner")
 *         .complete(new TuningReconciler(client, signals, TuningSettings.defaults()));
 * }</pre>
 */
public final class TuningReconciler implements Reconciler<ResourceTuningPolicy> {

    private static final Logger log = LoggerFactory.getLogger(TuningReconciler.class);

    public static final String INVALID = "Invalid";
    public static final String SIGNALS_MISSING = "SignalsMissing";
    public static final String THROTTLED = "Throttled";
    /** True while the kill switch stops every action (engaged, or not readable: it fails closed). */
    public static final String KILL_SWITCH = "KillSwitch";
    /** True on the newer of two policies that select one workload: it takes no action. */
    public static final String CONFLICT = "Conflict";
    /** True when Apply left a change undone because another field manager owns the fields. */
    public static final String FIELD_CONFLICT = "FieldConflict";

    private final KubernetesClient client;
    private final SignalSource signals;
    private final TuningSettings settings;
    private final ClusterFacts facts;
    private final PodResizer resizer;
    private final TunerMetrics metrics;

    /** A reconciler whose metrics are not exported (see {@link TunerMetrics#unexported()}). */
    public TuningReconciler(KubernetesClient client, SignalSource signals, TuningSettings settings) {
        this(client, signals, settings, TunerMetrics.unexported());
    }

    public TuningReconciler(KubernetesClient client, SignalSource signals, TuningSettings settings, TunerMetrics metrics) {
        this.client = Objects.requireNonNull(client, "client");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.signals = Objects.requireNonNull(signals, "signals");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.facts = new ClusterFacts(client);
        this.resizer = new PodResizer(client);
    }

    /** One workload the policy targets, with its pod template and pods. */
    private record Workload(WorkloadKind kind, HasMetadata object, PodTemplateSpec template, LabelSelector podSelector,
            int replicas) {
        String ref() {
            return kind + "/" + object.getMetadata().getName();
        }
    }

    @Override
    public Result reconcile(Request<ResourceTuningPolicy> request) throws Exception {
        Optional<ResourceTuningPolicy> found = request.object();
        String key = request.key().namespace() + "/" + request.key().name();
        if (found.isEmpty()) {
            metrics.forget(key); // the policy is gone: so are its containers' gauges
            return Result.done();
        }
        ResourceTuningPolicy policy = copyOf(found.get());
        String ns = policy.getMetadata().getNamespace();
        Long generation = policy.getMetadata().getGeneration();
        ResourceTuningPolicyStatus previous = policy.getStatus() == null ? new ResourceTuningPolicyStatus() : policy.getStatus();
        ResourceTuningPolicyStatus status = new ResourceTuningPolicyStatus();
        status.setObservedGeneration(generation);
        status.setConditions(previous.getConditions());
        status.setLastAction(previous.getLastAction());

        Optional<long[]> largestNode = facts.largestNode(); // one node list per pass, for validation and for Apply
        PolicyCheck check = PolicyValidator.check(policy.getSpec(), largestNode);
        if (check instanceof PolicyCheck.Invalid invalid) {
            metrics.forget(key);
            return invalid(policy, status, "InvalidSpec", invalid.message(), generation);
        }
        PolicyCheck.Valid valid = (PolicyCheck.Valid) check;
        if (valid.mode() == TuningMode.Off) {
            metrics.forget(key);
            setCondition(status, INVALID, false, "Valid", "", generation);
            setCondition(status, Conditions.READY, true, "Off", "mode is Off: nothing is read or changed", generation);
            writeStatus(policy, status, Set.of());
            return Result.done();
        }
        List<Workload> workloads = workloads(ns, valid);
        if (workloads.isEmpty()) {
            metrics.forget(key);
            invalid(policy, status, "NoTargets", "spec.target.selector matches no " + valid.kinds() + " in namespace " + ns,
                    generation);
            return Result.requeueAfter(settings.resync()); // one may be created later
        }
        setCondition(status, INVALID, false, "Valid", "", generation);
        Optional<String> claimed = olderClaim(policy, workloads, largestNode);
        if (claimed.isPresent()) {
            metrics.forget(key);
            log.atWarn().addKeyValue("namespace", ns).addKeyValue("name", policy.getMetadata().getName())
                    .addKeyValue("message", claimed.get()).log("tuning policy overlaps an older one; no action");
            status.setContainers(new ArrayList<>());
            setCondition(status, CONFLICT, true, "OverlappingPolicy", claimed.get(), generation);
            setCondition(status, Conditions.READY, false, "Conflict", claimed.get(), generation);
            writeStatus(policy, status, Set.of());
            return Result.requeueAfter(settings.resync()); // the older one may be deleted or narrowed
        }
        setCondition(status, CONFLICT, false, "NoOverlap", "", generation);
        KillSwitchState killSwitch = settings.killSwitch().get();
        if (killSwitch instanceof KillSwitchState.Engaged engaged) {
            setCondition(status, KILL_SWITCH, true, engaged.reason(), engaged.message() + "; no action is taken", generation);
        } else {
            setCondition(status, KILL_SWITCH, false, "Released", "", generation);
        }
        List<String> fieldConflicts = new ArrayList<>();
        TemplateApply.Session applySession = new TemplateApply.Session(settings.fieldManager());
        Instant now = settings.clock().instant();
        Set<String> missing = new LinkedHashSet<>();
        String unavailable = null;
        List<String> throttled = new ArrayList<>();
        // A namespace's LimitRange does not change within a pass; its quota room does (an in-place resize raises the pods'
        // requests), so the quota is still read per action.
        Optional<GuardrailContext.LimitRangeBounds> limitRange = facts.limitRange(ns);
        QuotaLedger quotaLedger = new QuotaLedger(); // what this pass's Apply actions promised out of the quota
        SignalSource source = signals.withMetricNames(valid.signalMetrics());
        for (Workload w : workloads) {
            List<Pod> pods = pods(ns, w.podSelector());
            if (w.template() == null || w.template().getSpec() == null || w.template().getSpec().getContainers() == null) {
                continue; // someone else's malformed workload: nothing to size
            }
            for (Container container : w.template().getSpec().getContainers()) {
                Optional<ResourceBounds> bounds = valid.boundsFor(container.getName());
                if (bounds.isEmpty()) {
                    continue; // this policy does not govern the container
                }
                ContainerResources current = Resources.of(container.getResources());
                if (pods.isEmpty()) {
                    continue; // scaled to zero: no signals to read and nothing running to size (its entry is carried over)
                }
                ContainerSignals s;
                try {
                    s = source.fetch(ns, pods.stream().map(p -> p.getMetadata().getName()).toList(), container.getName(), now);
                } catch (SignalsUnavailableException e) {
                    metrics.signalFailure();
                    unavailable = e.getMessage();
                    continue;
                }
                Optional<ContainerRecommendation> before = previous.getContainers().stream()
                        .filter(c -> w.ref().equals(c.getWorkload()) && container.getName().equals(c.getContainer())).findFirst();
                Optional<Instant> fromStatus = before.map(ContainerRecommendation::getLastChanged).filter(Objects::nonNull)
                        .map(t -> parseOrNow(t, now));
                // The workload's own record of the tuner's last template change (its managedFields entry) is a floor
                // for the cool-down that survives a lost status: a policy deleted and created again, another policy
                // taking over after a Conflict, a status write that failed.
                Optional<Instant> fromWorkload = TemplateApply.lastApplied(w.object(), settings.fieldManager());
                Optional<Instant> lastChanged = fromStatus.isEmpty() ? fromWorkload : fromWorkload.isEmpty() ? fromStatus
                        : Optional.of(fromStatus.get().isAfter(fromWorkload.get()) ? fromStatus.get() : fromWorkload.get());
                TuningHistory history = new TuningHistory(lastChanged, lastChanged);
                // A running pod's CPU limit cannot be removed in place: InPlace raises it instead of lifting it.
                var rules = valid.mode() == TuningMode.InPlace ? valid.rules().withLimits(valid.rules().manageLimits(), false)
                        : valid.rules();
                Recommender recommender = new Recommender(rules, bounds.get());
                Recommendation rec = recommender.recommend(current, s, history, now);
                missing.addAll(rec.missing());
                metrics.findings(rec.findings());
                if (rec.fired(Rule.SELF_THROTTLING)) {
                    throttled.add(w.ref() + "/" + container.getName());
                }
                ContainerRecommendation entry = new ContainerRecommendation();
                entry.setWorkload(w.ref());
                entry.setContainer(container.getName());
                entry.setCurrent(Resources.values(current));
                entry.setRecommended(Resources.values(rec.target()));
                entry.setFindings(rec.findings().stream().map(Finding::toString).toList());
                entry.setMissingSignals(List.copyOf(rec.missing()));
                entry.setUsageOnly(rec.usageOnly());
                entry.setLastChanged(lastChanged.map(Instant::toString).orElse(null));
                boolean urgent = rec.fired(Rule.OOM_BUMP) || rec.fired(Rule.SELF_THROTTLING);
                switch (valid.mode()) {
                    case Apply -> act(status, entry, attempt(w.ref(), "Apply", () -> applyTemplate(ns, w, container, current,
                            rec.target(), bounds.get(), valid, urgent, lastChanged, largestNode, limitRange, quotaLedger,
                            fieldConflicts, applySession, now)), now);
                    case InPlace -> {
                        for (Pod pod : pods) {
                            // Each pod is sized from what it runs with now (it may differ from the template after earlier resizes).
                            act(status, entry, attempt("Pod/" + pod.getMetadata().getName(), "InPlace", () -> resizePod(ns, pod,
                                    container.getName(), s, recommender, history, bounds.get(), valid, lastChanged, limitRange, now)), now);
                        }
                    }
                    default -> { }
                }
                status.getContainers().add(entry);
            }
        }
        // Entries not looked at this pass (no pods, no signals) keep their last recommendation and, above all, their
        // lastChanged: dropping it would let the next pass skip the cool-down.
        for (ContainerRecommendation old : previous.getContainers()) {
            boolean seen = status.getContainers().stream().anyMatch(c -> Objects.equals(c.getWorkload(), old.getWorkload())
                    && Objects.equals(c.getContainer(), old.getContainer()));
            boolean stillTargeted = workloads.stream().anyMatch(w -> w.ref().equals(old.getWorkload()));
            if (!seen && stillTargeted) {
                status.getContainers().add(old);
            }
        }
        if (unavailable != null) {
            setCondition(status, SIGNALS_MISSING, true, "PrometheusUnavailable", unavailable + "; no action taken", generation);
        } else if (!missing.isEmpty()) {
            setCondition(status, SIGNALS_MISSING, true, "UsageOnlyFallback",
                    "absent or stale: " + String.join(", ", missing) + "; sized from the signals that exist", generation);
        } else {
            setCondition(status, SIGNALS_MISSING, false, "AllSignalsPresent", "", generation);
        }
        setCondition(status, FIELD_CONFLICT, !fieldConflicts.isEmpty(), fieldConflicts.isEmpty() ? "NoConflict"
                : "OwnedByAnotherManager", String.join("; ", fieldConflicts), generation);
        setCondition(status, THROTTLED, !throttled.isEmpty(), throttled.isEmpty() ? "NotThrottled" : "SelfThrottling",
                String.join(", ", throttled), generation);
        setCondition(status, Conditions.READY, unavailable == null, unavailable == null ? "Tuned" : "SignalsMissing",
                unavailable == null ? status.getContainers().size() + " container(s) sized" : unavailable, generation);
        metrics.report(key, ns, status.getContainers());
        writeStatus(policy, status, workloads.stream().map(Workload::ref).collect(java.util.stream.Collectors.toSet()));
        return Result.requeueAfter(settings.resync());
    }

    /** The outcome of one guarded action. */
    record Outcome(String workload, String mode, String result, String message, boolean changed) {
    }

    private void act(ResourceTuningPolicyStatus status, ContainerRecommendation entry, Outcome outcome, Instant now) {
        metrics.action(outcome.result());
        TuningAction action = new TuningAction();
        action.setTime(now.toString());
        action.setWorkload(outcome.workload());
        action.setContainer(entry.getContainer());
        action.setMode(outcome.mode());
        action.setResult(outcome.result());
        action.setMessage(outcome.message());
        if (outcome.changed()) {
            entry.setLastChanged(now.toString());
        }
        entry.getActions().add(outcome.workload() + ": " + outcome.result()
                + (outcome.message() == null || outcome.message().isEmpty() ? "" : " (" + outcome.message() + ")"));
        if (!"NoChange".equals(outcome.result())) {
            status.setLastAction(action);
        }
    }

    private GuardrailContext context(List<ContainerResources> others, ResourceBounds bounds, PolicyCheck.Valid valid,
            boolean urgent, Optional<Instant> lastChanged, Optional<GuardrailContext.Capacity> node,
            Optional<GuardrailContext.LimitRangeBounds> limitRange, Optional<GuardrailContext.Capacity> quota, int replicas,
            PodShape pod, int surge) {
        return new GuardrailContext(others, bounds, valid.rules().maxStepUp(), valid.rules().maxStepDown(), urgent, lastChanged,
                valid.rules().coolDownUp(), node, limitRange, quota, replicas,
                settings.killSwitch().get() instanceof KillSwitchState.Engaged, // read again: a switch flipped mid-pass stops the rest
                pod.initContainers(), pod.overhead(), surge);
    }

    private Outcome applyTemplate(String ns, Workload w, Container container, ContainerResources current, ContainerResources target,
            ResourceBounds bounds, PolicyCheck.Valid valid, boolean urgent, Optional<Instant> lastChanged,
            Optional<long[]> largestNode, Optional<GuardrailContext.LimitRangeBounds> limitRange, QuotaLedger quotaLedger,
            List<String> fieldConflicts, TemplateApply.Session session, Instant now) {
        List<ContainerResources> others = w.template().getSpec().getContainers().stream()
                .filter(c -> !c.getName().equals(container.getName())).map(c -> Resources.of(c.getResources())).toList();
        PodShape pod = ClusterFacts.shape(w.template().getSpec(), facts.runtimeClassOverhead(w.template().getSpec()));
        // New pods must fit on some node: the pod's running part (containers, sidecars, overhead) may grow only up to the
        // largest node's allocatable. (Its init containers' peak does not limit a raise; see PodShape.steadyRequests.)
        PodShape.Totals running = pod.steadyRequests();
        Optional<GuardrailContext.Capacity> fit = largestNode.map(n -> GuardrailContext.Capacity.requests(
                Math.max(0, n[0] - running.cpuMillis()), Math.max(0, n[1] - running.memoryBytes())));
        int replicas = Math.max(1, w.replicas());
        int surge = surge(w, replicas);
        Decision d = Guardrails.judge(current, target, context(others, bounds, valid, urgent, lastChanged, fit, limitRange,
                quotaLedger.roomFor(w.ref(), facts.quotaRoom(ns)), replicas, pod, surge), now);
        if (d instanceof Decision.Refuse r) {
            return refused(w.ref(), "Apply", r);
        }
        Decision.Allow allow = (Decision.Allow) d;
        var resources = Resources.requirements(allow.target(), container.getResources());
        List<Container> containers = session.containers(w.ref(), w.object(), w.template().getSpec(), container.getName(), resources);
        HasMetadata patch = switch (w.kind()) {
            case Deployment -> new DeploymentBuilder().withNewMetadata().withName(w.object().getMetadata().getName())
                    .withNamespace(ns).endMetadata().withNewSpec().withNewTemplate().withNewSpec()
                    .withContainers(containers).endSpec().endTemplate().endSpec().build();
            case StatefulSet -> new StatefulSetBuilder().withNewMetadata().withName(w.object().getMetadata().getName())
                    .withNamespace(ns).endMetadata().withNewSpec().withNewTemplate().withNewSpec()
                    .withContainers(containers).endSpec().endTemplate().endSpec().build();
        };
        TemplateApply.ApplyResult applied = TemplateApply.apply(client, patch, settings.fieldManager(), valid::mayTakeOverFrom);
        if (applied instanceof TemplateApply.ApplyResult.Conflicted c) {
            String owners = String.join(", ", c.managers());
            String fields = String.join(", ", c.conflicts().stream().map(TemplateApply.FieldConflict::field).distinct().toList());
            fieldConflicts.add(w.ref() + " container " + container.getName() + ": " + fields + " owned by field manager "
                    + owners + " (list it in spec.takeOverFrom to let the tuner take them)");
            log.atWarn().addKeyValue("namespace", ns).addKeyValue("workload", w.ref()).addKeyValue("container", container.getName())
                    .addKeyValue("owners", owners).log("pod template not resized: another field manager owns the resources");
            return new Outcome(w.ref(), "Apply", "Refused", "FIELD_OWNERSHIP: " + fields + " owned by field manager " + owners,
                    false);
        }
        List<String> notes = new ArrayList<>(allow.adjustments());
        HasMetadata result = switch (applied) {
            case TemplateApply.ApplyResult.Applied a -> a.applied();
            case TemplateApply.ApplyResult.TookOver took -> {
                notes.add("took " + took.taken().size() + " field(s) over from " + String.join(", ", took.taken().stream()
                        .map(TemplateApply.FieldConflict::manager).distinct().toList()) + " (spec.takeOverFrom)");
                yield took.applied();
            }
            case TemplateApply.ApplyResult.Conflicted c -> throw new IllegalStateException("handled above");
        };
        session.applied(w.ref(), container.getName(), resources);
        // The next container of this pass is judged against the pod as it is now (QoS class, Pod max, node fit).
        container.setResources(resources);
        // What the API server kept: a field another manager still owns (e.g. a CPU limit the tuner meant to lift)
        // stays as it was, and is said so instead of being reported as done.
        appliedResources(result, container.getName()).map(Resources::of).filter(kept -> !kept.equals(allow.target()))
                .ifPresent(kept -> notes.add("the API server kept " + Resources.values(kept) + " (fields another manager "
                        + "also owns stay as they are)"));
        ContainerResources t = allow.target();
        PodShape.Totals podRequests = pod.requests();
        PodShape.Totals podLimits = pod.limits();
        quotaLedger.applied(w.ref(), new long[] {
                t.cpuRequestMillis().orElse(0) - current.cpuRequestMillis().orElse(0),
                t.memoryRequestBytes().orElse(0) - current.memoryRequestBytes().orElse(0),
                t.cpuLimitMillis().orElse(0) - current.cpuLimitMillis().orElse(0),
                t.memoryLimitBytes().orElse(0) - current.memoryLimitBytes().orElse(0)}, replicas, new long[] {
                surge * podRequests.cpuMillis(), surge * podRequests.memoryBytes(), surge * podLimits.cpuMillis(),
                surge * podLimits.memoryBytes()});
        log.atInfo().addKeyValue("namespace", ns).addKeyValue("workload", w.ref()).addKeyValue("container", container.getName())
                .addKeyValue("resources", Resources.values(allow.target())).log("pod template resized");
        return new Outcome(w.ref(), "Apply", "Applied", String.join("; ", notes), true);
    }

    /**
     * How many pods above its replicas the workload's rollout may run: a RollingUpdate Deployment's {@code maxSurge}; none
     * for a Recreate Deployment or a StatefulSet (whose rolling update replaces pods one by one, never adding one).
     */
    private static int surge(Workload w, int replicas) {
        if (!(w.object() instanceof Deployment deployment) || deployment.getSpec() == null) {
            return 0;
        }
        DeploymentStrategy strategy = deployment.getSpec().getStrategy();
        if (strategy != null && "Recreate".equals(strategy.getType())) {
            return 0;
        }
        IntOrString maxSurge = strategy == null || strategy.getRollingUpdate() == null ? null : strategy.getRollingUpdate().getMaxSurge();
        return Surge.pods(replicas, maxSurge == null ? Optional.empty()
                : Optional.of(maxSurge.getIntVal() != null ? String.valueOf(maxSurge.getIntVal()) : maxSurge.getStrVal()));
    }

    private Outcome resizePod(String ns, Pod pod, String container, ContainerSignals signals, Recommender recommender,
            TuningHistory history, ResourceBounds bounds, PolicyCheck.Valid valid, Optional<Instant> lastChanged,
            Optional<GuardrailContext.LimitRangeBounds> limitRange, Instant now) throws InterruptedException {
        String ref = "Pod/" + pod.getMetadata().getName();
        Optional<Container> c = pod.getSpec().getContainers().stream().filter(x -> x.getName().equals(container)).findFirst();
        if (c.isEmpty()) {
            return new Outcome(ref, "InPlace", "Failed", "the pod has no container " + container, false);
        }
        ContainerResources current = Resources.of(c.get().getResources());
        Recommendation rec = recommender.recommend(current, signals, history, now);
        ContainerResources target = rec.target();
        boolean urgent = rec.fired(Rule.OOM_BUMP) || rec.fired(Rule.SELF_THROTTLING);
        List<ContainerResources> others = pod.getSpec().getContainers().stream().filter(x -> !x.getName().equals(container))
                .map(x -> Resources.of(x.getResources())).toList();
        // In place, a raise is charged at once and no pod is added: one pod, no surge.
        Decision d = Guardrails.judge(current, target, context(others, bounds, valid, urgent, lastChanged, facts.nodeHeadroom(pod),
                limitRange, facts.quotaRoom(ns), 1, ClusterFacts.shape(pod.getSpec(), Optional.empty()), 0), now);
        if (d instanceof Decision.Refuse r) {
            return refused(ref, "InPlace", r);
        }
        Decision.Allow allow = (Decision.Allow) d;
        Pod resized = resizer.resize(ns, pod.getMetadata().getName(), container,
                Resources.requirements(allow.target(), c.get().getResources()));
        String result = "Resized";
        String message = String.join("; ", allow.adjustments());
        List<PodCondition> conditions = resized.getStatus() == null || resized.getStatus().getConditions() == null ? List.of()
                : resized.getStatus().getConditions();
        for (PodCondition pc : conditions) {
            if (("PodResizePending".equals(pc.getType()) || "PodResizeInProgress".equals(pc.getType()))
                    && "True".equals(pc.getStatus())) {
                result = pc.getType().substring(3); // ResizePending / ResizeInProgress, as the kubelet reports
                message = (pc.getReason() == null ? "" : pc.getReason() + ": ") + (pc.getMessage() == null ? "" : pc.getMessage());
            }
        }
        log.atInfo().addKeyValue("namespace", ns).addKeyValue("pod", pod.getMetadata().getName()).addKeyValue("container", container)
                .addKeyValue("resources", Resources.values(allow.target())).addKeyValue("result", result).log("pod resized in place");
        return new Outcome(ref, "InPlace", result, message, true);
    }

    /** An action that failed (a pod deleted by a rollout, a 409, a refused resize) is reported, not thrown: the pass goes on. */
    interface Action {
        Outcome run() throws Exception;
    }

    static Outcome attempt(String ref, String mode, Action action) throws InterruptedException {
        try {
            return action.run();
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            // A fenced replica must stop the pass, not report and go on to the status write: an interrupt that
            // fabric8 wrapped, and a write the fence refused, end the reconcile.
            if (interrupted(e)) {
                Thread.currentThread().interrupt();
                InterruptedException stop = new InterruptedException("interrupted during " + mode + " of " + ref);
                stop.initCause(e);
                throw stop;
            }
            if (FencedWrite.in(e).isPresent() && e instanceof RuntimeException fenced) {
                throw fenced;
            }
            log.atWarn().addKeyValue("target", ref).addKeyValue("mode", mode).addKeyValue("error", e.toString())
                    .log("tuning action failed");
            return new Outcome(ref, mode, "Failed", e.getMessage() == null ? e.toString() : e.getMessage(), false);
        }
    }

    /** Whether {@code e} or a cause of it is an interrupt (fabric8 wraps one in a KubernetesClientException). */
    static boolean interrupted(Throwable e) {
        for (Throwable t : dev.flotilla.core.reconcile.CauseChain.of(e)) {
            if (t instanceof InterruptedException || t instanceof java.io.InterruptedIOException
                    && !(t instanceof java.net.SocketTimeoutException)) {
                return true;
            }
        }
        return Thread.currentThread().isInterrupted();
    }

    /** The resources of {@code container} in an applied Deployment's or StatefulSet's pod template, as returned. */
    private static Optional<io.fabric8.kubernetes.api.model.ResourceRequirements> appliedResources(HasMetadata applied,
            String container) {
        PodTemplateSpec template = switch (applied) {
            case io.fabric8.kubernetes.api.model.apps.Deployment d -> d.getSpec() == null ? null : d.getSpec().getTemplate();
            case io.fabric8.kubernetes.api.model.apps.StatefulSet st -> st.getSpec() == null ? null : st.getSpec().getTemplate();
            default -> null;
        };
        if (template == null || template.getSpec() == null || template.getSpec().getContainers() == null) {
            return Optional.empty();
        }
        return template.getSpec().getContainers().stream().filter(c -> container.equals(c.getName())).findFirst()
                .map(Container::getResources);
    }

    private static Instant parseOrNow(String time, Instant now) {
        try {
            return Instant.parse(time);
        } catch (RuntimeException e) {
            return now; // a hand-edited time: assume it just changed, the cautious reading for a cool-down
        }
    }

    private static Outcome refused(String ref, String mode, Decision.Refuse r) {
        return r.guardrail() == Decision.Guardrail.NO_CHANGE ? new Outcome(ref, mode, "NoChange", r.message(), false)
                : new Outcome(ref, mode, "Refused", r.guardrail() + ": " + r.message(), false);
    }

    private List<Workload> workloads(String ns, PolicyCheck.Valid valid) {
        List<Workload> out = new ArrayList<>();
        for (WorkloadKind kind : valid.kinds()) {
            switch (kind) {
                case Deployment -> client.apps().deployments().inNamespace(ns).withLabelSelector(valid.selector()).list().getItems()
                        .forEach(d -> out.add(new Workload(kind, d, d.getSpec().getTemplate(), d.getSpec().getSelector(),
                                d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas())));
                case StatefulSet -> client.apps().statefulSets().inNamespace(ns).withLabelSelector(valid.selector()).list().getItems()
                        .forEach(s -> out.add(new Workload(kind, s, s.getSpec().getTemplate(), s.getSpec().getSelector(),
                                s.getSpec().getReplicas() == null ? 1 : s.getSpec().getReplicas())));
            }
        }
        return out;
    }

    private List<Pod> pods(String ns, LabelSelector selector) {
        if (selector == null || ((selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty())
                && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty()))) {
            return List.of(); // an empty selector would match every pod in the namespace
        }
        return client.pods().inNamespace(ns).withLabelSelector(selector).list().getItems().stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    }

    private Result invalid(ResourceTuningPolicy policy, ResourceTuningPolicyStatus status, String reason, String message,
            Long generation) {
        log.atWarn().addKeyValue("namespace", policy.getMetadata().getNamespace()).addKeyValue("name", policy.getMetadata().getName())
                .addKeyValue("reason", reason).addKeyValue("message", message).log("invalid tuning policy; no action");
        status.setContainers(new ArrayList<>());
        setCondition(status, INVALID, true, reason, message, generation);
        setCondition(status, Conditions.READY, false, reason, message, generation);
        writeStatus(policy, status, Set.of());
        return Result.requeueAfter(settings.resync()); // a bigger node or a fixed selector may make it valid
    }

    private void setCondition(ResourceTuningPolicyStatus status, String type, boolean value, String reason, String message,
            Long generation) {
        status.setConditions(Conditions.set(status.getConditions(), type, value, reason, message, generation, settings.clock()));
    }

    /**
     * Writes status with optimistic concurrency (the resourceVersion it was read at). On a conflict (the spec changed,
     * or another writer, e.g. the replica that held this shard before, wrote status meanwhile) it reads the object
     * again and merges: entries only the other writer has are kept where this pass targets their workload, and of two
     * {@code lastChanged} the later one wins,
     * because dropping one would let the next pass skip that container's cool-down.
     */
    private void writeStatus(ResourceTuningPolicy policy, ResourceTuningPolicyStatus status, Set<String> targeted) {
        policy.setStatus(status);
        ResourceTuningPolicy target = policy;
        for (int attempt = 1; ; attempt++) {
            try {
                Status.update(client, target);
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == STATUS_ATTEMPTS) {
                    throw e;
                }
            }
            // Read again by list (a permission the tuner has anyway: no get needed for this path alone).
            ResourceTuningPolicy fresh = client.resources(ResourceTuningPolicy.class).inNamespace(policy.getMetadata().getNamespace())
                    .withField("metadata.name", policy.getMetadata().getName()).list().getItems().stream().findFirst().orElse(null);
            if (fresh == null) {
                return; // deleted meanwhile: nothing to record on
            }
            fresh.setStatus(StatusMerge.merge(status, fresh.getStatus(), targeted));
            target = fresh;
        }
    }

    /** Status writes tried before a conflict is left to the next pass (each retry reads the object again). */
    static final int STATUS_ATTEMPTS = 5;

    /**
     * The older policy (created earlier; by name on a tie) in this namespace that selects one of {@code workloads}, as a
     * sentence for the Conflict condition; empty when this policy is the oldest for all of them. Two policies on one
     * workload would each keep their own cool-down and step, so only the oldest acts. Every older policy counts,
     * whatever its mode: one set to Off claims its workloads too, and an invalid one (it acts on nothing) does not.
     */
    private Optional<String> olderClaim(ResourceTuningPolicy policy, List<Workload> workloads, Optional<long[]> largestNode) {
        String ns = policy.getMetadata().getNamespace();
        for (ResourceTuningPolicy other : client.resources(ResourceTuningPolicy.class).inNamespace(ns).list().getItems()) {
            if (other.getMetadata().getName().equals(policy.getMetadata().getName()) || !olderThan(other, policy)) {
                continue;
            }
            if (!(PolicyValidator.check(other.getSpec(), largestNode) instanceof PolicyCheck.Valid v)) {
                continue;
            }
            for (Workload w : workloads) {
                if (v.kinds().contains(w.kind()) && LabelSelectors.matches(v.selector(), w.object().getMetadata().getLabels())) {
                    return Optional.of(w.ref() + " is also selected by the older policy " + other.getMetadata().getName()
                            + " (created " + other.getMetadata().getCreationTimestamp() + "); this policy takes no action "
                            + "while both select it");
                }
            }
        }
        return Optional.empty();
    }

    private static boolean olderThan(ResourceTuningPolicy a, ResourceTuningPolicy b) {
        Instant ta = created(a);
        Instant tb = created(b);
        return ta.isBefore(tb) || (ta.equals(tb) && a.getMetadata().getName().compareTo(b.getMetadata().getName()) < 0);
    }

    private static Instant created(ResourceTuningPolicy p) {
        try {
            return Instant.parse(p.getMetadata().getCreationTimestamp());
        } catch (RuntimeException e) {
            return Instant.MAX; // not created yet (no timestamp): the newest of all
        }
    }

    private static ResourceTuningPolicy copyOf(ResourceTuningPolicy cached) {
        // Cached objects are shared: work on a copy.
        return io.fabric8.kubernetes.client.utils.Serialization.clone(cached);
    }

}
