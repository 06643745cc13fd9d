package dev.flotilla.core.apply;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Objects;

/**
 * Writes status through the status subresource, so spec writers and status writers never
 * overwrite each other. The write carries the object's resourceVersion: if the object changed
 * since it was read, the API server answers 409 and the reconcile is retried from a fresh cache.
 *
 * <pre>{@code
 * io.fabric8.kubernetes.api.model.apps.Deployment deployment; // as read, its status then changed
 * deployment.getStatus().setObservedGeneration(deployment.getMetadata().getGeneration());
 * Status.update(client, deployment);
 * }</pre>
 */
public final class Status {

    private Status() {
    }

    public static <T extends HasMetadata> T update(KubernetesClient client, T object) {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(object, "object");
        if (object.getMetadata().getResourceVersion() == null) {
            throw new IllegalArgumentException("status update of " + object.getMetadata().getName()
                    + " needs the resourceVersion it was read at");
        }
        return client.resource(object).updateStatus();
    }
}
