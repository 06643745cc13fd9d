package dev.flotilla.core.controller;

import dev.flotilla.core.cache.SharedInformer;
import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A running controller: a primary informer, any number of secondary watches mapped to primary
 * keys, and the {@link ReconcileLoop} that reconciles them. Built by {@link ControllerBuilder};
 * started and stopped by the manager.
 */
public final class Controller<T extends HasMetadata> {

    private final String name;
    private final SharedInformer<T> primary;
    private final List<SharedInformer<?>> watched;
    private final ReconcileLoop<T> loop;

    Controller(String name, SharedInformer<T> primary, List<SharedInformer<?>> watched, ReconcileLoop<T> loop) {
        this.name = Objects.requireNonNull(name, "name");
        this.primary = primary;
        this.watched = List.copyOf(watched);
        this.loop = loop;
    }

    public String name() {
        return name;
    }

    /** The primary objects' cache. */
    public SharedInformer<T> cache() {
        return primary;
    }

    /** Every informer this controller depends on: it is ready only when all have synced. */
    public List<SharedInformer<?>> informers() {
        return watched;
    }

    public ReconcileLoop<T> loop() {
        return loop;
    }

    /** Queues a key by hand (the gate still applies). */
    public void enqueue(ObjectKey key) {
        loop.enqueue(key);
    }

    public void start() {
        loop.start();
    }

    /** Drains within {@code deadline}; true if nothing was abandoned. */
    public boolean stop(Duration deadline) throws InterruptedException {
        return loop.stop(deadline);
    }
}
