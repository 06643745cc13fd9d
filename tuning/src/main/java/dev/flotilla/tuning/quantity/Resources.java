package dev.flotilla.tuning.quantity;

import dev.flotilla.tuning.api.ResourceValues;
import dev.flotilla.tuning.recommend.ContainerResources;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/** Conversions between Kubernetes quantities and the tuner's millicores and bytes. */
public final class Resources {

    private static final long MIB = 1L << 20;

    private Resources() {
    }

    public static OptionalLong millis(Quantity q) {
        BigDecimal v = amount(q);
        return v == null || v.signum() <= 0 ? OptionalLong.empty() : OptionalLong.of(capped(v.multiply(BigDecimal.valueOf(1000))));
    }

    public static OptionalLong bytes(Quantity q) {
        BigDecimal v = amount(q);
        return v == null || v.signum() <= 0 ? OptionalLong.empty() : OptionalLong.of(capped(v));
    }

    /** An absurd quantity (1e20) is taken as "more than anything", not an overflow that fails every pass. */
    private static long capped(BigDecimal v) {
        BigDecimal up = v.setScale(0, RoundingMode.CEILING);
        return up.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : up.longValue();
    }

    private static BigDecimal amount(Quantity q) {
        try {
            return q == null ? null : q.getNumericalAmount();
        } catch (RuntimeException e) {
            return null; // a malformed quantity is treated as unset
        }
    }

    public static Quantity cpu(long millis) {
        return millis % 1000 == 0 ? new Quantity(String.valueOf(millis / 1000)) : new Quantity(millis + "m");
    }

    public static Quantity memory(long bytes) {
        return bytes % MIB == 0 ? new Quantity(bytes / MIB + "Mi") : new Quantity(String.valueOf(bytes));
    }

    public static ContainerResources of(ResourceRequirements r) {
        Map<String, Quantity> req = r == null || r.getRequests() == null ? Map.of() : r.getRequests();
        Map<String, Quantity> lim = r == null || r.getLimits() == null ? Map.of() : r.getLimits();
        return new ContainerResources(millis(req.get("cpu")), millis(lim.get("cpu")), bytes(req.get("memory")),
                bytes(lim.get("memory")));
    }

    /** {@code target} as requirements, keeping any other resource (ephemeral storage, GPUs) of {@code base}. */
    public static ResourceRequirements requirements(ContainerResources target, ResourceRequirements base) {
        Map<String, Quantity> req = new HashMap<>(base == null || base.getRequests() == null ? Map.of() : base.getRequests());
        Map<String, Quantity> lim = new HashMap<>(base == null || base.getLimits() == null ? Map.of() : base.getLimits());
        put(req, "cpu", target.cpuRequestMillis(), true);
        put(lim, "cpu", target.cpuLimitMillis(), true);
        put(req, "memory", target.memoryRequestBytes(), false);
        put(lim, "memory", target.memoryLimitBytes(), false);
        return new ResourceRequirementsBuilder().withRequests(req).withLimits(lim).build();
    }

    private static void put(Map<String, Quantity> map, String key, OptionalLong value, boolean cpu) {
        if (value.isPresent()) {
            map.put(key, cpu ? cpu(value.getAsLong()) : memory(value.getAsLong()));
        } else {
            map.remove(key);
        }
    }

    public static ResourceValues values(ContainerResources r) {
        ResourceValues v = new ResourceValues();
        r.cpuRequestMillis().ifPresent(x -> v.setCpuRequest(cpu(x)));
        r.cpuLimitMillis().ifPresent(x -> v.setCpuLimit(cpu(x)));
        r.memoryRequestBytes().ifPresent(x -> v.setMemoryRequest(memory(x)));
        r.memoryLimitBytes().ifPresent(x -> v.setMemoryLimit(memory(x)));
        return v;
    }
}
