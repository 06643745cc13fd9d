package dev.flotilla.sharding;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The writes in flight per shard: registered when the write fence admits them, done when their
 * attempt completes. A fenced shard cancels its writes; a shard handed over gracefully is released
 * only once they are all done. Thread-safe: writes come and go on any thread.
 *
 * <p>A write registers before the fence looks at the shard's deadline, and a fence closes the
 * deadline before it cancels: so a write either sees the closed deadline or is cancelled.
 */
final class ShardWrites {

    /** One admitted write. */
    final class Write {
        private final int shard;
        private final Runnable cancel;

        private Write(int shard, Runnable cancel) {
            this.shard = shard;
            this.cancel = cancel;
        }

        /** The attempt completed (answered, failed or cancelled); idempotent. */
        void done() {
            Set<Write> set = inFlight[shard];
            if (set.remove(this) && set.isEmpty()) {
                CompletableFuture<Void> w = waiters.remove(shard);
                if (w != null) {
                    w.complete(null);
                }
                // a writer that registered meanwhile keeps the shard busy: settled() checks again
            }
        }
    }

    private final Set<Write>[] inFlight;
    private final ConcurrentHashMap<Integer, CompletableFuture<Void>> waiters = new ConcurrentHashMap<>();

    @SuppressWarnings("unchecked")
    ShardWrites(int shards) {
        inFlight = new Set[shards];
        for (int i = 0; i < shards; i++) {
            inFlight[i] = ConcurrentHashMap.newKeySet();
        }
    }

    Write register(int shard, Runnable cancel) {
        Write w = new Write(shard, cancel);
        inFlight[shard].add(w);
        return w;
    }

    /** Cancels every write in flight on {@code shard}; returns how many there were. */
    int cancelAll(int shard) {
        int n = 0;
        for (Write w : inFlight[shard].toArray(Write[]::new)) {
            n++;
            try {
                w.cancel.run();
            } finally {
                w.done(); // cancelled counts as done even if the client's future never says so
            }
        }
        return n;
    }

    int inFlight(int shard) {
        return inFlight[shard].size();
    }

    /** Completes once no write is in flight on {@code shard}. */
    CompletableFuture<Void> settled(int shard) {
        if (inFlight[shard].isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> w = waiters.computeIfAbsent(shard, s -> new CompletableFuture<>());
        if (inFlight[shard].isEmpty()) { // the last one finished between the check and the registration
            waiters.remove(shard, w);
            w.complete(null);
        }
        return w;
    }
}
