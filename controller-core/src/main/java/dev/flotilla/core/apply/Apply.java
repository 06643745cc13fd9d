package dev.flotilla.core.apply;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writing owned objects the way controllers should: server-side apply under the controller's own
 * field manager, with a controller owner reference so garbage collection removes them with their
 * owner and events on them reach the owner's reconciler.
 *
 * <pre>{@code
 * ConfigMap source; // the owner
 * ConfigMap mirror = new ConfigMapBuilder().withNewMetadata().withName("a-mirror").withNamespace("shop").endMetadata()
 *         .withData(source.getData()).build();
 * Apply.setControllerOwner(mirror, source);
 * Apply.serverSideApply(client, mirror, "flotilla-mirror");
 * }</pre>
 */
public final class Apply {

    private Apply() {
    }

    /**
     * Server-side applies {@code desired} as {@code fieldManager}, taking over fields other
     * managers set (a controller's intent wins over drift). resourceVersion and managedFields are
     * cleared first: an apply states intent, not a precondition.
     */
    public static <T extends HasMetadata> T serverSideApply(KubernetesClient client, T desired, String fieldManager) {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(desired, "desired");
        requireFieldManager(fieldManager);
        if (desired.getMetadata() == null || desired.getMetadata().getName() == null) {
            throw new IllegalArgumentException("cannot apply a " + desired.getKind() + " without metadata.name");
        }
        desired.getMetadata().setResourceVersion(null);
        desired.getMetadata().setManagedFields(null);
        return client.resource(desired).fieldManager(fieldManager).forceConflicts().serverSideApply();
    }

    static void requireFieldManager(String fieldManager) {
        Objects.requireNonNull(fieldManager, "fieldManager");
        if (fieldManager.isBlank() || fieldManager.length() > 128) {
            throw new IllegalArgumentException("field manager must be 1-128 characters, got '" + fieldManager + "'");
        }
    }

    /**
     * Makes {@code owner} the controller of {@code owned}. Refuses a cross-namespace owner (the
     * garbage collector would delete the object) and an object another controller already owns.
     */
    public static <T extends HasMetadata> T setControllerOwner(T owned, HasMetadata owner) {
        Objects.requireNonNull(owned, "owned");
        Objects.requireNonNull(owner, "owner");
        String ownerNs = owner.getMetadata().getNamespace();
        if (ownerNs != null && !ownerNs.equals(owned.getMetadata().getNamespace())) {
            throw new IllegalArgumentException("owner " + ownerNs + "/" + owner.getMetadata().getName()
                    + " is in another namespace than " + owned.getMetadata().getNamespace() + "/"
                    + owned.getMetadata().getName() + "; owner references cannot cross namespaces");
        }
        if (owner.getMetadata().getUid() == null) {
            throw new IllegalArgumentException("owner " + owner.getMetadata().getName()
                    + " has no uid; read it from the API server before owning objects with it");
        }
        OwnerReference ref = new OwnerReferenceBuilder()
                .withApiVersion(owner.getApiVersion()).withKind(owner.getKind())
                .withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid())
                .withController(true).withBlockOwnerDeletion(true).build();
        List<OwnerReference> refs = new ArrayList<>();
        if (owned.getMetadata().getOwnerReferences() != null) {
            for (OwnerReference existing : owned.getMetadata().getOwnerReferences()) {
                if (existing.getUid() != null && existing.getUid().equals(ref.getUid())) {
                    continue;
                }
                if (Boolean.TRUE.equals(existing.getController())) {
                    throw new IllegalStateException(owned.getKind() + " " + owned.getMetadata().getName()
                            + " is already controlled by " + existing.getKind() + " " + existing.getName());
                }
                refs.add(existing);
            }
        }
        refs.add(ref);
        owned.getMetadata().setOwnerReferences(refs);
        return owned;
    }
}
