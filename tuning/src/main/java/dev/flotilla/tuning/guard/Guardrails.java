package dev.flotilla.tuning.guard;

import dev.flotilla.tuning.guard.Decision.Guardrail;
import dev.flotilla.tuning.guard.GuardrailContext.Capacity;
import dev.flotilla.tuning.recommend.ContainerResources;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
            for (Value v : List.of(cpuReq, cpuLim)) {
                v.clamp(lr.minCpuMillis().orElse(0), lr.maxCpuMillis().orElse(Long.MAX_VALUE), Guardrail.LIMIT_RANGE, cuts, lastCut);
            }
            for (Value v : List.of(memReq, memLim)) {
                v.clamp(lr.minMemoryBytes().orElse(0), lr.maxMemoryBytes().orElse(Long.MAX_VALUE), Guardrail.LIMIT_RANGE, cuts,
                        lastCut);
            }
        });
        ctx.nodeHeadroom().ifPresent(room -> capIncrease(List.of(cpuReq, memReq, cpuLim, memLim), room, 1,
                Guardrail.NODE_CAPACITY, "the node's allocatable minus what other pods request", cuts, lastCut));
        ctx.quota().ifPresent(room -> capIncrease(List.of(cpuReq, memReq, cpuLim, memLim), room, ctx.replicas(),
                Guardrail.RESOURCE_QUOTA, "the namespace's ResourceQuota", cuts, lastCut));
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
        if (target.equals(current)) {
            Guardrail which = lastCut[0] == null ? Guardrail.NO_CHANGE : lastCut[0];
            return new Decision.Refuse(which, "nothing left to change after: " + String.join("; ", cuts));
        }
        return new Decision.Allow(target, cuts);
    }

    /** Cuts raises so that their sum (times {@code replicas}) fits in {@code room}. */
    private static void capIncrease(List<Value> values, Capacity room, int replicas, Guardrail guardrail, String what,
            List<String> cuts, Guardrail[] lastCut) {
        OptionalLong[] rooms = {room.cpuRequestMillis(), room.memoryRequestBytes(), room.cpuLimitMillis(), room.memoryLimitBytes()};
        for (int i = 0; i < values.size(); i++) {
            Value v = values.get(i);
            if (rooms[i].isEmpty() || v.after.isEmpty()) {
                continue;
            }
            long before = v.before.orElse(0);
            long increase = v.after.getAsLong() - before;
            long allowed = Math.max(0, rooms[i].getAsLong()) / replicas;
            if (increase > allowed) {
                long capped = before + allowed;
                cuts.add(v.name + " raise to " + v.after.getAsLong() + v.unit + " cut to " + capped + v.unit + " by " + what
                        + " (room " + rooms[i].getAsLong() + v.unit + (replicas > 1 ? " for " + replicas + " pods" : "") + ")");
                v.after = v.before.isPresent() || capped > 0 ? OptionalLong.of(capped) : OptionalLong.empty();
                if (v.before.isPresent() && capped == before) {
                    v.after = v.before;
                }
                lastCut[0] = guardrail;
            }
        }
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
