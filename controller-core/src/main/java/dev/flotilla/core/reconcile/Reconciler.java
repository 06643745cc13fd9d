package dev.flotilla.core.reconcile;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * Drives one object towards its desired state. Called with a key, never with an event: it reads
 * the current state from the cache and must be idempotent, because it runs again after failures,
 * restarts and shard moves. It is never called concurrently for the same key.
 *
 * <pre>{@code
 * Function<ConfigMap, ConfigMap> mirrorOf; // the desired copy of a source
 * Reconciler<ConfigMap> r = request -> request.object()
 *         .map(cm -> { client.resource(mirrorOf.apply(cm)).update(); return Result.done(); })
 *         .orElseGet(Result::done); // deleted: owned objects go with it through garbage collection
 * }</pre>
 */
@FunctionalInterface
public interface Reconciler<T extends HasMetadata> {

    /**
     * Reconciles the object behind {@code request}. Throwing is the same as returning
     * {@link Result#failed}.
     */
    Result reconcile(Request<T> request) throws Exception;
}
