package dev.flotilla.tuning.signals;

import java.util.EnumMap;
import java.util.Map;

/**
 * The metric names the tuner queries, one per {@link SignalMetric}, so that a cluster with other
 * exporters can map them; every series is expected to carry {@code namespace}, {@code pod} and
 * {@code container} labels. The defaults ({@link SignalMetric#defaultName()}) are what Flotilla's
 * node agent exports. A flag ({@code --signal-metric}) sets the replica's names; a policy's
 * {@code spec.signalMetrics} overrides them for its workloads ({@link #with(Map)}).
 *
 * <pre>{@code
 * SignalMetrics names = SignalMetrics.defaults().with(SignalMetric.RUN_QUEUE_LATENCY_BUCKET, "runqlat_seconds_bucket");
 * String runq = names.name(SignalMetric.RUN_QUEUE_LATENCY_BUCKET);
 * }</pre>
 */
public final class SignalMetrics {

    private final Map<SignalMetric, String> names;

    private SignalMetrics(Map<SignalMetric, String> names) {
        this.names = names;
    }

    public static SignalMetrics defaults() {
        EnumMap<SignalMetric, String> names = new EnumMap<>(SignalMetric.class);
        for (SignalMetric m : SignalMetric.values()) {
            names.put(m, m.defaultName());
        }
        return new SignalMetrics(names);
    }

    public String name(SignalMetric metric) {
        return names.get(metric);
    }

    /** These names with {@code metric} named {@code name}; an invalid name is refused with the key and the rule. */
    public SignalMetrics with(SignalMetric metric, String name) {
        EnumMap<SignalMetric, String> copy = new EnumMap<>(names);
        copy.put(metric, metric.checkName(name));
        return new SignalMetrics(copy);
    }

    /** These names with each of {@code overrides} applied. */
    public SignalMetrics with(Map<SignalMetric, String> overrides) {
        SignalMetrics out = this;
        for (Map.Entry<SignalMetric, String> e : overrides.entrySet()) {
            out = out.with(e.getKey(), e.getValue());
        }
        return out;
    }

    /** Each name that differs from its default, by key (what a log line or a status shows). */
    public Map<String, String> changed() {
        Map<String, String> out = new java.util.TreeMap<>();
        names.forEach((m, n) -> {
            if (!n.equals(m.defaultName())) {
                out.put(m.key(), n);
            }
        });
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SignalMetrics other && names.equals(other.names);
    }

    @Override
    public int hashCode() {
        return names.hashCode();
    }

    @Override
    public String toString() {
        return "SignalMetrics" + names;
    }
}
