package dev.flotilla.core.cache;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.dsl.FilterWatchListDeletable;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import dev.flotilla.core.logging.RepeatingFailures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The informers of one manager, one per {@link InformerKey}. Asking twice for the same key returns
 * the same informer, so two controllers over ConfigMaps share a single watch and cache.
 *
 * <pre>{@code
 * SharedInformers informers = new SharedInformers(client, true);
 * SharedInformer<ConfigMap> cms = informers.informerFor(InformerKey.all(ConfigMap.class));
 * informers.startAll().get();
 * }</pre>
 */
public final class SharedInformers implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SharedInformers.class);

    private final KubernetesClient client;
    private final boolean stripManagedFields;
    private final Map<InformerKey<?>, SharedInformer<?>> informers = new LinkedHashMap<>();
    private InformerScope scope = InformerScope.allNamespaces();
    private final RepeatingFailures failures = RepeatingFailures.startSweeping(log);
    private boolean started;

    public SharedInformers(KubernetesClient client, boolean stripManagedFields) {
        this.client = Objects.requireNonNull(client, "client");
        this.stripManagedFields = stripManagedFields;
    }

    /** The informer for {@code key}, created (not started) on first request. */
    @SuppressWarnings("unchecked")
    public synchronized <T extends HasMetadata> SharedInformer<T> informerFor(InformerKey<T> key) {
        SharedInformer<?> existing = informers.get(key);
        if (existing != null) {
            return (SharedInformer<T>) existing;
        }
        SharedInformer<T> shared = new SharedInformer<>(key, partitionsFor(key), p -> newInformer(key, p));
        informers.put(key, shared);
        if (started) {
            shared.start();
        }
        return shared;
    }

    private <T extends HasMetadata> SharedIndexInformer<T> newInformer(InformerKey<T> key, Partition partition) {
        FilterWatchListDeletable<T, KubernetesResourceList<T>, Resource<T>> filtered = partition.isNamespace()
                ? client.resources(key.type()).inNamespace(partition.namespace())
                : client.resources(key.type()).inAnyNamespace();
        if (!key.labelSelector().isEmpty()) {
            filtered = filtered.withLabelSelector(key.labelSelector());
        }
        if (partition.shardSelector().isPresent()) {
            filtered = filtered.withShardSelector(partition.shardSelector().get());
        }
        SharedIndexInformer<T> informer = filtered.runnableInformer(0);
        if (stripManagedFields) {
            informer.itemStore(new ManagedFieldsStrippingStore<>());
        }
        // Keep watching through errors, including objects that fail to decode: a controller must
        // not stop because of someone else's data. fabric8 backs off between attempts.
        // A failure that repeats (a forbidden list, an unreachable server) is one line when it starts, a reminder a
        // minute and one line when every informer it hit (and that still runs) watches again: not a line per retry.
        informer.exceptionHandler((isStarted, t) -> {
            failures.failed("informers of " + key.type().getSimpleName(), t, key + " (" + partition + ")",
                    () -> !informer.isRunning() ? RepeatingFailures.SourceState.GONE
                            : informer.isWatching() ? RepeatingFailures.SourceState.RECOVERED : RepeatingFailures.SourceState.FAILING);
            return true;
        });
        return informer;
    }

    /** Cluster-scoped types are always watched whole: a namespace or shard filter would hide them all. */
    private Set<Partition> partitionsFor(InformerKey<?> key) {
        return isNamespaced(key.type()) ? scope.partitionsFor(key) : Set.of(Partition.ALL);
    }

    public static boolean isNamespaced(Class<? extends HasMetadata> type) {
        return Namespaced.class.isAssignableFrom(type);
    }

    /**
     * Re-scopes every namespaced informer, present and future, to {@code newScope}: partitions no
     * longer in scope stop (their objects leave the caches), new ones start.
     *
     * @return completes when every newly started partition has synced
     */
    public synchronized CompletableFuture<Void> setScope(InformerScope newScope) {
        this.scope = Objects.requireNonNull(newScope, "scope");
        List<CompletableFuture<Void>> syncs = new ArrayList<>();
        for (SharedInformer<?> informer : informers.values()) {
            if (isNamespaced(informer.key().type())) {
                syncs.add(informer.setPartitions(scope.partitionsFor(informer.key())));
            }
        }
        return CompletableFuture.allOf(syncs.toArray(CompletableFuture[]::new));
    }

    /** Completes when every namespaced informer's partitions matching {@code which} have synced (e.g. one shard's). */
    public synchronized CompletableFuture<Void> whenSynced(Predicate<Partition> which) {
        List<CompletableFuture<Void>> syncs = new ArrayList<>();
        for (SharedInformer<?> informer : informers.values()) {
            if (isNamespaced(informer.key().type())) {
                syncs.add(informer.whenSynced(which));
            }
        }
        return CompletableFuture.allOf(syncs.toArray(CompletableFuture[]::new));
    }

    /** Starts every informer; the future completes when all have synced their first LIST. */
    public synchronized CompletableFuture<Void> startAll() {
        started = true;
        List<CompletableFuture<Void>> syncs = new ArrayList<>();
        for (SharedInformer<?> informer : informers.values()) {
            syncs.add(informer.start().toCompletableFuture());
        }
        return CompletableFuture.allOf(syncs.toArray(CompletableFuture[]::new));
    }

    public synchronized boolean allSynced() {
        return informers.values().stream().allMatch(SharedInformer::hasSynced);
    }

    public synchronized boolean allRunning() {
        return informers.values().stream().allMatch(SharedInformer::isRunning);
    }

    /** Informers that have not synced yet, for error messages and /readyz. */
    public synchronized List<InformerKey<?>> unsynced() {
        return informers.values().stream().filter(i -> !i.hasSynced()).<InformerKey<?>>map(SharedInformer::key).toList();
    }

    public synchronized List<SharedInformer<?>> all() {
        return List.copyOf(informers.values());
    }

    /** Stops every informer; one asked for afterwards is created but not started. */
    public synchronized void stopAll() {
        started = false;
        informers.values().forEach(SharedInformer::stop);
    }

    @Override
    public void close() {
        stopAll();
        failures.close();
    }
}
