package dev.flotilla.core.reconcile;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;
import java.util.Optional;

/**
 * One reconcile request: the key of the primary object and the informer cache it is read from.
 * The object itself may be gone (deleted since the key was queued): {@link #object()} is then
 * empty and the reconciler cleans up.
 *
 * <pre>{@code
 * class Sync implements Reconciler<ConfigMap> {
 *     public Result reconcile(Request<ConfigMap> request) {
 *         return request.object().map(this::sync).orElseGet(Result::done); // empty: deleted
 *     }
 *
 *     Result sync(ConfigMap current) {
 *         return Result.done();
 *     }
 * }
 * }</pre>
 */
public record Request<T extends HasMetadata>(ObjectKey key, Cache<T> cache) {

    public Request {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(cache, "cache");
    }

    /** The primary object as the cache holds it now. */
    public Optional<T> object() {
        return cache.get(key);
    }
}
