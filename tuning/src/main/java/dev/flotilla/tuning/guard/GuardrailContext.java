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
 * @param quota            what the namespace's ResourceQuotas still allow, if any, less what earlier Apply actions of the
 *                         same pass promised (a changed template uses no quota until its pods exist)
 * @param replicas         how many pods the change multiplies by (1 for InPlace, the replica count for Apply)
 * @param killSwitch       the operator's global stop: no action at all
 * @param initContainers   the pod's init containers (they count in what the pod asks of a quota)
 * @param overhead         the pod's {@code spec.overhead} ({@link PodShape#NONE} when none)
 * @param surge            how many pods above {@code replicas} the rollout of the change may run at once (0 for InPlace,
 *                         a Recreate Deployment and a StatefulSet; see {@link Surge})
 */
public record GuardrailContext(List<ContainerResources> otherContainers, ResourceBounds bounds, double maxStepUp,
        double maxStepDown, boolean urgent, Optional<Instant> lastAction, Duration coolDown, Optional<Capacity> nodeHeadroom,
        Optional<LimitRangeBounds> limitRange, Optional<Capacity> quota, int replicas, boolean killSwitch,
        List<PodShape.InitContainer> initContainers, ContainerResources overhead, int surge) {

    /** A context for a pod without init containers and overhead whose change rolls out without surge. */
    public GuardrailContext(List<ContainerResources> otherContainers, ResourceBounds bounds, double maxStepUp, double maxStepDown,
            boolean urgent, Optional<Instant> lastAction, Duration coolDown, Optional<Capacity> nodeHeadroom,
            Optional<LimitRangeBounds> limitRange, Optional<Capacity> quota, int replicas, boolean killSwitch) {
        this(otherContainers, bounds, maxStepUp, maxStepDown, urgent, lastAction, coolDown, nodeHeadroom, limitRange, quota, replicas,
                killSwitch, List.of(), PodShape.NONE, 0);
    }

    public GuardrailContext {
        otherContainers = List.copyOf(otherContainers);
        initContainers = List.copyOf(initContainers);
        Objects.requireNonNull(overhead, "overhead (use PodShape.NONE)");
        if (surge < 0) {
            throw new IllegalArgumentException("surge cannot be negative, got " + surge);
        }
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

    /** This context with the pod's init containers and overhead. */
    public GuardrailContext withPod(List<PodShape.InitContainer> inits, ContainerResources podOverhead) {
        return new GuardrailContext(otherContainers, bounds, maxStepUp, maxStepDown, urgent, lastAction, coolDown, nodeHeadroom,
                limitRange, quota, replicas, killSwitch, inits, podOverhead, surge);
    }

    /** This context with a rollout surge of {@code pods}. */
    public GuardrailContext withSurge(int pods) {
        return new GuardrailContext(otherContainers, bounds, maxStepUp, maxStepDown, urgent, lastAction, coolDown, nodeHeadroom,
                limitRange, quota, replicas, killSwitch, initContainers, overhead, pods);
    }

    /**
     * What the namespace's LimitRanges do to a new pod's CPU and memory, as the LimitRanger admission plugin applies
     * them: defaults first, then every constraint.
     */
    public record LimitRangeBounds(ResourceRange cpu, ResourceRange memory) {
        public LimitRangeBounds {
            Objects.requireNonNull(cpu, "cpu");
            Objects.requireNonNull(memory, "memory");
        }

        /** Container min and max only. */
        public LimitRangeBounds(OptionalLong minCpuMillis, OptionalLong maxCpuMillis, OptionalLong minMemoryBytes,
                OptionalLong maxMemoryBytes) {
            this(ResourceRange.minMax(minCpuMillis, maxCpuMillis), ResourceRange.minMax(minMemoryBytes, maxMemoryBytes));
        }
    }

    /**
     * One resource's LimitRange rules (millicores or bytes; absent where no LimitRange sets one).
     *
     * @param min                       Container {@code min}: request and limit at least this, and a request must exist
     * @param max                       Container {@code max}: limit and request at most this, and a limit must exist
     * @param defaultLimit              Container {@code default}: the limit a container without one gets
     * @param defaultRequest            Container {@code defaultRequest}: the request a container with neither gets
     * @param maxLimitRequestRatioMilli Container {@code maxLimitRequestRatio} x 1000: limit / request at most this, and
     *                                  both must exist
     * @param podMax                    Pod {@code max}: the sum over the pod's containers (or its largest init container)
     *                                  at most this, for requests and for limits
     */
    public record ResourceRange(OptionalLong min, OptionalLong max, OptionalLong defaultLimit, OptionalLong defaultRequest,
            OptionalLong maxLimitRequestRatioMilli, OptionalLong podMax) {
        public ResourceRange {
            Objects.requireNonNull(min, "min");
            Objects.requireNonNull(max, "max");
            Objects.requireNonNull(defaultLimit, "defaultLimit");
            Objects.requireNonNull(defaultRequest, "defaultRequest");
            Objects.requireNonNull(maxLimitRequestRatioMilli, "maxLimitRequestRatioMilli");
            Objects.requireNonNull(podMax, "podMax");
            if (maxLimitRequestRatioMilli.isPresent() && maxLimitRequestRatioMilli.getAsLong() < 1000) {
                throw new IllegalArgumentException("maxLimitRequestRatio must be at least 1, got "
                        + maxLimitRequestRatioMilli.getAsLong() / 1000.0);
            }
        }

        /** No rule at all. */
        public static final ResourceRange NONE = new ResourceRange(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());

        public static ResourceRange minMax(OptionalLong min, OptionalLong max) {
            return new ResourceRange(min, max, OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());
        }

        /** The limit a new pod's container gets from {@code limit} as written in the template. */
        public OptionalLong effectiveLimit(OptionalLong limit) {
            return limit.isPresent() ? limit : defaultLimit;
        }

        /**
         * The request a new pod's container gets: as written; else its written limit (the API server's pod defaulting,
         * which runs before admission); else the LimitRange's {@code defaultRequest}.
         */
        public OptionalLong effectiveRequest(OptionalLong request, OptionalLong limit) {
            return request.isPresent() ? request : limit.isPresent() ? limit : defaultRequest;
        }
    }
}
