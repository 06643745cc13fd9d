package dev.flotilla.core.cache;

import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * One running fabric8 informer and the {@link Cache} view over its store. Created and started by
 * {@link SharedInformers}; controllers only add handlers and read.
 */
public final class SharedInformer<T extends HasMetadata> implements Cache<T> {

    private final InformerKey<T> key;
    private final SharedIndexInformer<T> informer;

    SharedInformer(InformerKey<T> key, SharedIndexInformer<T> informer) {
        this.key = key;
        this.informer = informer;
    }

    public InformerKey<T> key() {
        return key;
    }

    /** Registers an event handler; handlers added after start receive the current objects as adds. */
    public void addHandler(ResourceEventHandler<? super T> handler) {
        informer.addEventHandler(handler);
    }

    /** Completes when the first LIST has been cached; set once the informer is started. */
    private final java.util.concurrent.CompletableFuture<Void> synced = new java.util.concurrent.CompletableFuture<>();

    CompletionStage<Void> start() {
        informer.start().whenComplete((ok, error) -> {
            if (error != null) {
                synced.completeExceptionally(error);
            } else {
                synced.complete(null);
            }
        });
        return synced;
    }

    /** Completes when this informer has synced its first LIST (or fails if it could not start). */
    public java.util.concurrent.CompletableFuture<Void> whenSynced() {
        return synced;
    }

    void stop() {
        informer.stop();
    }

    public boolean hasSynced() {
        return informer.hasSynced();
    }

    public boolean isRunning() {
        return informer.isRunning();
    }

    public boolean isWatching() {
        return informer.isWatching();
    }

    @Override
    public Optional<T> get(ObjectKey objectKey) {
        return Optional.ofNullable(informer.getStore().getByKey(objectKey.toString()));
    }

    @Override
    public List<T> list() {
        return informer.getStore().list();
    }

    @Override
    public List<T> list(String namespace) {
        return informer.getIndexer().byIndex(io.fabric8.kubernetes.client.informers.cache.Cache.NAMESPACE_INDEX, namespace);
    }

    @Override
    public int size() {
        return informer.getStore().list().size();
    }
}
