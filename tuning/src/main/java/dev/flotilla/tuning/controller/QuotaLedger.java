package dev.flotilla.tuning.controller;

import dev.flotilla.tuning.guard.GuardrailContext.Capacity;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the Apply actions of one pass have already promised out of the namespace's ResourceQuota. A changed pod template
 * uses no quota until its new pods exist, so the quota read from the cluster still shows the room every earlier action of
 * the pass counted on; without this, two containers (or two workloads) of one pass could each take all of it.
 *
 * <p>Two things are held: the raises (per pod, times the replicas) and, per workload that changed, the room its rollout's
 * surge pods need. A workload's own surge is not subtracted from its own room here: the guardrail reserves it itself,
 * once per judgement, so that the containers of one workload share one surge.
 */
final class QuotaLedger {

    /** Requests CPU, requests memory, limits CPU, limits memory: the order of {@link Capacity}'s fields. */
    private final long[] raised = new long[4];
    private final Map<String, long[]> surgeByWorkload = new HashMap<>();

    /** {@code room} less what this pass already promised, for a change of {@code workload}. */
    Optional<Capacity> roomFor(String workload, Optional<Capacity> room) {
        return room.map(r -> {
            long[] taken = raised.clone();
            surgeByWorkload.forEach((w, s) -> {
                if (!w.equals(workload)) {
                    for (int i = 0; i < 4; i++) {
                        taken[i] += s[i];
                    }
                }
            });
            return new Capacity(less(r.cpuRequestMillis(), taken[0]), less(r.memoryRequestBytes(), taken[1]),
                    less(r.cpuLimitMillis(), taken[2]), less(r.memoryLimitBytes(), taken[3]));
        });
    }

    /**
     * Records an applied change of {@code workload}: {@code raise} per pod (negative values, lowerings, free nothing until
     * the rollout ends, so they count 0) for {@code replicas} pods, and the {@code surge} its rollout may run.
     */
    void applied(String workload, long[] raise, int replicas, long[] surge) {
        for (int i = 0; i < 4; i++) {
            raised[i] += Math.max(0, raise[i]) * replicas;
        }
        surgeByWorkload.put(workload, surge.clone());
    }

    private static OptionalLong less(OptionalLong room, long taken) {
        return room.isPresent() ? OptionalLong.of(Math.max(0, room.getAsLong() - taken)) : room;
    }
}
