package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.LatencySummary;

/**
 * What one contender did in one round at one size. Times in seconds, heap in bytes, latencies in
 * milliseconds.
 *
 * @param readySeconds    spawn to caches synced (the ceiling: its LIST done), less the baseline heap measurement
 * @param classes         classes loaded before the controller started (JVM, client, one request)
 * @param syncSeconds     of that, from the baseline to caches synced: building and starting the controller
 *                        and filling its caches (the rest is the JVM and the client)
 * @param convergeSeconds caches synced to every mirror up to date, seen by the driver
 * @param passCpuMillis   CPU the contender used during the first pass (ready to convergence, measured by the
 *                        driver's report request right after convergence)
 * @param requests        API requests the contender sent from start to convergence
 * @param retainedBytes   heap after full GCs once converged, minus the same process's baseline
 * @param cached          objects in the contender's caches at that moment
 * @param streamRequests  API requests the contender sent during the update stream
 * @param streamCpuMillis CPU the contender used during the update stream (until every update's mirror was seen)
 * @param passJitMillis   of {@code passCpuMillis}, the JIT compiler threads' (read from /proc around the first pass)
 * @param streamJitMillis of {@code streamCpuMillis}, the JIT compiler threads'
 * @param interference    the load average before the run and the CPU outsiders took during it
 * @param attempts        1, or more when earlier attempts were dropped because outsiders took the CPU
 */
record Run(Contender contender, int n, int round, double readySeconds, long classes, double syncSeconds, double convergeSeconds, long passCpuMillis, long requests,
        long retainedBytes, long cached, LatencySummary start, LatencySummary done, LatencySummary endToEnd,
        int updates, int lateUpdates, long streamRequests, long streamCpuMillis, long passJitMillis, long streamJitMillis, Interference interference,
        int attempts) {

    double totalSeconds() {
        return readySeconds + convergeSeconds;
    }

    double throughput() {
        return n / convergeSeconds;
    }

    double cpuMillisPerObject() {
        return (double) passCpuMillis / n;
    }

    double requestsPerObject() {
        return (double) requests / n;
    }

    double bytesPerCachedObject() {
        return cached == 0 ? Double.NaN : (double) retainedBytes / cached;
    }

    double cpuMillisPerUpdate() {
        return updates == 0 ? Double.NaN : (double) streamCpuMillis / updates;
    }

    double jitMillisPerObject() {
        return (double) passJitMillis / n;
    }

    double jitMillisPerUpdate() {
        return updates == 0 ? Double.NaN : (double) streamJitMillis / updates;
    }

    double requestsPerUpdate() {
        return updates == 0 ? Double.NaN : (double) streamRequests / updates;
    }
}
