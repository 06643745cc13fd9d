package dev.flotilla.tuning.recommend;

import java.util.Objects;
import java.util.Optional;

/**
 * What the kernel and cAdvisor say about one container over the look-back window. Usage series are
 * required; the eBPF and PSI signals are optional, and the recommender says in its findings
 * which were missing or stale and falls back to usage-only sizing for them.
 *
 * @param cpuUsageCores          rate of container_cpu_usage_seconds_total
 * @param throttledRatio         throttled periods / periods (cAdvisor CFS counters)
 * @param runqueueLatencyP99     p99 run-queue latency in seconds (eBPF per-cgroup histogram)
 * @param cpuPressure            PSI cpu "waiting" seconds per second
 * @param memoryWorkingSetBytes  container_memory_working_set_bytes
 * @param memoryPressure         PSI memory "stalled" seconds per second
 * @param oomKills               raw OOM-kill counter samples (cgroup-local), resets allowed
 */
public record ContainerSignals(Series cpuUsageCores, Optional<Series> throttledRatio, Optional<Series> runqueueLatencyP99,
        Optional<Series> cpuPressure, Series memoryWorkingSetBytes, Optional<Series> memoryPressure,
        Optional<Series> oomKills) {

    public ContainerSignals {
        Objects.requireNonNull(cpuUsageCores, "cpuUsageCores");
        Objects.requireNonNull(throttledRatio, "throttledRatio");
        Objects.requireNonNull(runqueueLatencyP99, "runqueueLatencyP99");
        Objects.requireNonNull(cpuPressure, "cpuPressure");
        Objects.requireNonNull(memoryWorkingSetBytes, "memoryWorkingSetBytes");
        Objects.requireNonNull(memoryPressure, "memoryPressure");
        Objects.requireNonNull(oomKills, "oomKills");
    }

    /** Usage only: what a VPA-style recommender sees. */
    public static ContainerSignals usageOnly(Series cpuUsageCores, Series memoryWorkingSetBytes) {
        return new ContainerSignals(cpuUsageCores, Optional.empty(), Optional.empty(), Optional.empty(), memoryWorkingSetBytes,
                Optional.empty(), Optional.empty());
    }
}
