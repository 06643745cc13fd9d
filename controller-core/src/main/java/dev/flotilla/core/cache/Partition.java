package dev.flotilla.core.cache;

import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import java.util.Objects;
import java.util.Optional;

/**
 * One slice of a resource type's objects that one fabric8 informer watches: every namespace,
 * one namespace, or the namespaces a server-side {@link ShardSelector} picks. A sharded replica
 * watches only the partitions of the shards it holds, so gaining or losing a shard starts or
 * stops exactly those informers and leaves the others running.
 *
 * <pre>{@code
 * ShardSelector range; // a shard's hash range (the sharding module's ShardSpace.selector(7))
 * Partition everything = Partition.ALL;
 * Partition shop = Partition.namespace("shop");
 * Partition shard7 = Partition.shard("shard-7", range);
 * }</pre>
 *
 * @param name          for logs and metrics; unique within one scope
 * @param namespace     the one namespace watched, or "" for all (or those the selector picks)
 * @param shardSelector a server-side shard filter, applied to a cluster-wide watch
 */
public record Partition(String name, String namespace, Optional<ShardSelector> shardSelector) {

    /** Every object of the type: the only partition of an unsharded manager. */
    public static final Partition ALL = new Partition("all", "", Optional.empty());

    public Partition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace (use \"\" for all namespaces)");
        Objects.requireNonNull(shardSelector, "shardSelector");
        if (!namespace.isEmpty() && shardSelector.isPresent()) {
            throw new IllegalArgumentException("partition " + name
                    + " names both a namespace and a shard selector; use one or the other");
        }
    }

    public static Partition namespace(String namespace) {
        if (Objects.requireNonNull(namespace, "namespace").isEmpty()) {
            throw new IllegalArgumentException("a namespace partition needs a namespace name");
        }
        return new Partition("ns/" + namespace, namespace, Optional.empty());
    }

    public static Partition shard(String name, ShardSelector selector) {
        return new Partition(name, "", Optional.of(Objects.requireNonNull(selector, "selector")));
    }

    public boolean isNamespace() {
        return !namespace.isEmpty();
    }

    @Override
    public String toString() {
        return name;
    }
}
