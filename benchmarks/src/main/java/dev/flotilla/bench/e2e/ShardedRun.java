package dev.flotilla.bench.e2e;

import java.util.List;

/**
 * Flotilla as {@code replicas} sharded replicas converging N sources from a cold start.
 *
 * @param totalSeconds  first spawn to every mirror up to date (includes joining the group and
 *                      taking the shards)
 * @param retainedBytes per replica, heap after full GCs minus its baseline
 * @param cached        per replica, objects in its caches
 * @param requests      per replica, API requests sent from start to convergence (Lease traffic included)
 */
record ShardedRun(int replicas, int n, int round, double totalSeconds, List<Long> retainedBytes, List<Long> cached,
        List<Long> requests) {

    ShardedRun {
        retainedBytes = List.copyOf(retainedBytes);
        cached = List.copyOf(cached);
        requests = List.copyOf(requests);
    }

    double throughput() {
        return n / totalSeconds;
    }
}
