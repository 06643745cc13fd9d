package dev.flotilla.tuning.guard;

import dev.flotilla.tuning.recommend.ContainerResources;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * What a pod asks of a node and of a quota, counted the way the scheduler and the quota do
 * (k8s.io/component-helpers {@code resource.PodRequests}/{@code PodLimits}): the containers and the
 * restartable (sidecar) init containers run together; an ordinary init container runs alone, next to the
 * sidecars declared before it; the pod asks the larger of the two, plus {@code spec.overhead}.
 *
 * <p>A container with a limit and no request counts its limit as request: the API server defaults a pod's
 * request so, and a pod template's containers become such pods.
 *
 * <pre>{@code
 * dev.flotilla.tuning.recommend.ContainerResources app;     // the container's requests and limits
 * dev.flotilla.tuning.recommend.ContainerResources migrate; // an init container's
 * var pod = new PodShape(List.of(app), List.of(new PodShape.InitContainer(migrate, false)), PodShape.NONE);
 * PodShape.Totals t = pod.requests(); // max(migrate, app) for CPU and for memory
 * }</pre>
 *
 * @param containers     {@code spec.containers}
 * @param initContainers {@code spec.initContainers}, in order
 * @param overhead       {@code spec.overhead} in the request fields (one list, added to requests and to limits),
 *                       {@link #NONE} when unset
 */
public record PodShape(List<ContainerResources> containers, List<InitContainer> initContainers, ContainerResources overhead) {

    /** No resources: the overhead of a pod without a RuntimeClass. */
    public static final ContainerResources NONE = new ContainerResources(OptionalLong.empty(), OptionalLong.empty(),
            OptionalLong.empty(), OptionalLong.empty());

    public PodShape {
        containers = List.copyOf(containers);
        initContainers = List.copyOf(initContainers);
        Objects.requireNonNull(overhead, "overhead (use PodShape.NONE)");
    }

    /** One init container; {@code restartable} is {@code restartPolicy: Always}, a sidecar that keeps running. */
    public record InitContainer(ContainerResources resources, boolean restartable) {
        public InitContainer {
            Objects.requireNonNull(resources, "resources");
        }
    }

    /** CPU in millicores and memory in bytes. */
    public record Totals(long cpuMillis, long memoryBytes) {
        public Totals {
            if (cpuMillis < 0 || memoryBytes < 0) {
                throw new IllegalArgumentException("totals cannot be negative: " + cpuMillis + "m, " + memoryBytes + " bytes");
            }
        }
    }

    /** The pod's requests as the scheduler and the quota count them. */
    public Totals requests() {
        return new Totals(total(true, true, false), total(false, true, false));
    }

    /** The pod's limits as the quota counts them ({@code limits.cpu}, {@code limits.memory}); unset limits count 0. */
    public Totals limits() {
        return new Totals(total(true, false, false), total(false, false, false));
    }

    /**
     * The requests once every init container has finished: the containers, the sidecars and the overhead. Growing a
     * container grows the pod by as much as this part grows (an init container's peak is a max taken beside it, so it
     * never makes room for a raise), which is why headroom for a raise is measured against this, not {@link #requests()}.
     */
    public Totals steadyRequests() {
        return new Totals(total(true, true, true), total(false, true, true));
    }

    private long total(boolean cpu, boolean requests, boolean steadyOnly) {
        long running = 0;
        for (ContainerResources c : containers) {
            running += value(c, cpu, requests);
        }
        long sidecars = 0;
        long initPeak = 0;
        for (InitContainer init : initContainers) {
            long v = value(init.resources(), cpu, requests);
            if (init.restartable()) {
                // A sidecar runs beside every later init container and beside the containers.
                sidecars += v;
                initPeak = Math.max(initPeak, sidecars);
            } else {
                initPeak = Math.max(initPeak, sidecars + v);
            }
        }
        long pod = steadyOnly ? running + sidecars : Math.max(running + sidecars, initPeak);
        long over = (cpu ? overhead.cpuRequestMillis() : overhead.memoryRequestBytes()).orElse(0);
        // The quota adds overhead to limits only where the pod has a limit at all (PodLimits: "for any non-zero limits").
        return requests || pod > 0 ? pod + over : pod;
    }

    private static long value(ContainerResources c, boolean cpu, boolean requests) {
        if (cpu) {
            return (requests ? c.cpuRequestMillis().isPresent() ? c.cpuRequestMillis() : c.cpuLimitMillis() : c.cpuLimitMillis())
                    .orElse(0);
        }
        return (requests ? c.memoryRequestBytes().isPresent() ? c.memoryRequestBytes() : c.memoryLimitBytes()
                : c.memoryLimitBytes()).orElse(0);
    }
}
