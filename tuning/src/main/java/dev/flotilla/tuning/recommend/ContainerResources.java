package dev.flotilla.tuning.recommend;

import java.util.OptionalLong;

/**
 * A container's CPU (millicores) and memory (bytes) requests and limits; absent when unset.
 *
 * <pre>{@code
 * var r = new ContainerResources(OptionalLong.of(500), OptionalLong.of(1000), OptionalLong.of(512L << 20), OptionalLong.empty());
 * }</pre>
 */
public record ContainerResources(OptionalLong cpuRequestMillis, OptionalLong cpuLimitMillis, OptionalLong memoryRequestBytes,
        OptionalLong memoryLimitBytes) {

    public ContainerResources {
        check("cpu request", cpuRequestMillis);
        check("cpu limit", cpuLimitMillis);
        check("memory request", memoryRequestBytes);
        check("memory limit", memoryLimitBytes);
    }

    private static void check(String what, OptionalLong value) {
        if (value == null) {
            throw new NullPointerException(what + " (use OptionalLong.empty() when unset)");
        }
        if (value.isPresent() && value.getAsLong() <= 0) {
            throw new IllegalArgumentException(what + " must be positive, got " + value.getAsLong());
        }
    }

    public static ContainerResources of(long cpuRequestMillis, long cpuLimitMillis, long memoryRequestBytes,
            long memoryLimitBytes) {
        return new ContainerResources(opt(cpuRequestMillis), opt(cpuLimitMillis), opt(memoryRequestBytes),
                opt(memoryLimitBytes));
    }

    private static OptionalLong opt(long v) {
        return v > 0 ? OptionalLong.of(v) : OptionalLong.empty();
    }

    /** Guaranteed QoS needs requests equal to limits for both resources; a tuner must keep it so. */
    public boolean isGuaranteed() {
        return cpuRequestMillis.isPresent() && cpuRequestMillis.equals(cpuLimitMillis) && memoryRequestBytes.isPresent()
                && memoryRequestBytes.equals(memoryLimitBytes);
    }
}
