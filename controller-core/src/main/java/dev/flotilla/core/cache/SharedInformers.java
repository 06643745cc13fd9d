package dev.flotilla.core.cache;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
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
        var resources = client.resources(key.type()).inAnyNamespace();
        SharedIndexInformer<T> informer = key.labelSelector().isEmpty()
                ? resources.runnableInformer(0)
                : resources.withLabelSelector(key.labelSelector()).runnableInformer(0);
        if (stripManagedFields) {
            informer.itemStore(new ManagedFieldsStrippingStore<>());
        }
        // Keep watching through errors, including objects that fail to decode: a controller must
        // not stop because of someone else's data. fabric8 backs off between attempts.
        informer.exceptionHandler((isStarted, t) -> {
            log.warn("informer {} failed, retrying: {}", key, t.toString());
            return true;
        });
        SharedInformer<T> shared = new SharedInformer<>(key, informer);
        informers.put(key, shared);
        if (started) {
            shared.start();
        }
        return shared;
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

    /** Stops every informer. */
    public synchronized void stopAll() {
        informers.values().forEach(SharedInformer::stop);
    }

    @Override
    public void close() {
        stopAll();
    }
}
