package dev.flotilla.bench.e2e;

import java.util.List;
import java.util.Map;

/**
 * One round of Flotilla as {@code replicas} sharded replicas: once the group's layout is settled, every
 * mirror deleted at once and recreated by the group.
 *
 * @param readySeconds  the group's start, first spawn to every replica's caches synced, under the cap;
 *                      measured once per group, so NaN after round 1
 * @param totalSeconds  the group's cold start, first spawn to every mirror up to date (joining, the
 *                      first replica taking every shard, handovers as the others join; a capped group's
 *                      cap is lifted from ready when it has warm-up rounds); NaN after round 1
 * @param warmUpRounds  the unrecorded mass deletions the group recovered from, uncapped, before its measured rounds
 * @param burstSeconds  from the mass deletion's first request to every mirror back and up to date
 * @param requests      per replica, API requests sent during this round's recovery (Lease renewals included)
 * @param requestKinds  per replica, those requests by kind and answer ({@link RequestCensus}: {@code PUT.leases.200} to
 *                      a count), most first
 * @param retainedBytes per replica, heap after full GCs minus its baseline
 * @param cached        per replica, objects in its caches
 * @param cap           each replica's CPU cap
 * @param cpuMillis     per replica, its process's CPU time during the recovery
 * @param jitCpuMillis  per replica, of that, its JIT compiler threads' (a lower bound: a retired compiler thread takes its time along)
 * @param throttling    per replica, its cgroup's CFS periods and throttled periods during the recovery (zeros uncapped)
 * @param apiServerCpuMillis the API server's CPU time during the recovery
 * @param etcdCpuMillis etcd's CPU time during the recovery
 * @param interference  CPU taken by processes outside the benchmark during the recovery
 */
record ShardedRun(int replicas, int n, int round, double readySeconds, double totalSeconds, int warmUpRounds, double burstSeconds, List<Long> retainedBytes, List<Long> cached,
        List<Long> requests, List<Map<String, Long>> requestKinds, CpuCap cap, List<Long> cpuMillis, List<Long> jitCpuMillis, List<CpuCap.Throttling> throttling, long apiServerCpuMillis,
        long etcdCpuMillis, Interference interference) {

    ShardedRun {
        retainedBytes = List.copyOf(retainedBytes);
        cached = List.copyOf(cached);
        requests = List.copyOf(requests);
        requestKinds = requestKinds.stream().map(k -> java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(k)))
                .toList();
        cpuMillis = List.copyOf(cpuMillis);
        jitCpuMillis = List.copyOf(jitCpuMillis);
        throttling = List.copyOf(throttling);
    }

    /** Replica {@code i}'s average CPU during the recovery, in cores. */
    double replicaCores(int i) {
        return cpuMillis.get(i) / 1000.0 / burstSeconds;
    }

    /** All replicas' CPU per object recreated less their JIT compilers', in ms: the cost once the code is compiled. */
    double replicaCpuMillisPerObjectWithoutJit() {
        return (cpuMillis.stream().mapToLong(Long::longValue).sum() - jitCpuMillis.stream().mapToLong(Long::longValue).sum())
                / (double) n;
    }

    /** Of all replicas' CPU during the recovery, the share their JIT compilers took. */
    double jitShare() {
        long all = cpuMillis.stream().mapToLong(Long::longValue).sum();
        return all == 0 ? 0 : jitCpuMillis.stream().mapToLong(Long::longValue).sum() / (double) all;
    }

    double apiServerCores() {
        return apiServerCpuMillis / 1000.0 / burstSeconds;
    }

    double etcdCores() {
        return etcdCpuMillis / 1000.0 / burstSeconds;
    }

    /** All replicas' CPU per object recreated, in ms. */
    double replicaCpuMillisPerObject() {
        return cpuMillis.stream().mapToLong(Long::longValue).sum() / (double) n;
    }

    double throughput() {
        return n / burstSeconds;
    }
}
