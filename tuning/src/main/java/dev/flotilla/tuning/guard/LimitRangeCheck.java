package dev.flotilla.tuning.guard;

import dev.flotilla.tuning.guard.GuardrailContext.LimitRangeBounds;
import dev.flotilla.tuning.guard.GuardrailContext.ResourceRange;
import dev.flotilla.tuning.recommend.ContainerResources;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Whether the LimitRanger admission plugin (kubernetes plugin/pkg/admission/limitranger) would admit a new pod's
 * container: its defaults are applied first (a missing limit becomes {@code default}, a missing request the written
 * limit or else {@code defaultRequest}), then Container min, max and maxLimitRequestRatio, and the Pod max over the sum of
 * the pod's containers. Only the governed container's own rules and the Pod sums it takes part in are judged: other
 * containers' own violations are not the tuner's to fix.
 */
final class LimitRangeCheck {

    private LimitRangeCheck() {
    }

    /** The first rule the pod's new {@code target} container breaks, in the plugin's words where it has them. */
    static Optional<String> violation(ContainerResources target, List<ContainerResources> others,
            List<PodShape.InitContainer> inits, LimitRangeBounds lr) {
        return check("cpu", target.cpuRequestMillis(), target.cpuLimitMillis(), target, others, inits, lr.cpu(), true, "m")
                .or(() -> check("memory", target.memoryRequestBytes(), target.memoryLimitBytes(), target, others, inits,
                        lr.memory(), false, " bytes"));
    }

    /**
     * What the plugin sums for a Pod item: every container and init container as defaulted, then added up as the
     * scheduler does (the larger of the largest init container with the sidecars before it, and the containers with
     * all sidecars); a value no container has is absent. Measured on the REAL server: a container without a limit
     * beside one with a 2-CPU limit passes a Pod max of 4; a 1-CPU sidecar beside a 3.5-CPU container does not.
     */
    static long[] podSums(ContainerResources target, List<ContainerResources> others, List<PodShape.InitContainer> inits,
            ResourceRange r, boolean cpu) {
        List<ContainerResources> containers = new java.util.ArrayList<>();
        boolean[] present = new boolean[2];
        for (ContainerResources c : with(others, target)) {
            containers.add(defaulted(c, r, cpu, present));
        }
        List<PodShape.InitContainer> defaultedInits = new java.util.ArrayList<>();
        for (PodShape.InitContainer i : inits) {
            defaultedInits.add(new PodShape.InitContainer(defaulted(i.resources(), r, cpu, present), i.restartable()));
        }
        PodShape pod = new PodShape(containers, defaultedInits, PodShape.NONE);
        long requests = cpu ? pod.requests().cpuMillis() : pod.requests().memoryBytes();
        long limits = cpu ? pod.limits().cpuMillis() : pod.limits().memoryBytes();
        return new long[] {present[0] ? requests : -1, present[1] ? limits : -1};
    }

    private static List<ContainerResources> with(List<ContainerResources> others, ContainerResources one) {
        List<ContainerResources> all = new java.util.ArrayList<>(others);
        all.add(one);
        return all;
    }

    /** {@code c} with this resource's request and limit as the LimitRanger leaves them (the other resource unset). */
    private static ContainerResources defaulted(ContainerResources c, ResourceRange r, boolean cpu, boolean[] present) {
        long[] v = effective(c, r, cpu);
        OptionalLong req = (cpu ? c.cpuRequestMillis() : c.memoryRequestBytes()).isPresent() || v[0] > 0
                ? OptionalLong.of(v[0]) : OptionalLong.empty();
        OptionalLong lim = v[1] > 0 ? OptionalLong.of(v[1]) : OptionalLong.empty();
        present[0] |= req.isPresent();
        present[1] |= lim.isPresent();
        return cpu ? new ContainerResources(req, lim, OptionalLong.empty(), OptionalLong.empty())
                : new ContainerResources(OptionalLong.empty(), OptionalLong.empty(), req, lim);
    }

    private static Optional<String> check(String resource, OptionalLong writtenRequest, OptionalLong writtenLimit,
            ContainerResources target, List<ContainerResources> others, List<PodShape.InitContainer> inits, ResourceRange r,
            boolean cpu, String unit) {
        OptionalLong request = r.effectiveRequest(writtenRequest, writtenLimit);
        OptionalLong limit = r.effectiveLimit(writtenLimit);
        if (r.min().isPresent()) {
            long min = r.min().getAsLong();
            if (request.isEmpty()) {
                return Optional.of("minimum " + resource + " per Container is " + min + unit + ", but no request is specified");
            }
            if (request.getAsLong() < min || limit.isPresent() && limit.getAsLong() < min) {
                return Optional.of("minimum " + resource + " per Container is " + min + unit + ", but request/limit is "
                        + request.getAsLong() + unit + "/" + show(limit, unit));
            }
        }
        if (r.max().isPresent()) {
            long max = r.max().getAsLong();
            if (limit.isEmpty()) {
                return Optional.of("maximum " + resource + " per Container is " + max + unit + ", but no limit is specified");
            }
            if (limit.getAsLong() > max || request.isPresent() && request.getAsLong() > max) {
                return Optional.of("maximum " + resource + " per Container is " + max + unit + ", but request/limit is "
                        + show(request, unit) + "/" + limit.getAsLong() + unit);
            }
        }
        if (r.maxLimitRequestRatioMilli().isPresent()) {
            long ratio = r.maxLimitRequestRatioMilli().getAsLong();
            if (request.isEmpty() || limit.isEmpty()) {
                return Optional.of(resource + " max limit to request ratio per Container is " + ratio / 1000.0
                        + ", but the request or the limit is not specified");
            }
            if (ratioExceeded(limit.getAsLong(), request.getAsLong(), ratio)) {
                return Optional.of(resource + " max limit to request ratio per Container is " + ratio / 1000.0 + ", but "
                        + limit.getAsLong() + unit + " / " + request.getAsLong() + unit + " is "
                        + (double) limit.getAsLong() / request.getAsLong());
            }
        }
        // Not LimitRanger's rule but pod validation's, which runs right after it: a defaulted limit below the request fails.
        if (request.isPresent() && limit.isPresent() && request.getAsLong() > limit.getAsLong()) {
            return Optional.of(resource + " request " + request.getAsLong() + unit + " is above the limit " + limit.getAsLong() + unit
                    + " new pods get");
        }
        if (r.podMax().isPresent()) {
            long max = r.podMax().getAsLong();
            long[] sums = podSums(target, others, inits, r, cpu);
            if (sums[1] < 0 || sums[1] > max || sums[0] > max) {
                return Optional.of("maximum " + resource + " per Pod is " + max + unit + ", but the pod's requests/limits are "
                        + (sums[0] < 0 ? "unset" : sums[0] + unit) + "/" + (sums[1] < 0 ? "unset" : sums[1] + unit));
            }
        }
        return Optional.empty();
    }

    /** A container's request and limit (0 where absent) once the API server and the LimitRanger have defaulted them. */
    static long[] effective(ContainerResources c, ResourceRange r, boolean cpu) {
        OptionalLong req = cpu ? c.cpuRequestMillis() : c.memoryRequestBytes();
        OptionalLong lim = cpu ? c.cpuLimitMillis() : c.memoryLimitBytes();
        return new long[] {r.effectiveRequest(req, lim).orElse(0), r.effectiveLimit(lim).orElse(0)};
    }

    /**
     * The plugin's test, kept as it computes it: {@code float64(limit)/float64(request) * 1000 > ratio in milli}
     * (both values at milli precision cancel out), so that a value on the edge is judged as the plugin judges it.
     */
    static boolean ratioExceeded(long limit, long request, long ratioMilli) {
        return (double) limit / (double) request * 1000 > (double) ratioMilli;
    }

    /** The largest limit {@code request} allows under the ratio. */
    static long largestLimit(long request, long ratioMilli) {
        long l = saturatedProduct(request, ratioMilli) / 1000;
        while (l > request && ratioExceeded(l, request, ratioMilli)) {
            l--; // floating-point edge: one step is all it ever takes
        }
        return l;
    }

    /** {@code a * b} for non-negative values, or Long.MAX_VALUE where it overflows. */
    private static long saturatedProduct(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The smallest request {@code limit} allows under the ratio. */
    static long smallestRequest(long limit, long ratioMilli) {
        long r = Math.max(1, Math.ceilDiv(saturatedProduct(limit, 1000), ratioMilli));
        while (r < limit && ratioExceeded(limit, r, ratioMilli)) {
            r++;
        }
        return r;
    }

    private static String show(OptionalLong v, String unit) {
        return v.isPresent() ? v.getAsLong() + unit : "unset";
    }
}
