package dev.flotilla.bench.e2e;

import java.util.List;

/**
 * One round of Flotilla as {@code replicas} sharded replicas: once the group's layout is settled, every
 * mirror deleted at once and recreated by the group.
 *
 * @param totalSeconds  the group's cold start, first spawn to every mirror up to date (joining, the
 *                      first replica taking every shard, handovers as the others join); measured once
 *                      per group, so NaN after round 1
 * @param burstSeconds  from the mass deletion's first request to every mirror back and up to date
 * @param requests      per replica, API requests sent during this round's recovery (Lease renewals included)
 * @param retainedBytes per replica, heap after full GCs minus its baseline
 * @param cached        per replica, objects in its caches
 */
record ShardedRun(int replicas, int n, int round, double totalSeconds, double burstSeconds, List<Long> retainedBytes, List<Long> cached,
        List<Long> requests) {

    ShardedRun {
        retainedBytes = List.copyOf(retainedBytes);
        cached = List.copyOf(cached);
        requests = List.copyOf(requests);
    }

    double throughput() {
        return n / burstSeconds;
    }
}
