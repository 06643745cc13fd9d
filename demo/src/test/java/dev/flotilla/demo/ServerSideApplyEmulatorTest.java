package dev.flotilla.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the demo's mock backend must do for the mirror controller: server-side apply (emulated),
 * watches filtered by label selector, owner references stored as sent.
 */
class ServerSideApplyEmulatorTest {

    private MockApiServerCluster cluster;
    private KubernetesClient client;

    @BeforeEach
    void start() {
        cluster = MockApiServerCluster.start(b -> { });
        client = cluster.client();
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private ConfigMap apply(Map<String, String> data, Map<String, String> labels) {
        ConfigMap desired = new ConfigMapBuilder().withNewMetadata().withName("m").withNamespace("ns").withLabels(labels)
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap").withName("s")
                        .withUid("uid-s").withController(true).build())
                .endMetadata().withData(data).build();
        return client.resource(desired).fieldManager("flotilla-mirror").forceConflicts().serverSideApply();
    }

    @Test
    void applyCreatesThenUpdatesAndDropsKeysNoLongerApplied() {
        ConfigMap created = apply(Map.of("a", "1", "b", "2"), Map.of("role", "copy"));
        assertThat(created.getMetadata().getUid()).isNotBlank();
        assertThat(created.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(r -> assertThat(r.getUid()).isEqualTo("uid-s"));

        // Another writer adds a label; the apply must keep it (it is not this manager's field).
        client.configMaps().inNamespace("ns").withName("m").edit(cm -> new ConfigMapBuilder(cm).editMetadata()
                .addToLabels("other", "kept").endMetadata().build());

        ConfigMap updated = apply(Map.of("a", "9"), Map.of("role", "copy"));
        assertThat(updated.getData()).isEqualTo(Map.of("a", "9"));
        assertThat(updated.getMetadata().getLabels()).containsEntry("other", "kept").containsEntry("role", "copy");
        assertThat(Long.parseLong(updated.getMetadata().getResourceVersion()))
                .isGreaterThan(Long.parseLong(created.getMetadata().getResourceVersion()));
        assertThat(client.configMaps().inNamespace("ns").withName("m").get().getData()).isEqualTo(Map.of("a", "9"));
    }

    @Test
    void watchesHonourLabelSelectors() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        var informer = client.configMaps().inAnyNamespace().withLabelSelector("role=copy")
                .inform(new ResourceEventHandler<ConfigMap>() {
                    @Override
                    public void onAdd(ConfigMap obj) {
                        seen.add("add " + obj.getMetadata().getName());
                    }

                    @Override
                    public void onUpdate(ConfigMap oldObj, ConfigMap newObj) {
                        seen.add("update " + newObj.getMetadata().getName());
                    }

                    @Override
                    public void onDelete(ConfigMap obj, boolean deletedFinalStateUnknown) {
                        seen.add("delete " + obj.getMetadata().getName());
                    }
                });
        try {
            client.configMaps().inNamespace("ns").resource(new ConfigMapBuilder().withNewMetadata().withName("other")
                    .withLabels(Map.of("role", "source")).endMetadata().build()).create();
            apply(Map.of("a", "1"), Map.of("role", "copy"));
            apply(Map.of("a", "2"), Map.of("role", "copy"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (seen.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(200);
            assertThat(seen).containsExactly("add m", "update m");
        } finally {
            informer.close();
        }
    }
}
