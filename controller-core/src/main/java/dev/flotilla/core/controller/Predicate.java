package dev.flotilla.core.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Map;
import java.util.Objects;

/**
 * Filters informer events before they become work: an event that no predicate of a watch accepts
 * queues nothing. Defaults accept everything; override only what you filter.
 *
 * <pre>{@code
 * Predicate<Deployment> specChanges = Predicate.generationChanged();
 * Predicate<ConfigMap> mirrored = Predicate.hasLabel("flotilla.dev/mirror", "true");
 * }</pre>
 */
public interface Predicate<T extends HasMetadata> {

    default boolean create(T object) {
        return true;
    }

    default boolean update(T oldObject, T newObject) {
        return true;
    }

    default boolean delete(T object) {
        return true;
    }

    /** Both must accept. */
    default Predicate<T> and(Predicate<T> other) {
        Predicate<T> self = this;
        return new Predicate<>() {
            @Override
            public boolean create(T o) {
                return self.create(o) && other.create(o);
            }

            @Override
            public boolean update(T a, T b) {
                return self.update(a, b) && other.update(a, b);
            }

            @Override
            public boolean delete(T o) {
                return self.delete(o) && other.delete(o);
            }
        };
    }

    /** Accepts every event. */
    static <T extends HasMetadata> Predicate<T> all() {
        return new Predicate<>() {
        };
    }

    /**
     * Accepts updates that change {@code metadata.generation} (the spec), ignoring status-only
     * writes and periodic resyncs. Objects without a generation (ConfigMaps, say) fall back to
     * comparing resourceVersion.
     */
    static <T extends HasMetadata> Predicate<T> generationChanged() {
        return new Predicate<>() {
            @Override
            public boolean update(T a, T b) {
                Long before = a.getMetadata().getGeneration();
                Long after = b.getMetadata().getGeneration();
                if (before == null || after == null) {
                    return !Objects.equals(a.getMetadata().getResourceVersion(), b.getMetadata().getResourceVersion());
                }
                return !before.equals(after);
            }
        };
    }

    /** Accepts updates that change the object at all (a resync delivers the same resourceVersion). */
    static <T extends HasMetadata> Predicate<T> resourceVersionChanged() {
        return new Predicate<>() {
            @Override
            public boolean update(T a, T b) {
                return !Objects.equals(a.getMetadata().getResourceVersion(), b.getMetadata().getResourceVersion());
            }
        };
    }

    /** Accepts updates that change {@code metadata.labels}. */
    static <T extends HasMetadata> Predicate<T> labelsChanged() {
        return new Predicate<>() {
            @Override
            public boolean update(T a, T b) {
                return !Objects.equals(labels(a), labels(b));
            }
        };
    }

    /**
     * Accepts objects carrying label {@code key=value}; an update passes if either side has it, so
     * removing the label still reaches the reconciler.
     */
    static <T extends HasMetadata> Predicate<T> hasLabel(String key, String value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        return new Predicate<>() {
            @Override
            public boolean create(T o) {
                return value.equals(labels(o).get(key));
            }

            @Override
            public boolean update(T a, T b) {
                return value.equals(labels(a).get(key)) || value.equals(labels(b).get(key));
            }

            @Override
            public boolean delete(T o) {
                return value.equals(labels(o).get(key));
            }
        };
    }

    private static Map<String, String> labels(HasMetadata o) {
        Map<String, String> labels = o.getMetadata().getLabels();
        return labels == null ? Map.of() : labels;
    }
}
