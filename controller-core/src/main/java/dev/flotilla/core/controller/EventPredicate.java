package dev.flotilla.core.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Map;
import java.util.Objects;

/**
 * Filters informer events before they become work: an event that no predicate of a watch accepts
 * queues nothing. Defaults accept everything; override only what you filter.
 *
 * <pre>{@code
 * EventPredicate<io.fabric8.kubernetes.api.model.apps.Deployment> specChanges = EventPredicate.generationChanged();
 * EventPredicate<ConfigMap> mirrored = EventPredicate.hasLabel("flotilla.dev/mirror", "true");
 * }</pre>
 */
public interface EventPredicate<T extends HasMetadata> {

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
    default EventPredicate<T> and(EventPredicate<T> other) {
        EventPredicate<T> self = this;
        return new EventPredicate<>() {
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
    static <T extends HasMetadata> EventPredicate<T> all() {
        return new EventPredicate<>() {
        };
    }

    /**
     * Accepts updates that change {@code metadata.generation} (the spec), ignoring status-only
     * writes and periodic resyncs. Objects without a generation (ConfigMaps, say) fall back to
     * comparing resourceVersion.
     */
    static <T extends HasMetadata> EventPredicate<T> generationChanged() {
        return new EventPredicate<>() {
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
    static <T extends HasMetadata> EventPredicate<T> resourceVersionChanged() {
        return new EventPredicate<>() {
            @Override
            public boolean update(T a, T b) {
                return !Objects.equals(a.getMetadata().getResourceVersion(), b.getMetadata().getResourceVersion());
            }
        };
    }

    /** Accepts updates that change {@code metadata.labels}. */
    static <T extends HasMetadata> EventPredicate<T> labelsChanged() {
        return new EventPredicate<>() {
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
    static <T extends HasMetadata> EventPredicate<T> hasLabel(String key, String value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        return new EventPredicate<>() {
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
