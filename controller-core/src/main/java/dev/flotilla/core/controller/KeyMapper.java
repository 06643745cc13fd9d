package dev.flotilla.core.controller;

import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Maps a watched (secondary) object to the keys of the primaries that must be reconciled when it
 * changes.
 *
 * <pre>{@code
 * KeyMapper<ConfigMap> toOwner = KeyMapper.controllerOwner("v1", "ConfigMap");
 * }</pre>
 */
@FunctionalInterface
public interface KeyMapper<S extends HasMetadata> {

    List<ObjectKey> keysFor(S object);

    /** Maps a primary object to its own key. */
    static <S extends HasMetadata> KeyMapper<S> self() {
        return object -> List.of(ObjectKey.of(object));
    }

    /**
     * Maps an owned object to its controlling owner of the given apiVersion and kind, in the
     * owned object's namespace (owner references never cross namespaces). Objects without such
     * an owner map to nothing.
     */
    static <S extends HasMetadata> KeyMapper<S> controllerOwner(String ownerApiVersion, String ownerKind) {
        Objects.requireNonNull(ownerApiVersion, "ownerApiVersion");
        Objects.requireNonNull(ownerKind, "ownerKind");
        String ownerGroup = group(ownerApiVersion);
        // A loop, not a stream: this runs for every event of every watched object.
        return object -> {
            List<OwnerReference> refs = object.getMetadata().getOwnerReferences();
            if (refs == null || refs.isEmpty()) {
                return List.of();
            }
            List<ObjectKey> keys = List.of();
            for (OwnerReference ref : refs) {
                // Match the group only: an owner written as apps/v1 is still owned after a version bump.
                if (Boolean.TRUE.equals(ref.getController()) && ownerKind.equals(ref.getKind())
                        && inGroup(ref.getApiVersion(), ownerGroup) && ref.getName() != null && !ref.getName().isEmpty()) {
                    ObjectKey key = ObjectKey.of(object.getMetadata().getNamespace(), ref.getName());
                    if (keys.isEmpty()) {
                        keys = List.of(key); // the API server allows one controller reference: the usual answer
                    } else {
                        List<ObjectKey> more = new ArrayList<>(keys);
                        more.add(key);
                        keys = List.copyOf(more);
                    }
                }
            }
            return keys;
        };
    }

    private static String group(String apiVersion) {
        int slash = apiVersion.indexOf('/');
        return slash < 0 ? "" : apiVersion.substring(0, slash);
    }

    /** Whether {@code apiVersion} ({@code group/version}, or a bare version for the core group) is of {@code group}. */
    private static boolean inGroup(String apiVersion, String group) {
        if (apiVersion == null) {
            return false;
        }
        int slash = apiVersion.indexOf('/');
        return slash < 0 ? group.isEmpty() : slash == group.length() && apiVersion.startsWith(group);
    }
}
