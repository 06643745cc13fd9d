package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.flotilla.tuning.signals.SignalMetric;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import java.util.EnumMap;
import java.util.Map;

/**
 * A policy's metric names, each overriding the replica's ({@code --signal-metric}) for its workloads;
 * each property is a {@link SignalMetric#key()}. Unset properties keep the replica's names.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SignalMetricNames {

    private static final String PATTERN = SignalMetric.NAME_PATTERN;

    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("CPU usage counter, seconds (cAdvisor: container_cpu_usage_seconds_total).")
    private String cpuUsage;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("Throttled CFS periods counter (container_cpu_cfs_throttled_periods_total).")
    private String cfsThrottledPeriods;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("CFS periods counter (container_cpu_cfs_periods_total).")
    private String cfsPeriods;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("Memory working set gauge, bytes (container_memory_working_set_bytes).")
    private String memoryWorkingSet;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("CPU pressure, some, counter in seconds (container_pressure_cpu_waiting_seconds_total).")
    private String cpuPressureWaiting;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("Memory pressure, full, counter in seconds (container_pressure_memory_stalled_seconds_total).")
    private String memoryPressureStalled;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("OOM kills counted by the kernel's memory cgroup (container_oom_events_total).")
    private String oomEvents;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("Run-queue latency histogram buckets, seconds (ebpf_exporter_run_queue_latency_seconds_bucket).")
    private String runQueueLatencyBucket;
    @Pattern(PATTERN) @Size(max = SignalMetric.MAX_NAME_LENGTH)
    @JsonPropertyDescription("OOM kills seen by eBPF, counter (ebpf_exporter_oom_kills_total); read when oomEvents has no series.")
    private String ebpfOomKills;

    /** The properties that are set, by metric. */
    public Map<SignalMetric, String> overrides() {
        Map<SignalMetric, String> out = new EnumMap<>(SignalMetric.class);
        put(out, SignalMetric.CPU_USAGE, cpuUsage);
        put(out, SignalMetric.CFS_THROTTLED_PERIODS, cfsThrottledPeriods);
        put(out, SignalMetric.CFS_PERIODS, cfsPeriods);
        put(out, SignalMetric.MEMORY_WORKING_SET, memoryWorkingSet);
        put(out, SignalMetric.CPU_PRESSURE_WAITING, cpuPressureWaiting);
        put(out, SignalMetric.MEMORY_PRESSURE_STALLED, memoryPressureStalled);
        put(out, SignalMetric.OOM_EVENTS, oomEvents);
        put(out, SignalMetric.RUN_QUEUE_LATENCY_BUCKET, runQueueLatencyBucket);
        put(out, SignalMetric.EBPF_OOM_KILLS, ebpfOomKills);
        return out;
    }

    private static void put(Map<SignalMetric, String> out, SignalMetric m, String name) {
        if (name != null) {
            out.put(m, name);
        }
    }

    public String getCpuUsage() { return cpuUsage; }
    public void setCpuUsage(String v) { cpuUsage = v; }
    public String getCfsThrottledPeriods() { return cfsThrottledPeriods; }
    public void setCfsThrottledPeriods(String v) { cfsThrottledPeriods = v; }
    public String getCfsPeriods() { return cfsPeriods; }
    public void setCfsPeriods(String v) { cfsPeriods = v; }
    public String getMemoryWorkingSet() { return memoryWorkingSet; }
    public void setMemoryWorkingSet(String v) { memoryWorkingSet = v; }
    public String getCpuPressureWaiting() { return cpuPressureWaiting; }
    public void setCpuPressureWaiting(String v) { cpuPressureWaiting = v; }
    public String getMemoryPressureStalled() { return memoryPressureStalled; }
    public void setMemoryPressureStalled(String v) { memoryPressureStalled = v; }
    public String getOomEvents() { return oomEvents; }
    public void setOomEvents(String v) { oomEvents = v; }
    public String getRunQueueLatencyBucket() { return runQueueLatencyBucket; }
    public void setRunQueueLatencyBucket(String v) { runQueueLatencyBucket = v; }
    public String getEbpfOomKills() { return ebpfOomKills; }
    public void setEbpfOomKills(String v) { ebpfOomKills = v; }
}
