package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/** What the tuner aims for. */
public class Objectives {

    @Pattern("^[0-9]+(\\.[0-9]+)?(ms|s)$")
    @Default("\"5ms\"")
    @JsonPropertyDescription("Run-queue latency p99 above which a container counts as waiting behind neighbours (e.g. 5ms).")
    private String runqueueLatencyP99 = "5ms";

    @Min(0.001)
    @Max(0.999)
    @Default("0.10")
    @JsonPropertyDescription("Share of CFS periods throttled above which the container limits itself (0-1).")
    private double throttledRatioCeiling = 0.10;

    @Min(0.001)
    @Max(0.999)
    @Default("0.05")
    @JsonPropertyDescription("PSI memory stalled seconds per second above which memory is raised (0-1).")
    private double memoryPressureCeiling = 0.05;

    @Min(0.01)
    @Max(1)
    @Default("0.90")
    @JsonPropertyDescription("CPU usage percentile the request is sized to (0-1].")
    private double usagePercentile = 0.90;

    @Min(0)
    @Max(1)
    @Default("0.15")
    @JsonPropertyDescription("Added on top of the usage percentile and of the memory peak (0.15 = 15%).")
    private double safetyMargin = 0.15;

    @Pattern("^[0-9]+(s|m|h)$")
    @Default("\"24h\"")
    @JsonPropertyDescription("Half-life of the decaying CPU usage histogram (e.g. 24h).")
    private String histogramHalfLife = "24h";

    public String getRunqueueLatencyP99() {
        return runqueueLatencyP99;
    }

    public void setRunqueueLatencyP99(String runqueueLatencyP99) {
        this.runqueueLatencyP99 = runqueueLatencyP99;
    }

    public double getThrottledRatioCeiling() {
        return throttledRatioCeiling;
    }

    public void setThrottledRatioCeiling(double throttledRatioCeiling) {
        this.throttledRatioCeiling = throttledRatioCeiling;
    }

    public double getMemoryPressureCeiling() {
        return memoryPressureCeiling;
    }

    public void setMemoryPressureCeiling(double memoryPressureCeiling) {
        this.memoryPressureCeiling = memoryPressureCeiling;
    }

    public double getUsagePercentile() {
        return usagePercentile;
    }

    public void setUsagePercentile(double usagePercentile) {
        this.usagePercentile = usagePercentile;
    }

    public double getSafetyMargin() {
        return safetyMargin;
    }

    public void setSafetyMargin(double safetyMargin) {
        this.safetyMargin = safetyMargin;
    }

    public String getHistogramHalfLife() {
        return histogramHalfLife;
    }

    public void setHistogramHalfLife(String histogramHalfLife) {
        this.histogramHalfLife = histogramHalfLife;
    }


}
