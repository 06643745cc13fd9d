package dev.flotilla.core.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import org.junit.jupiter.api.Test;

@WithCluster
class FinalizersTest {

    @Test
    void addAndRemoveTouchOnlyTheirOwnFinalizer(KubernetesClient client, TestNamespace ns) {
        ConfigMap cm = client.resource(new ConfigMapBuilder().withNewMetadata().withName("f").withNamespace(ns.name())
                .endMetadata().build()).create();
        cm = Finalizers.add(client, cm, "flotilla.dev/cleanup");
        cm = Finalizers.add(client, cm, "other.io/keep");
        cm = Finalizers.add(client, cm, "flotilla.dev/cleanup");
        assertThat(client.configMaps().inNamespace(ns.name()).withName("f").get().getMetadata().getFinalizers())
                .containsExactly("flotilla.dev/cleanup", "other.io/keep");
        cm = Finalizers.remove(client, cm, "flotilla.dev/cleanup");
        assertThat(client.configMaps().inNamespace(ns.name()).withName("f").get().getMetadata().getFinalizers())
                .containsExactly("other.io/keep");
        assertThat(Finalizers.has(cm, "flotilla.dev/cleanup")).isFalse();
        assertThatThrownBy(() -> Finalizers.add(client, client.configMaps().inNamespace(ns.name()).withName("f").get(), "unqualified"))
                .hasMessageContaining("domain-qualified");
        // Deleting an object with a finalizer only marks it; removing the last finalizer lets it go.
        client.configMaps().inNamespace(ns.name()).withName("f").delete();
        ConfigMap marked = client.configMaps().inNamespace(ns.name()).withName("f").get();
        assertThat(Finalizers.isBeingDeleted(marked)).isTrue();
        Finalizers.remove(client, marked, "other.io/keep");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> client.configMaps().inNamespace(ns.name()).withName("f").get() == null);
    }
}
