package dev.flotilla.core.cache;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * An informer store that drops {@code metadata.managedFields} before an object is cached.
 * managedFields is server-side apply bookkeeping that controllers never read, and it is often
 * the largest part of a small object; stripping it is the transform controller-runtime users
 * add by hand. The object is changed in place: it was just decoded for this informer alone, and
 * event handlers then see the same stripped object as the cache.
 */
final class ManagedFieldsStrippingStore<T extends HasMetadata> implements ItemStore<T> {

    private final ConcurrentHashMap<String, T> items = new ConcurrentHashMap<>();

    @Override
    public String getKey(T obj) {
        return io.fabric8.kubernetes.client.informers.cache.Cache.metaNamespaceKeyFunc(obj);
    }

    @Override
    public T put(String key, T obj) {
        if (obj.getMetadata() != null) {
            obj.getMetadata().setManagedFields(null);
        }
        return items.put(key, obj);
    }

    @Override
    public T remove(String key) {
        return items.remove(key);
    }

    @Override
    public Stream<String> keySet() {
        return items.keySet().stream();
    }

    @Override
    public Stream<T> values() {
        return items.values().stream();
    }

    @Override
    public int size() {
        return items.size();
    }

    @Override
    public T get(String key) {
        return items.get(key);
    }
}
