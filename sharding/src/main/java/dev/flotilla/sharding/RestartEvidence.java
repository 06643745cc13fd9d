package dev.flotilla.sharding;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * What a replica can prove about its previous incarnation (the same identity, an earlier
 * process). Without proof a restarted replica waits one lease duration before it takes its
 * membership Lease back, since the holder might be a live twin. With proof (its own Pod shows the
 * container that ran the previous incarnation terminated) it takes the membership, and the shards
 * and leadership that incarnation held, at once. Production reads the Pod ({@link PodRestartEvidence});
 * the simulation and replicas outside a pod have none.
 */
interface RestartEvidence {

    /** Annotations saying where this incarnation runs, recorded on its membership Lease at join; empty when unknown. */
    CompletableFuture<Map<String, String>> self();

    /**
     * Whether the incarnation that recorded {@code recorded} on the membership Lease is gone: a
     * sentence saying why, or empty when there is no proof (then the replica waits as usual).
     */
    CompletableFuture<Optional<String>> predecessorGone(Map<String, String> recorded);

    /** No evidence: every restart waits out its predecessor's Lease. */
    static RestartEvidence none() {
        return new RestartEvidence() {
            @Override
            public CompletableFuture<Map<String, String>> self() {
                return CompletableFuture.completedFuture(Map.of());
            }

            @Override
            public CompletableFuture<Optional<String>> predecessorGone(Map<String, String> recorded) {
                return CompletableFuture.completedFuture(Optional.empty());
            }
        };
    }
}
