package dev.flotilla.core.apply;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Map;
import org.junit.jupiter.api.Test;

@WithCluster
class ApplyTest {

    @Test
    void applyTakesOverDriftedFieldsKeepsOthersAndIsANoOpWhenNothingChanged(KubernetesClient client, TestNamespace ns) {
        ConfigMap owner = client.resource(new ConfigMapBuilder().withNewMetadata().withName("src").withNamespace(ns.name())
                .endMetadata().build()).create();
        ConfigMap desired = new ConfigMapBuilder().withNewMetadata().withName("dst").withNamespace(ns.name()).endMetadata()
                .withData(Map.of("k", "v1")).build();
        Apply.setControllerOwner(desired, owner);
        ConfigMap applied = Apply.serverSideApply(client, desired, "flotilla-test");
        assertThat(applied.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(r -> assertThat(r.getUid()).isEqualTo(owner.getMetadata().getUid()));

        // Someone else edits our field and adds one of their own.
        client.configMaps().inNamespace(ns.name()).withName("dst").edit(cm -> {
            cm.getData().put("k", "drifted");
            cm.getData().put("theirs", "x");
            return cm;
        });
        ConfigMap reapplied = Apply.serverSideApply(client, copy(desired), "flotilla-test");
        assertThat(reapplied.getData()).containsEntry("k", "v1").containsEntry("theirs", "x");

        ConfigMap again = Apply.serverSideApply(client, copy(desired), "flotilla-test");
        assertThat(again.getMetadata().getResourceVersion()).isEqualTo(reapplied.getMetadata().getResourceVersion());
    }

    private static ConfigMap copy(ConfigMap cm) {
        return new ConfigMapBuilder(cm).build();
    }
}
