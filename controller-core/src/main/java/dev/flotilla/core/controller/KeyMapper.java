package dev.flotilla.core.controller;

import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
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
        return object -> {
            List<OwnerReference> refs = object.getMetadata().getOwnerReferences();
            if (refs == null) {
                return List.of();
            }
            return refs.stream()
                    .filter(ref -> Boolean.TRUE.equals(ref.getController()))
                    .filter(ref -> ownerKind.equals(ref.getKind()))
                    // Match the group only: an owner written as apps/v1 is still owned after a version bump.
                    .filter(ref -> ref.getApiVersion() != null && ownerGroup.equals(group(ref.getApiVersion())))
                    .filter(ref -> ref.getName() != null && !ref.getName().isEmpty())
                    .map(ref -> ObjectKey.of(object.getMetadata().getNamespace(), ref.getName()))
                    .toList();
        };
    }

    private static String group(String apiVersion) {
        int slash = apiVersion.indexOf('/');
        return slash < 0 ? "" : apiVersion.substring(0, slash);
    }
}
