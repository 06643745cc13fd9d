package dev.flotilla.tuning.signals;

import java.util.Objects;

/**
 * The metric names the tuner queries, so that a cluster with other exporters can map them. The
 * defaults are cAdvisor's (as the kubelet exposes them) and, for the two eBPF signals, the names
 * of a per-cgroup run-queue latency histogram and OOM-kill counter; every series is expected to
 * carry {@code namespace}, {@code pod} and {@code container} labels.
 *
 * <pre>{@code
 * SignalMetrics names = SignalMetrics.defaults().withRunqueueHistogram("runqlat_seconds_bucket");
 * }</pre>
 */
public record SignalMetrics(String cpuUsage, String cfsThrottledPeriods, String cfsPeriods, String memoryWorkingSet,
        String cpuPressureWaiting, String memoryPressureStalled, String oomEvents, String runqueueLatencyBucket,
        String ebpfOomKills) {

    public SignalMetrics {
        Objects.requireNonNull(cpuUsage, "cpuUsage");
        Objects.requireNonNull(cfsThrottledPeriods, "cfsThrottledPeriods");
        Objects.requireNonNull(cfsPeriods, "cfsPeriods");
        Objects.requireNonNull(memoryWorkingSet, "memoryWorkingSet");
        Objects.requireNonNull(cpuPressureWaiting, "cpuPressureWaiting");
        Objects.requireNonNull(memoryPressureStalled, "memoryPressureStalled");
        Objects.requireNonNull(oomEvents, "oomEvents");
        Objects.requireNonNull(runqueueLatencyBucket, "runqueueLatencyBucket");
        Objects.requireNonNull(ebpfOomKills, "ebpfOomKills");
    }

    public static SignalMetrics defaults() {
        return new SignalMetrics("container_cpu_usage_seconds_total", "container_cpu_cfs_throttled_periods_total",
                "container_cpu_cfs_periods_total", "container_memory_working_set_bytes",
                "container_pressure_cpu_waiting_seconds_total", "container_pressure_memory_stalled_seconds_total",
                "container_oom_events_total", "ebpf_cgroup_runqueue_latency_seconds_bucket", "ebpf_cgroup_oom_kills_total");
    }

    public SignalMetrics withRunqueueHistogram(String bucketMetric) {
        return new SignalMetrics(cpuUsage, cfsThrottledPeriods, cfsPeriods, memoryWorkingSet, cpuPressureWaiting,
                memoryPressureStalled, oomEvents, bucketMetric, ebpfOomKills);
    }
}
