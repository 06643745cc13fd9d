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

    @Override
    public void onAdd(S object) {
        guarded(object, () -> {
            if (predicate.create(object)) {
                enqueueAll(mapper.keysFor(object));
            }
        });
    }

    @Override
    public void onUpdate(S oldObject, S newObject) {
        guarded(newObject, () -> {
            if (predicate.update(oldObject, newObject)) {
                List<ObjectKey> before = mapper.keysFor(oldObject);
                List<ObjectKey> after = mapper.keysFor(newObject);
                enqueueAll(after);
                // An owner reference that moved: the old owner must notice it lost a child.
                before.stream().filter(k -> !after.contains(k)).forEach(enqueue);
            }
        });
    }

    @Override
    public void onDelete(S object, boolean finalStateUnknown) {
        guarded(object, () -> {
            if (predicate.delete(object)) {
                enqueueAll(mapper.keysFor(object));
            }
        });
    }

    private void enqueueAll(List<ObjectKey> keys) {
        keys.forEach(enqueue);
    }

    private void guarded(S object, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            // Malformed objects (no metadata, no name) are someone else's data: skip, never crash.
            log.atWarn().addKeyValue("controller", controller)
                    .addKeyValue("kind", object == null ? "null" : object.getKind())
                    .addKeyValue("error", FailureText.of(e))
                    .log("ignoring an event that could not be mapped to a key");
        }
    }
}
