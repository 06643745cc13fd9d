package dev.flotilla.tuning.guard;

import dev.flotilla.tuning.recommend.ContainerResources;
import dev.flotilla.tuning.recommend.ResourceBounds;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Everything the guardrails need to judge one container's change, gathered by the controller from
 * the cluster.
 *
 * @param otherContainers  the pod's other containers as they are (their QoS counts too)
 * @param bounds           the policy's bounds for this container
 * @param maxStepUp        largest factor one action may raise a value by
 * @param maxStepDown      smallest factor one action may lower a value to
 * @param urgent           an OOM kill or throttling justified skipping the step and cool-down
 * @param lastAction       when this container was last changed
 * @param coolDown         the shortest time between two actions on one container
 * @param nodeHeadroom     for a running pod, its node's allocatable minus the requests of every other pod on it
 * @param limitRange       the namespace's LimitRange for containers, if any
 * @param quota            what the namespace's ResourceQuotas still allow, if any
 * @param replicas         how many pods the change multiplies by (1 for InPlace, the replica count for Apply)
 * @param killSwitch       the operator's global stop: no action at all
 */
public record GuardrailContext(List<ContainerResources> otherContainers, ResourceBounds bounds, double maxStepUp,
        double maxStepDown, boolean urgent, Optional<Instant> lastAction, Duration coolDown, Optional<Capacity> nodeHeadroom,
        Optional<LimitRangeBounds> limitRange, Optional<Capacity> quota, int replicas, boolean killSwitch) {

    public GuardrailContext {
        otherContainers = List.copyOf(otherContainers);
        Objects.requireNonNull(bounds, "bounds");
        Objects.requireNonNull(lastAction, "lastAction");
        Objects.requireNonNull(coolDown, "coolDown");
        Objects.requireNonNull(nodeHeadroom, "nodeHeadroom");
        Objects.requireNonNull(limitRange, "limitRange");
        Objects.requireNonNull(quota, "quota");
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas must be at least 1, got " + replicas);
        }
    }

    /** CPU (millicores) and memory (bytes) available, for requests and for limits; absent means unconstrained. */
    public record Capacity(OptionalLong cpuRequestMillis, OptionalLong memoryRequestBytes, OptionalLong cpuLimitMillis,
            OptionalLong memoryLimitBytes) {
        public static Capacity requests(long cpuMillis, long memoryBytes) {
            return new Capacity(OptionalLong.of(cpuMillis), OptionalLong.of(memoryBytes), OptionalLong.empty(), OptionalLong.empty());
        }
    }

    /** A LimitRange's per-container min and max (absent where it sets none). */
    public record LimitRangeBounds(OptionalLong minCpuMillis, OptionalLong maxCpuMillis, OptionalLong minMemoryBytes,
            OptionalLong maxMemoryBytes) {
    }
}
