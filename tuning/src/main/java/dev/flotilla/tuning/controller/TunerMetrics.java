package dev.flotilla.tuning.controller;

import dev.flotilla.tuning.api.ContainerRecommendation;
import dev.flotilla.tuning.api.ResourceValues;
import dev.flotilla.tuning.recommend.Finding;
import dev.flotilla.tuning.recommend.Rule;
import io.fabric8.kubernetes.api.model.Quantity;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The resource tuner's metrics, named once here. Counters of rare events (refusals, failures, each
 * finding kind) are registered at zero when the tuner is built, so that alerts and dashboards see a
 * series from the start rather than none until the first event. The four per-container gauges
 * ({@code namespace}, {@code workload} as {@code Kind/name}, {@code container}) exist while a policy
 * reports that container and are removed with the policy.
 *
 * <pre>{@code
 * TunerMetrics metrics = new TunerMetrics(manager.registry());
 * metrics.action("Applied");   // flotilla_tuner_actions_total{result="applied"} + 1
 * }</pre>
 */
public final class TunerMetrics {

    /** Actions by {@link #LABEL_RESULT}: template changed, pod resized in place, refused by a guardrail, failed at the API. */
    public static final String ACTIONS_TOTAL = "flotilla_tuner_actions_total";
    /** Passes of a container whose signals Prometheus could not give (unreachable, error answer). */
    public static final String SIGNAL_FAILURES_TOTAL = "flotilla_tuner_signal_failures_total";
    /** Findings of the recommender, by {@link #LABEL_FINDING} (a {@link Rule} name), one per container pass. */
    public static final String FINDINGS_TOTAL = "flotilla_tuner_findings_total";
    public static final String RECOMMENDED_CPU_CORES = "flotilla_tuner_recommended_cpu_cores";
    public static final String CURRENT_CPU_CORES = "flotilla_tuner_current_cpu_cores";
    public static final String RECOMMENDED_MEMORY_BYTES = "flotilla_tuner_recommended_memory_bytes";
    public static final String CURRENT_MEMORY_BYTES = "flotilla_tuner_current_memory_bytes";

    public static final String LABEL_RESULT = "result";
    public static final String LABEL_FINDING = "finding";
    public static final String LABEL_NAMESPACE = "namespace";
    public static final String LABEL_WORKLOAD = "workload";
    public static final String LABEL_CONTAINER = "container";

    /** Values of {@link #LABEL_RESULT}. */
    public enum ActionResult {
        APPLIED("applied"), RESIZED("resized"), REFUSED("refused"), FAILED("failed");

        private final String label;

        ActionResult(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** The four gauges of one container, each read from the policy's status entry (requests: what the scheduler sees). */
    private enum Sizing {
        RECOMMENDED_CPU(RECOMMENDED_CPU_CORES, e -> e.getRecommended(), ResourceValues::getCpuRequest),
        CURRENT_CPU(CURRENT_CPU_CORES, e -> e.getCurrent(), ResourceValues::getCpuRequest),
        RECOMMENDED_MEMORY(RECOMMENDED_MEMORY_BYTES, e -> e.getRecommended(), ResourceValues::getMemoryRequest),
        CURRENT_MEMORY(CURRENT_MEMORY_BYTES, e -> e.getCurrent(), ResourceValues::getMemoryRequest);

        final String metric;
        final Function<ContainerRecommendation, ResourceValues> values;
        final Function<ResourceValues, Quantity> quantity;

        Sizing(String metric, Function<ContainerRecommendation, ResourceValues> values, Function<ResourceValues, Quantity> quantity) {
            this.metric = metric;
            this.values = values;
            this.quantity = quantity;
        }

        double of(ContainerRecommendation entry) {
            ResourceValues v = values.apply(entry);
            Quantity q = v == null ? null : quantity.apply(v);
            return q == null ? Double.NaN : Quantity.getAmountInBytes(q).doubleValue(); // cores for cpu, bytes for memory
        }
    }

    private record Target(String namespace, String workload, String container) {
    }

    /** The gauges' current values; the gauges read them. */
    private static final class Values {
        final Map<Sizing, Double> bySizing = new ConcurrentHashMap<>(); // read by the scrape thread
        final EnumMap<Sizing, Gauge> gauges = new EnumMap<>(Sizing.class);
        String policy;
    }

    private final MeterRegistry registry;
    private final EnumMap<ActionResult, Counter> actions = new EnumMap<>(ActionResult.class);
    private final EnumMap<Rule, Counter> findings = new EnumMap<>(Rule.class);
    private final Counter signalFailures;
    private final Map<Target, Values> containers = new HashMap<>();

    public TunerMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        for (ActionResult r : ActionResult.values()) {
            actions.put(r, Counter.builder(ACTIONS_TOTAL).description("Tuner actions by result")
                    .tag(LABEL_RESULT, r.label()).register(registry));
        }
        for (Rule rule : Rule.values()) {
            findings.put(rule, Counter.builder(FINDINGS_TOTAL).description("Recommender findings by rule, one per container pass")
                    .tag(LABEL_FINDING, rule.name()).register(registry));
        }
        signalFailures = Counter.builder(SIGNAL_FAILURES_TOTAL)
                .description("Container passes without signals because Prometheus could not answer").register(registry);
    }

    /** Metrics nobody exports, for a reconciler built without a manager's registry (tests, embedding). */
    public static TunerMetrics unexported() {
        return new TunerMetrics(new SimpleMeterRegistry());
    }

    /**
     * Counts one action by the result its outcome reports: {@code Applied}, {@code Resized} (and the kubelet's
     * {@code ResizePending}/{@code ResizeInProgress}, which are resizes the API accepted), {@code Refused},
     * {@code Failed}; {@code NoChange} is no action and not counted.
     */
    public void action(String outcomeResult) {
        ActionResult r = switch (outcomeResult) {
            case "Applied" -> ActionResult.APPLIED;
            case "Resized", "ResizePending", "ResizeInProgress" -> ActionResult.RESIZED;
            case "Refused" -> ActionResult.REFUSED;
            case "Failed" -> ActionResult.FAILED;
            default -> null;
        };
        if (r != null) {
            actions.get(r).increment();
        }
    }

    public void signalFailure() {
        signalFailures.increment();
    }

    public void findings(List<Finding> fired) {
        fired.forEach(f -> findings.get(f.rule()).increment());
    }

    /**
     * Sets the gauges of every container {@code policy} (namespace/name) now reports, and removes those it no
     * longer reports. A container reported by another policy as well shows the last one's values.
     */
    public synchronized void report(String policy, String namespace, List<ContainerRecommendation> entries) {
        Set<Target> now = new HashSet<>();
        for (ContainerRecommendation e : entries) {
            Target t = new Target(namespace, e.getWorkload(), e.getContainer());
            now.add(t);
            Values v = containers.computeIfAbsent(t, x -> register(x, new Values()));
            v.policy = policy;
            for (Sizing s : Sizing.values()) {
                v.bySizing.put(s, s.of(e));
            }
        }
        containers.entrySet().removeIf(x -> policy.equals(x.getValue().policy) && !now.contains(x.getKey()) && unregister(x.getValue()));
    }

    /** Removes the gauges of {@code policy} (deleted, invalid, turned off). */
    public void forget(String policy) {
        report(policy, "", List.of());
    }

    private Values register(Target t, Values v) {
        for (Sizing s : Sizing.values()) {
            v.bySizing.put(s, Double.NaN);
            v.gauges.put(s, Gauge.builder(s.metric, v, x -> x.bySizing.get(s)).strongReference(true)
                    .tag(LABEL_NAMESPACE, t.namespace()).tag(LABEL_WORKLOAD, t.workload()).tag(LABEL_CONTAINER, t.container())
                    .register(registry));
        }
        return v;
    }

    private boolean unregister(Values v) {
        v.gauges.values().forEach(registry::remove);
        return true;
    }
}
