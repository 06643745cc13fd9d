package dev.flotilla.core.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import org.junit.jupiter.api.Test;

/** Patch construction only; the API server's handling of finalizers is covered on the real backend. */
@EnableKubernetesMockClient(crud = true)
class FinalizersTest {

    KubernetesClient client;

    @Test
    void addAndRemoveTouchOnlyTheirOwnFinalizer() {
        ConfigMap cm = client.resource(new ConfigMapBuilder().withNewMetadata().withName("f").withNamespace("n")
                .endMetadata().build()).create();
        cm = Finalizers.add(client, cm, "flotilla.dev/cleanup");
        cm = Finalizers.add(client, cm, "other.io/keep");
        cm = Finalizers.add(client, cm, "flotilla.dev/cleanup");
        assertThat(client.configMaps().inNamespace("n").withName("f").get().getMetadata().getFinalizers())
                .containsExactly("flotilla.dev/cleanup", "other.io/keep");
        cm = Finalizers.remove(client, cm, "flotilla.dev/cleanup");
        assertThat(client.configMaps().inNamespace("n").withName("f").get().getMetadata().getFinalizers())
                .containsExactly("other.io/keep");
        assertThat(Finalizers.has(cm, "flotilla.dev/cleanup")).isFalse();
        assertThatThrownBy(() -> Finalizers.add(client, client.configMaps().inNamespace("n").withName("f").get(), "unqualified"))
                .hasMessageContaining("domain-qualified");
    }
}
