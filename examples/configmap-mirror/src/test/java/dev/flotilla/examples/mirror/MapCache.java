package dev.flotilla.examples.mirror;

import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** An in-memory {@link Cache} for reconciler unit tests. */
final class MapCache implements Cache<ConfigMap> {

    private final Map<ObjectKey, ConfigMap> items = new ConcurrentHashMap<>();

    MapCache put(ConfigMap cm) {
        items.put(ObjectKey.of(cm), cm);
        return this;
    }

    @Override
    public Optional<ConfigMap> get(ObjectKey key) {
        return Optional.ofNullable(items.get(key));
    }

    @Override
    public List<ConfigMap> list() {
        return List.copyOf(items.values());
    }

    @Override
    public List<ConfigMap> list(String namespace) {
        return items.values().stream().filter(c -> namespace.equals(c.getMetadata().getNamespace())).toList();
    }

    @Override
    public int size() {
        return items.size();
    }
}
