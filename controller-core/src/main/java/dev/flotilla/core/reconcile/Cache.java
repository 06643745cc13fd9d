package dev.flotilla.core.reconcile;

import java.util.List;
import java.util.Optional;

/**
 * Read access to the objects an informer holds. Reconcilers read here instead of calling the
 * API server. Objects are shared with every other reader: treat them as read-only and copy
 * before changing one (fabric8's {@code new XBuilder(obj)} or {@code edit}).
 *
 * <pre>{@code
 * Cache<ConfigMap> cache; // e.g. a Request's, or manager.informers().informerFor(key)
 * Optional<ConfigMap> cm = cache.get(ObjectKey.of("shop", "settings"));
 * List<ConfigMap> inShop = cache.list("shop");
 * }</pre>
 */
public interface Cache<T> {

    Optional<T> get(ObjectKey key);

    /** Every cached object. */
    List<T> list();

    /** The cached objects of one namespace. */
    List<T> list(String namespace);

    /** How many objects are cached. */
    int size();
}
