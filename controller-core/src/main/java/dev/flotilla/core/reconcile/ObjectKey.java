package dev.flotilla.core.reconcile;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;

/**
 * Identifies one object: its namespace ({@code ""} for cluster-scoped objects) and name.
 *
 * <pre>{@code
 * ObjectKey key = ObjectKey.of("shop", "web");   // "shop/web"
 * ObjectKey node = ObjectKey.clusterScoped("n1"); // "n1"
 * }</pre>
 */
public record ObjectKey(String namespace, String name) implements Comparable<ObjectKey> {

    public ObjectKey {
        Objects.requireNonNull(namespace, "namespace (use \"\" for cluster-scoped objects)");
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("an object key needs a name");
        }
    }

    public static ObjectKey of(String namespace, String name) {
        return new ObjectKey(namespace == null ? "" : namespace, name);
    }

    public static ObjectKey clusterScoped(String name) {
        return new ObjectKey("", name);
    }

    /** The key of {@code object}; fails with a clear message when it has no name. */
    public static ObjectKey of(HasMetadata object) {
        if (object.getMetadata() == null || object.getMetadata().getName() == null) {
            throw new IllegalArgumentException("a " + object.getKind() + " without metadata.name has no key");
        }
        return of(object.getMetadata().getNamespace(), object.getMetadata().getName());
    }

    public boolean isClusterScoped() {
        return namespace.isEmpty();
    }

    /** The informer store's key format: {@code namespace/name}, or {@code name} when cluster-scoped. */
    @Override
    public String toString() {
        return namespace.isEmpty() ? name : namespace + "/" + name;
    }

    @Override
    public int compareTo(ObjectKey other) {
        int c = namespace.compareTo(other.namespace);
        return c != 0 ? c : name.compareTo(other.name);
    }
}
