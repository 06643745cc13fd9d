package dev.flotilla.tuning.recommend;

/**
 * A policy's hard bounds per container: CPU in millicores, memory in bytes.
 *
 * <pre>{@code
 * ResourceBounds bounds = new ResourceBounds(100, 4000, 128L << 20, 8L << 30);
 * }</pre>
 */
public record ResourceBounds(long minCpuMillis, long maxCpuMillis, long minMemoryBytes, long maxMemoryBytes) {
    public ResourceBounds {
        if (minCpuMillis <= 0 || minMemoryBytes <= 0) {
            throw new IllegalArgumentException("minimum CPU and memory must be positive");
        }
        if (minCpuMillis > maxCpuMillis) {
            throw new IllegalArgumentException("min CPU (" + minCpuMillis + "m) is above max CPU (" + maxCpuMillis + "m)");
        }
        if (minMemoryBytes > maxMemoryBytes) {
            throw new IllegalArgumentException("min memory (" + minMemoryBytes + " bytes) is above max memory ("
                    + maxMemoryBytes + " bytes)");
        }
    }

    long clampCpu(long millis) {
        return Math.max(minCpuMillis, Math.min(maxCpuMillis, millis));
    }

    long clampMemory(long bytes) {
        return Math.max(minMemoryBytes, Math.min(maxMemoryBytes, bytes));
    }
}
