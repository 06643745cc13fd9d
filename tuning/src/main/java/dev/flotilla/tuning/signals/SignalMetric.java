package dev.flotilla.tuning.signals;

import java.util.Arrays;
import java.util.Optional;

/**
 * Each metric the tuner queries, with the key that names it in {@code --signal-metric KEY=NAME} and in a
 * policy's {@code spec.signalMetrics}, and its default name. The defaults are what Flotilla's node
 * agent exports: cAdvisor's names for what the kernel counts per cgroup, and Cloudflare
 * ebpf_exporter's example names for the two eBPF measurements, so a node running cAdvisor and
 * ebpf_exporter can be read too, given a recording rule adding {@code namespace}, {@code pod},
 * {@code container} and minding that ebpf_exporter's exp2 buckets are labelled by their lower bound (its
 * quantiles read up to 2x low; node-agent/README.md).
 *
 * <pre>{@code
 * SignalMetric m = SignalMetric.byKey("runQueueLatencyBucket").orElseThrow();
 * String name = m.defaultName(); // ebpf_exporter_run_queue_latency_seconds_bucket
 * }</pre>
 */
public enum SignalMetric {
    CPU_USAGE("cpuUsage", "container_cpu_usage_seconds_total"),
    CFS_THROTTLED_PERIODS("cfsThrottledPeriods", "container_cpu_cfs_throttled_periods_total"),
    CFS_PERIODS("cfsPeriods", "container_cpu_cfs_periods_total"),
    MEMORY_WORKING_SET("memoryWorkingSet", "container_memory_working_set_bytes"),
    CPU_PRESSURE_WAITING("cpuPressureWaiting", "container_pressure_cpu_waiting_seconds_total"),
    MEMORY_PRESSURE_STALLED("memoryPressureStalled", "container_pressure_memory_stalled_seconds_total"),
    OOM_EVENTS("oomEvents", "container_oom_events_total"),
    RUN_QUEUE_LATENCY_BUCKET("runQueueLatencyBucket", "ebpf_exporter_run_queue_latency_seconds_bucket"),
    EBPF_OOM_KILLS("ebpfOomKills", "ebpf_exporter_oom_kills_total");

    /** A Prometheus metric name, as the exposition format defines it. */
    public static final String NAME_PATTERN = "^[a-zA-Z_:][a-zA-Z0-9_:]*$";
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile(NAME_PATTERN);
    /** Longest name accepted (the CRD's bound, and the flag's). */
    public static final int MAX_NAME_LENGTH = 200;

    private final String key;
    private final String defaultName;

    SignalMetric(String key, String defaultName) {
        this.key = key;
        this.defaultName = defaultName;
    }

    public String key() {
        return key;
    }

    public String defaultName() {
        return defaultName;
    }

    public static Optional<SignalMetric> byKey(String key) {
        return Arrays.stream(values()).filter(m -> m.key.equals(key)).findFirst();
    }

    /** {@code name} if it is a metric name Prometheus accepts, else an exception naming the key and the rule. */
    public String checkName(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME_LENGTH || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("metric name for " + key + " must match " + NAME_PATTERN + " (1-"
                    + MAX_NAME_LENGTH + " characters), got '" + name + "'");
        }
        return name;
    }
}
