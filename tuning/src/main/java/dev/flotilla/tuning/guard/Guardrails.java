package dev.flotilla.tuning.guard;

import dev.flotilla.tuning.guard.Decision.Guardrail;
import dev.flotilla.tuning.guard.GuardrailContext.Capacity;
import dev.flotilla.tuning.recommend.ContainerResources;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The hard limits between a recommendation and the cluster, applied in every mode: the kill
 * switch, the cool-down, the policy's bounds, the largest step, the LimitRange, the node's free
 * capacity, the namespace's ResourceQuota, and the pod's QoS class. A value that crosses one is
 * cut back to it (and the cut is reported); a change that would alter the QoS class, or that is
 * cut back to nothing, is refused with the guardrail that stopped it.
 *
 * <pre>{@code
 * ContainerResources current;        // what the container has now
 * dev.flotilla.tuning.recommend.Recommendation recommendation; // what the recommender wants
 * GuardrailContext context;          // node, quota, limit range, bounds, history
 * Decision d = Guardrails.judge(current, recommendation.target(), context, Instant.now());
 * if (d instanceof Decision.Allow allow) {
 *     ContainerResources next = allow.target(); // within every guardrail: write it
 * }
 * }</pre>
 */
public final class Guardrails {

    private Guardrails() {
    }

    public static Decision judge(ContainerResources current, ContainerResources proposed, GuardrailContext ctx, Instant now) {
        if (ctx.killSwitch()) {
            return new Decision.Refuse(Guardrail.KILL_SWITCH, "tuning is switched off by the kill switch; nothing is changed");
        }
        if (proposed.equals(current)) {
            return new Decision.Refuse(Guardrail.NO_CHANGE, "the recommendation equals the current resources");
        }
        if (!ctx.urgent() && ctx.lastAction().isPresent() && ctx.lastAction().get().plus(ctx.coolDown()).isAfter(now)) {
            return new Decision.Refuse(Guardrail.COOL_DOWN, "last changed at " + ctx.lastAction().get()
                    + "; the next change may come after " + ctx.lastAction().get().plus(ctx.coolDown()));
        }
        List<String> cuts = new ArrayList<>();
        Guardrail[] lastCut = {null};
        Value cpuReq = new Value("cpu request", current.cpuRequestMillis(), proposed.cpuRequestMillis(), "m");
        Value cpuLim = new Value("cpu limit", current.cpuLimitMillis(), proposed.cpuLimitMillis(), "m");
        Value memReq = new Value("memory request", current.memoryRequestBytes(), proposed.memoryRequestBytes(), " bytes");
        Value memLim = new Value("memory limit", current.memoryLimitBytes(), proposed.memoryLimitBytes(), " bytes");
        List<Value> all = List.of(cpuReq, cpuLim, memReq, memLim);

        cpuReq.clamp(ctx.bounds().minCpuMillis(), ctx.bounds().maxCpuMillis(), Guardrail.POLICY_BOUNDS, cuts, lastCut);
        memReq.clamp(ctx.bounds().minMemoryBytes(), ctx.bounds().maxMemoryBytes(), Guardrail.POLICY_BOUNDS, cuts, lastCut);
        // A limit is held to the bounds when it grows; one already above them is not pushed down (that could OOM-kill).
        cpuLim.clamp(ctx.bounds().minCpuMillis(), Math.max(ctx.bounds().maxCpuMillis(), cpuLim.before.orElse(0)),
                Guardrail.POLICY_BOUNDS, cuts, lastCut);
        memLim.clamp(ctx.bounds().minMemoryBytes(), Math.max(ctx.bounds().maxMemoryBytes(), memLim.before.orElse(0)),
                Guardrail.POLICY_BOUNDS, cuts, lastCut);
        if (!ctx.urgent()) {
            for (Value v : all) {
                if (v.before.isPresent() && v.after.isPresent()) {
                    long up = (long) Math.floor(v.before.getAsLong() * ctx.maxStepUp());
                    long down = (long) Math.ceil(v.before.getAsLong() * ctx.maxStepDown());
                    v.clamp(down, up, Guardrail.STEP, cuts, lastCut);
                }
            }
        }
        ctx.limitRange().ifPresent(lr -> {
            cpuReq.clamp(lr.cpu().min().orElse(0), lr.cpu().max().orElse(Long.MAX_VALUE), Guardrail.LIMIT_RANGE, cuts, lastCut);
            cpuLim.clamp(lr.cpu().min().orElse(0), lr.cpu().max().orElse(Long.MAX_VALUE), Guardrail.LIMIT_RANGE, cuts, lastCut);
            memReq.clamp(lr.memory().min().orElse(0), lr.memory().max().orElse(Long.MAX_VALUE), Guardrail.LIMIT_RANGE, cuts, lastCut);
            memLim.clamp(lr.memory().min().orElse(0), lr.memory().max().orElse(Long.MAX_VALUE), Guardrail.LIMIT_RANGE, cuts, lastCut);
        });
        ctx.nodeHeadroom().ifPresent(room -> capIncrease(List.of(cpuReq, memReq, cpuLim, memLim), room, 1, new long[4],
                Guardrail.NODE_CAPACITY, "the node's allocatable minus what other pods request", cuts, lastCut));
        if (ctx.quota().isPresent()) {
            // The quota must hold the rollout's peak, not just its end. A rolling update never runs more than replicas + surge
            // pods, and the new ReplicaSet never more than replicas; so with N replicas, S surge pods, old pods of size a and
            // new ones of size b >= a, the peak is N*b + S*a (all new pods up while S old ones still run). Today's pods use
            // N*a, so the quota must have room for N*(b - a) + S*a: the S old-size pods are reserved first and what is left
            // is shared by the N replicas. (A lowering peaks at N*a + S*b, below today's use plus S*a.) InPlace and
            // Recreate have S = 0.
            Capacity room = ctx.quota().get();
            PodShape before = new PodShape(with(ctx.otherContainers(), current), ctx.initContainers(), ctx.overhead());
            PodShape.Totals req = before.requests();
            PodShape.Totals lim = before.limits();
            long s = ctx.surge();
            long[] reserved = {s * req.cpuMillis(), s * req.memoryBytes(), s * lim.cpuMillis(), s * lim.memoryBytes()};
            OptionalLong[] rooms = {room.cpuRequestMillis(), room.memoryRequestBytes(), room.cpuLimitMillis(), room.memoryLimitBytes()};
            String[] names = {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory"};
            for (int i = 0; i < 4; i++) {
                if (rooms[i].isPresent() && rooms[i].getAsLong() < reserved[i]) {
                    // Any change of the template rolls out, and the rollout's first pods are surge pods of today's size:
                    // where they do not fit, even a lowering would leave the rollout stuck at the quota.
                    return new Decision.Refuse(Guardrail.RESOURCE_QUOTA, "the rollout's " + s + " surge pod(s) need " + names[i]
                            + " " + reserved[i] + " and the namespace's ResourceQuota has " + rooms[i].getAsLong() + " left");
                }
            }
            capIncrease(List.of(cpuReq, memReq, cpuLim, memLim), room, ctx.replicas(), reserved, Guardrail.RESOURCE_QUOTA,
                    "the namespace's ResourceQuota", cuts, lastCut);
        }
        ctx.limitRange().ifPresent(lr -> {
            fitLimitRange(cpuReq, cpuLim, lr.cpu(), ctx.otherContainers(), ctx.initContainers(), true, cuts, lastCut);
            fitLimitRange(memReq, memLim, lr.memory(), ctx.otherContainers(), ctx.initContainers(), false, cuts, lastCut);
        });
        // A request never exceeds its limit: where a limit was cut, the request follows it.
        for (Value[] pair : new Value[][] {{cpuReq, cpuLim}, {memReq, memLim}}) {
            if (pair[0].after.isPresent() && pair[1].after.isPresent() && pair[0].after.getAsLong() > pair[1].after.getAsLong()) {
                pair[0].after = pair[1].after;
                cuts.add(pair[0].name + " lowered to its limit");
            }
        }
        if (current.isGuaranteed()) {
            // Caps cut requests and limits separately; a Guaranteed container keeps requests equal to limits, so a
            // limit whose request was cut follows it down (the relief that fits, with the QoS class kept).
            for (Value[] pair : new Value[][] {{cpuReq, cpuLim}, {memReq, memLim}}) {
                if (pair[0].after.isPresent() && pair[1].after.isPresent() && pair[1].after.getAsLong() > pair[0].after.getAsLong()) {
                    pair[1].after = pair[0].after;
                    cuts.add(pair[1].name + " kept equal to its request (Guaranteed)");
                }
            }
        }
        ContainerResources target = new ContainerResources(cpuReq.after, cpuLim.after, memReq.after, memLim.after);
        List<ContainerResources> before = new ArrayList<>(ctx.otherContainers());
        before.add(current);
        List<ContainerResources> after = new ArrayList<>(ctx.otherContainers());
        after.add(target);
        QosClass was = QosClass.of(before);
        QosClass would = QosClass.of(after);
        if (was != would) {
            return new Decision.Refuse(Guardrail.QOS_CLASS, "the change would turn the pod's QoS class from " + was + " into "
                    + would + "; the tuner never changes a QoS class");
        }
        if (ctx.limitRange().isPresent()) {
            Optional<String> refused = LimitRangeCheck.violation(target, ctx.otherContainers(), ctx.initContainers(),
                    ctx.limitRange().get());
            if (refused.isPresent()) {
                return new Decision.Refuse(Guardrail.LIMIT_RANGE, "new pods would be refused by the LimitRange: " + refused.get()
                        + (cuts.isEmpty() ? "" : " (after: " + String.join("; ", cuts) + ")"));
            }
        }
        if (target.equals(current)) {
            Guardrail which = lastCut[0] == null ? Guardrail.NO_CHANGE : lastCut[0];
            return new Decision.Refuse(which, "nothing left to change after: " + String.join("; ", cuts));
        }
        return new Decision.Allow(target, cuts);
    }

    /**
     * Cuts raises so that their sum (times {@code replicas}) fits in {@code room} once {@code reserved} (per value, in
     * the order of {@code values}) is taken out of it.
     */
    private static void capIncrease(List<Value> values, Capacity room, int replicas, long[] reserved, Guardrail guardrail,
            String what, List<String> cuts, Guardrail[] lastCut) {
        OptionalLong[] rooms = {room.cpuRequestMillis(), room.memoryRequestBytes(), room.cpuLimitMillis(), room.memoryLimitBytes()};
        for (int i = 0; i < values.size(); i++) {
            Value v = values.get(i);
            if (rooms[i].isEmpty() || v.after.isEmpty()) {
                continue;
            }
            long before = v.before.orElse(0);
            long increase = v.after.getAsLong() - before;
            long allowed = Math.max(0, rooms[i].getAsLong() - reserved[i]) / replicas;
            if (increase > allowed) {
                long capped = before + allowed;
                cuts.add(v.name + " raise to " + v.after.getAsLong() + v.unit + " cut to " + capped + v.unit + " by " + what
                        + " (room " + rooms[i].getAsLong() + v.unit + (replicas > 1 ? " for " + replicas + " pods" : "")
                        + (reserved[i] > 0 ? ", " + reserved[i] + v.unit + " of it held for the rollout's surge pods" : "") + ")");
                v.after = v.before.isPresent() || capped > 0 ? OptionalLong.of(capped) : OptionalLong.empty();
                if (v.before.isPresent() && capped == before) {
                    v.after = v.before;
                }
                lastCut[0] = guardrail;
            }
        }
    }

    /**
     * Cuts the change back so that the LimitRanger admits the new pods' container: a limit the ratio needs is kept, a
     * Pod maximum is shared with the other containers, a request stays under the limit the container will be defaulted to,
     * and the limit-to-request ratio holds (a limit raise is cut first; then a request lowering is held). What cannot be
     * fixed this way is left to {@link LimitRangeCheck}, which refuses it.
     */
    private static void fitLimitRange(Value req, Value lim, GuardrailContext.ResourceRange r, List<ContainerResources> others,
            List<PodShape.InitContainer> inits,
            boolean cpu, List<String> cuts, Guardrail[] lastCut) {
        OptionalLong ratio = r.maxLimitRequestRatioMilli();
        if (ratio.isPresent() && lim.after.isEmpty() && lim.before.isPresent()) {
            lim.after = lim.before;
            cuts.add(lim.name + " kept at " + lim.before.getAsLong() + lim.unit + " by LIMIT_RANGE (maxLimitRequestRatio needs a limit)");
            lastCut[0] = Guardrail.LIMIT_RANGE;
        }
        if (r.podMax().isPresent()) {
            // The running part beside this container: the other containers and every sidecar (a raise of this one
            // never fits inside an init container's peak, so that part leaves no room).
            long otherRequests = 0;
            long otherLimits = 0;
            for (ContainerResources o : others) {
                var or = LimitRangeCheck.effective(o, r, cpu);
                otherRequests += or[0];
                otherLimits += or[1];
            }
            for (PodShape.InitContainer i : inits) {
                if (i.restartable()) {
                    var ir = LimitRangeCheck.effective(i.resources(), r, cpu);
                    otherRequests += ir[0];
                    otherLimits += ir[1];
                }
            }
            long reqRoom = r.podMax().getAsLong() - otherRequests;
            long limRoom = r.podMax().getAsLong() - otherLimits;
            if (reqRoom > 0) {
                req.clamp(0, reqRoom, Guardrail.LIMIT_RANGE, cuts, lastCut);
            }
            if (limRoom > 0) {
                lim.clamp(0, limRoom, Guardrail.LIMIT_RANGE, cuts, lastCut);
            }
        }
        OptionalLong limit = r.effectiveLimit(lim.after);
        if (lim.after.isEmpty() && limit.isPresent() && req.after.isPresent() && req.after.getAsLong() > limit.getAsLong()) {
            cuts.add(req.name + " " + req.after.getAsLong() + req.unit + " cut to " + limit.getAsLong() + req.unit
                    + " by LIMIT_RANGE (the default limit new pods get)");
            req.after = limit;
            lastCut[0] = Guardrail.LIMIT_RANGE;
        }
        if (ratio.isEmpty()) {
            return;
        }
        OptionalLong request = r.effectiveRequest(req.after, lim.after);
        limit = r.effectiveLimit(lim.after);
        if (request.isEmpty() || limit.isEmpty() || !LimitRangeCheck.ratioExceeded(limit.getAsLong(), request.getAsLong(),
                ratio.getAsLong())) {
            return;
        }
        if (lim.after.isPresent()) {
            // Never below the limit the container has now: pushing an existing limit down could OOM-kill it.
            long most = Math.max(LimitRangeCheck.largestLimit(request.getAsLong(), ratio.getAsLong()), lim.before.orElse(0));
            lim.clamp(0, most, Guardrail.LIMIT_RANGE, cuts, lastCut);
            limit = lim.after;
        }
        if (req.after.isPresent() && LimitRangeCheck.ratioExceeded(limit.getAsLong(), req.after.getAsLong(), ratio.getAsLong())) {
            long least = LimitRangeCheck.smallestRequest(limit.getAsLong(), ratio.getAsLong());
            // Holding a lowering back is fine; raising past today's request is not (the node and quota checks are behind us).
            if (least <= Math.max(req.before.orElse(0), req.after.getAsLong())) {
                req.clamp(least, Long.MAX_VALUE, Guardrail.LIMIT_RANGE, cuts, lastCut);
            }
        }
    }

    private static List<ContainerResources> with(List<ContainerResources> others, ContainerResources one) {
        List<ContainerResources> all = new ArrayList<>(others);
        all.add(one);
        return all;
    }

    private static final class Value {
        final String name;
        final OptionalLong before;
        OptionalLong after;
        final String unit;

        Value(String name, OptionalLong before, OptionalLong after, String unit) {
            this.name = name;
            this.before = before;
            this.after = after;
            this.unit = unit;
        }

        void clamp(long min, long max, Guardrail guardrail, List<String> cuts, Guardrail[] lastCut) {
            if (after.isEmpty()) {
                return;
            }
            long v = after.getAsLong();
            long c = Math.max(min, Math.min(max, v));
            if (c != v) {
                cuts.add(name + " " + v + unit + " cut to " + c + unit + " by " + guardrail);
                after = OptionalLong.of(c);
                lastCut[0] = guardrail;
            }
        }
    }

}
