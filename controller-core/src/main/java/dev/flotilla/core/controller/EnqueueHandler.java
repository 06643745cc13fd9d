package dev.flotilla.core.controller;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns informer events into queued keys: filter by predicate, map to primary keys, enqueue.
 * It never throws into the informer, whatever the object looks like.
 */
final class EnqueueHandler<S extends HasMetadata> implements ResourceEventHandler<S> {

    private static final Logger log = LoggerFactory.getLogger(EnqueueHandler.class);

    private final String controller;
    private final EventPredicate<S> predicate;
    private final KeyMapper<S> mapper;
    private final Consumer<ObjectKey> enqueue;

    EnqueueHandler(String controller, EventPredicate<S> predicate, KeyMapper<S> mapper, Consumer<ObjectKey> enqueue) {
        this.controller = controller;
        this.predicate = predicate;
        this.mapper = mapper;
        this.enqueue = enqueue;
    }

    // Each handler catches on its own rather than through a shared Runnable wrapper: no capture per event, and
    // the JIT compiles three small methods instead of one that inlines all three paths.

    @Override
    public void onAdd(S object) {
        try {
            if (predicate.create(object)) {
                enqueueAll(mapper.keysFor(object));
            }
        } catch (RuntimeException e) {
            skipped(object, e);
        }
    }

    @Override
    public void onUpdate(S oldObject, S newObject) {
        try {
            if (predicate.update(oldObject, newObject)) {
                List<ObjectKey> before = mapper.keysFor(oldObject);
                List<ObjectKey> after = mapper.keysFor(newObject);
                enqueueAll(after);
                // An owner reference that moved: the old owner must notice it lost a child.
                for (ObjectKey k : before) {
                    if (!after.contains(k)) {
                        enqueue.accept(k);
                    }
                }
            }
        } catch (RuntimeException e) {
            skipped(newObject, e);
        }
    }

    @Override
    public void onDelete(S object, boolean finalStateUnknown) {
        try {
            if (predicate.delete(object)) {
                enqueueAll(mapper.keysFor(object));
            }
        } catch (RuntimeException e) {
            skipped(object, e);
        }
    }

    private void enqueueAll(List<ObjectKey> keys) {
        for (ObjectKey k : keys) {
            enqueue.accept(k);
        }
    }

    /** Malformed objects (no metadata, no name) are someone else's data: skip, never crash. */
    private void skipped(S object, RuntimeException e) {
        log.atWarn().addKeyValue("controller", controller)
                .addKeyValue("kind", object == null ? "null" : object.getKind())
                .addKeyValue("error", FailureText.of(e))
                .log("ignoring an event that could not be mapped to a key");
    }
}
