package dev.flotilla.core.cache;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;

/**
 * What one shared informer watches: a resource type across all namespaces, optionally narrowed
 * by a label selector evaluated by the API server. Controllers asking for the same key share one
 * informer and one cache.
 *
 * <pre>{@code
 * InformerKey<ConfigMap> key = InformerKey.of(ConfigMap.class, "flotilla.dev/mirror=true");
 * }</pre>
 */
public record InformerKey<T extends HasMetadata>(Class<T> type, String labelSelector) {

    public InformerKey {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(labelSelector, "labelSelector (use \"\" for all objects)");
        labelSelector = labelSelector.strip();
    }

    public static <T extends HasMetadata> InformerKey<T> of(Class<T> type, String labelSelector) {
        return new InformerKey<>(type, labelSelector);
    }

    public static <T extends HasMetadata> InformerKey<T> all(Class<T> type) {
        return new InformerKey<>(type, "");
    }

    @Override
    public String toString() {
        return type.getSimpleName() + (labelSelector.isEmpty() ? "" : "[" + labelSelector + "]");
    }
}
