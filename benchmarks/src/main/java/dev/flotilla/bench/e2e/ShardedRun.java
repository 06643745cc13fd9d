package dev.flotilla.bench.e2e;

import java.util.List;

/**
 * Flotilla as {@code replicas} sharded replicas: a cold start over N sources, then, once the
 * group is balanced, every mirror deleted at once and recreated by the group.
 *
 * @param totalSeconds  first spawn to every mirror up to date (includes joining the group, the
 *                      first replica taking every shard and handing shards over as the others join)
 * @param burstSeconds  from the mass deletion's first request to every mirror back and up to date
 * @param retainedBytes per replica, heap after full GCs minus its baseline
 * @param cached        per replica, objects in its caches
 * @param requests      per replica, API requests sent from start to convergence (Lease traffic included)
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
