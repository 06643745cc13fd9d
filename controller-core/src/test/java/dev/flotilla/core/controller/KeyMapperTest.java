package dev.flotilla.core.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyMapperTest {

    private static OwnerReference ref(String apiVersion, String kind, String name, Boolean controller) {
        return new OwnerReferenceBuilder().withApiVersion(apiVersion).withKind(kind).withName(name).withUid("u-" + name)
                .withController(controller).build();
    }

    private static ConfigMap owned(OwnerReference... refs) {
        return new ConfigMapBuilder().withNewMetadata().withName("child").withNamespace("shop")
                .withOwnerReferences(refs).endMetadata().build();
    }

    @Test
    void mapsToTheControllingOwnerOfTheKindAndGroupInTheObjectsNamespace() {
        KeyMapper<ConfigMap> toDeployment = KeyMapper.controllerOwner("apps/v1", "Deployment");
        assertThat(toDeployment.keysFor(owned(ref("apps/v1", "Deployment", "web", true))))
                .containsExactly(ObjectKey.of("shop", "web"));
        // The group decides, not the version: still owned after a version bump.
        assertThat(toDeployment.keysFor(owned(ref("apps/v2", "Deployment", "web", true))))
                .containsExactly(ObjectKey.of("shop", "web"));
        // Not the controller, another kind, another group (a longer or shorter one, or the core group), no name.
        assertThat(toDeployment.keysFor(owned(ref("apps/v1", "Deployment", "web", false)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref("apps/v1", "Deployment", "web", null)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref("apps/v1", "StatefulSet", "web", true)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref("apps.example.com/v1", "Deployment", "web", true)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref("app/v1", "Deployment", "web", true)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref("v1", "Deployment", "web", true)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref(null, "Deployment", "web", true)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref("apps/v1", "Deployment", "", true)))).isEmpty();
        assertThat(toDeployment.keysFor(owned(ref("apps/v1", "Deployment", null, true)))).isEmpty();
        assertThat(toDeployment.keysFor(owned())).isEmpty();
        assertThat(toDeployment.keysFor(new ConfigMapBuilder().withNewMetadata().withName("c").endMetadata().build())).isEmpty();
    }

    @Test
    void theCoreGroupIsTheVersionWithoutASlash() {
        KeyMapper<ConfigMap> toConfigMap = KeyMapper.controllerOwner("v1", "ConfigMap");
        assertThat(toConfigMap.keysFor(owned(ref("v1", "ConfigMap", "src", true)))).containsExactly(ObjectKey.of("shop", "src"));
        assertThat(toConfigMap.keysFor(owned(ref("apps/v1", "ConfigMap", "src", true)))).isEmpty();
    }

    @Test
    void everyMatchingReferenceCountsInTheirOrderAndTheAnswerIsUnmodifiable() {
        // The API server allows one controller reference; an object that carries two (someone else's data) maps to both.
        KeyMapper<ConfigMap> toConfigMap = KeyMapper.controllerOwner("v1", "ConfigMap");
        List<ObjectKey> keys = toConfigMap.keysFor(owned(ref("v1", "ConfigMap", "a", true), ref("v1", "Secret", "s", true),
                ref("v1", "ConfigMap", "b", true)));
        assertThat(keys).containsExactly(ObjectKey.of("shop", "a"), ObjectKey.of("shop", "b"));
        assertThatThrownBy(() -> keys.add(ObjectKey.of("shop", "c")))
                .isInstanceOf(UnsupportedOperationException.class);
    }
}
