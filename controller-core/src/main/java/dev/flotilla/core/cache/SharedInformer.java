package dev.flotilla.core.cache;

import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The informers watching one {@link InformerKey} and the {@link Cache} view over their stores. An
 * unsharded manager has one fabric8 informer per key ({@link Partition#ALL}); a sharded replica has
 * one per partition it watches, and {@link #setPartitions} starts and stops them without touching
 * the rest. Handlers are attached to every partition, including ones added later. Created and
 * started by {@link SharedInformers}; controllers only add handlers and read.
 */
public final class SharedInformer<T extends HasMetadata> implements Cache<T> {

    private final InformerKey<T> key;
    private final Function<Partition, SharedIndexInformer<T>> factory;
    private final List<ResourceEventHandler<? super T>> handlers = new CopyOnWriteArrayList<>();
    /** Copy-on-write so that readers never lock; replaced under this object's monitor. */
    private volatile Map<Partition, SharedIndexInformer<T>> partitions = Map.of();
    private volatile Map<String, SharedIndexInformer<T>> byNamespace = Map.of();
    /**
     * For the partitions map it names, the shard partition each namespace looked up so far lives in: a namespace's
     * objects are all in one partition (shards split by namespace), so after one hit a lookup in that namespace asks
     * one store instead of every held shard's (a miss asked 32 stores: 2.6% of a sharded replica's CPU samples).
     * Made anew when the partitions change, so it never points at a partition no longer watched.
     */
    private volatile Located<T> located = new Located<>(Map.of(), new java.util.concurrent.ConcurrentHashMap<>());

    private record Located<T extends HasMetadata>(Map<Partition, SharedIndexInformer<T>> partitions,
            Map<String, SharedIndexInformer<T>> home) {
    }
    private final CompletableFuture<Void> synced = new CompletableFuture<>();
    /** Each running partition's first sync, so a caller can wait for exactly the partitions it cares about. */
    private final Map<Partition, CompletableFuture<Void>> partitionSyncs = new java.util.concurrent.ConcurrentHashMap<>();
    private boolean started;

    SharedInformer(InformerKey<T> key, Set<Partition> initial, Function<Partition, SharedIndexInformer<T>> factory) {
        this.key = key;
        this.factory = factory;
        setPartitions(initial);
    }

    public InformerKey<T> key() {
        return key;
    }

    /** The partitions watched now. */
    public Set<Partition> partitions() {
        return partitions.keySet();
    }

    /** Registers an event handler on every partition, present and future; late handlers get the current objects as adds. */
    public synchronized void addHandler(ResourceEventHandler<? super T> handler) {
        handlers.add(handler);
        partitions.values().forEach(i -> i.addEventHandler(handler));
    }

    synchronized CompletableFuture<Void> start() {
        started = true;
        syncOf(partitions).whenComplete((ok, error) -> {
            if (error != null) {
                synced.completeExceptionally(error);
            } else {
                synced.complete(null);
            }
        });
        return synced;
    }

    /**
     * Watches exactly {@code wanted}: stops the informers of partitions no longer wanted (their
     * objects leave the cache without delete events) and creates, and once started starts, the new
     * ones.
     *
     * @return completes when every newly added partition has synced its first LIST
     */
    synchronized CompletableFuture<Void> setPartitions(Set<Partition> wanted) {
        Map<Partition, SharedIndexInformer<T>> next = new LinkedHashMap<>();
        Map<Partition, SharedIndexInformer<T>> added = new LinkedHashMap<>();
        Set<Partition> removed = new HashSet<>(partitions.keySet());
        for (Partition p : wanted) {
            SharedIndexInformer<T> informer = partitions.get(p);
            removed.remove(p);
            if (informer == null) {
                informer = factory.apply(p);
                for (ResourceEventHandler<? super T> h : handlers) {
                    informer.addEventHandler(h);
                }
                added.put(p, informer);
            }
            next.put(p, informer);
        }
        Map<String, SharedIndexInformer<T>> namespaces = new LinkedHashMap<>();
        next.forEach((p, i) -> {
            if (p.isNamespace()) {
                namespaces.put(p.namespace(), i);
            }
        });
        Map<Partition, SharedIndexInformer<T>> before = partitions;
        partitions = next;
        byNamespace = namespaces;
        removed.forEach(p -> {
            partitionSyncs.remove(p);
            before.get(p).stop();
        });
        return started ? syncOf(added) : CompletableFuture.completedFuture(null);
    }

    private CompletableFuture<Void> syncOf(Map<Partition, SharedIndexInformer<T>> informers) {
        List<CompletableFuture<?>> syncs = new ArrayList<>();
        informers.forEach((p, i) -> {
            CompletableFuture<Void> sync = i.isRunning() ? CompletableFuture.completedFuture(null)
                    : i.start().toCompletableFuture().thenApply(x -> (Void) null);
            partitionSyncs.put(p, sync);
            syncs.add(sync);
        });
        return CompletableFuture.allOf(syncs.toArray(CompletableFuture[]::new));
    }

    /** Completes when every partition matching {@code which} and in scope now has synced its first LIST. */
    CompletableFuture<Void> whenSynced(Predicate<Partition> which) {
        List<CompletableFuture<?>> syncs = new ArrayList<>();
        partitionSyncs.forEach((p, f) -> {
            if (which.test(p)) {
                syncs.add(f);
            }
        });
        return CompletableFuture.allOf(syncs.toArray(CompletableFuture[]::new));
    }

    /** Completes when this informer has synced its first LIST (or fails if it could not start). */
    public CompletableFuture<Void> whenSynced() {
        return synced;
    }

    synchronized void stop() {
        partitions.values().forEach(SharedIndexInformer::stop);
    }

    public boolean hasSynced() {
        return partitions.values().stream().allMatch(SharedIndexInformer::hasSynced);
    }

    public boolean isRunning() {
        return partitions.values().stream().allMatch(SharedIndexInformer::isRunning);
    }

    public boolean isWatching() {
        return partitions.values().stream().allMatch(SharedIndexInformer::isWatching);
    }

    @Override
    public Optional<T> get(ObjectKey objectKey) {
        String storeKey = objectKey.toString();
        SharedIndexInformer<T> direct = byNamespace.get(objectKey.namespace());
        if (direct != null) {
            return Optional.ofNullable(direct.getStore().getByKey(storeKey));
        }
        Map<Partition, SharedIndexInformer<T>> current = partitions;
        Located<T> memo = located;
        if (memo.partitions() != current) {
            memo = new Located<>(current, new java.util.concurrent.ConcurrentHashMap<>());
            located = memo;
        }
        SharedIndexInformer<T> home = memo.home().get(objectKey.namespace());
        if (home != null) {
            return Optional.ofNullable(home.getStore().getByKey(storeKey));
        }
        for (var entry : current.entrySet()) {
            if (!entry.getKey().isNamespace()) {
                T found = entry.getValue().getStore().getByKey(storeKey);
                if (found != null) {
                    memo.home().put(objectKey.namespace(), entry.getValue());
                    return Optional.of(found);
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public List<T> list() {
        var all = partitions.values();
        if (all.size() == 1) {
            return all.iterator().next().getStore().list();
        }
        List<T> out = new ArrayList<>();
        all.forEach(i -> out.addAll(i.getStore().list()));
        return out;
    }

    @Override
    public List<T> list(String namespace) {
        SharedIndexInformer<T> direct = byNamespace.get(namespace);
        if (direct != null) {
            return direct.getStore().list();
        }
        List<T> out = new ArrayList<>();
        partitions.forEach((p, i) -> {
            if (!p.isNamespace()) {
                out.addAll(i.getIndexer().byIndex(io.fabric8.kubernetes.client.informers.cache.Cache.NAMESPACE_INDEX, namespace));
            }
        });
        return out;
    }

    @Override
    public int size() {
        int n = 0;
        for (SharedIndexInformer<T> i : partitions.values()) {
            n += i.getStore().list().size();
        }
        return n;
    }
}
