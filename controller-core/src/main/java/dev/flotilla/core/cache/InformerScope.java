package dev.flotilla.core.cache;

import java.util.Set;

/**
 * Which {@link Partition}s a manager's informers watch. Without sharding it is
 * {@link #allNamespaces()}; the sharding module supplies one that follows the shards this replica
 * holds and re-applies it through {@link SharedInformers#setScope} whenever that changes.
 * Cluster-scoped types are never partitioned: they are always watched whole.
 *
 * <pre>{@code
 * InformerScope onlyShop = key -> Set.of(Partition.namespace("shop"));
 * manager.informers().setScope(onlyShop).get();
 * }</pre>
 */
@FunctionalInterface
public interface InformerScope {

    /** The partitions objects of {@code key}'s (namespaced) type are watched in now; may be empty. */
    Set<Partition> partitionsFor(InformerKey<?> key);

    static InformerScope allNamespaces() {
        return key -> Set.of(Partition.ALL);
    }
}
