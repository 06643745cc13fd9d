package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * Reads and optimistic writes of the group's Leases in the lease namespace, asynchronous so that
 * a slow API server never stalls a {@link Lane}. Every write carries the resourceVersion it was
 * based on: a lost race is a {@link LeaseWrite.Conflict}, never a silent overwrite. Futures of
 * writes always complete normally; a failed read completes exceptionally.
 */
interface LeaseStore {

    /** The Lease, or empty if it does not exist. */
    CompletableFuture<Optional<Lease>> get(String name);

    CompletableFuture<LeaseWrite> create(Lease lease);

    /** Writes {@code edit} of a copy of {@code base} if {@code base} is still the current version. */
    CompletableFuture<LeaseWrite> update(Lease base, UnaryOperator<Lease> edit);

    CompletableFuture<LeaseWrite> delete(String name);
}
