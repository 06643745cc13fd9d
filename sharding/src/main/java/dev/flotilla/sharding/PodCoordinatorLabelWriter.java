package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Labels this replica's own Pod with a JSON merge patch of that one label key as {@link Sharding#FIELD_MANAGER}:
 * nothing else of the Pod is read or written, so no other writer's labels are touched and no resourceVersion can
 * conflict. Removing sends {@code null} for the key, which the API server takes as a no-op when the label is absent.
 */
final class PodCoordinatorLabelWriter implements CoordinatorLabelWriter {

    private static final PatchContext MERGE = new PatchContext.Builder().withPatchType(PatchType.JSON_MERGE)
            .withFieldManager(Sharding.FIELD_MANAGER).build();

    private final KubernetesClient client;
    private final PodReference pod;
    private final ExecutorService executor;

    PodCoordinatorLabelWriter(KubernetesClient client, PodReference pod) {
        this.client = Objects.requireNonNull(client, "client");
        this.pod = Objects.requireNonNull(pod, "pod");
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
    }

    @Override
    public CompletableFuture<Void> write(boolean coordinator) {
        Map<String, Object> labels = new HashMap<>(); // Map.of refuses the null that removes the key
        labels.put(LeaseNaming.LABEL_POD_ROLE, coordinator ? LeaseNaming.ROLE_COORDINATOR : null);
        String patch = client.getKubernetesSerialization().asJson(Map.of("metadata", Map.of("labels", labels)));
        return CompletableFuture.runAsync(() ->
                // On a resource built from the reference (not withName): fabric8 would otherwise GET the Pod first.
                client.pods().inNamespace(pod.namespace()).resource(new PodBuilder().withNewMetadata().withName(pod.name())
                        .withNamespace(pod.namespace()).endMetadata().build()).patch(MERGE, patch), executor);
    }

    @Override
    public String pod() {
        return pod.namespace() + "/" + pod.name();
    }
}
