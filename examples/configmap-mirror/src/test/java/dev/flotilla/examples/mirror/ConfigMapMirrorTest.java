package dev.flotilla.examples.mirror;

import static dev.flotilla.examples.mirror.ConfigMapMirror.*;
import static dev.flotilla.examples.mirror.MirrorReconcilerTest.appliedMirror;
import static dev.flotilla.examples.mirror.MirrorReconcilerTest.source;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigMapMirrorTest {

    @Test
    void desiredMirrorCarriesOnlyWhatTheControllerOwns() {
        ConfigMap src = new ConfigMapBuilder(source("settings", "41", Map.of("a", "1")))
                .withBinaryData(Map.of("b.bin", "AAE=")).build();
        ConfigMap m = desiredMirror(src);
        assertThat(m.getMetadata().getName()).isEqualTo("settings-mirror");
        assertThat(m.getMetadata().getNamespace()).isEqualTo("shop");
        assertThat(m.getMetadata().getLabels()).as("source labels are not copied: a mirror must never look like a source")
                .isEqualTo(Map.of(ROLE_LABEL, ROLE_COPY));
        assertThat(m.getMetadata().getAnnotations()).isEqualTo(Map.of(OBSERVED_RESOURCE_VERSION, "41"));
        assertThat(m.getData()).isEqualTo(Map.of("a", "1"));
        assertThat(m.getBinaryData()).isEqualTo(Map.of("b.bin", "AAE="));
        assertThat(isConverged(src, appliedMirror(src))).isTrue();
    }

    @Test
    void convergedMeansSameDataAndObservedResourceVersionAndOwner() {
        ConfigMap src = source("settings", "41", Map.of("a", "1"));
        ConfigMap good = appliedMirror(src);
        assertThat(isConverged(src, good)).isTrue();
        assertThat(divergence(src, good)).isNull();

        assertThat(isConverged(src, null)).isFalse();
        assertThat(divergence(src, null)).isEqualTo("mirror missing");

        ConfigMap stale = new ConfigMapBuilder(good).editMetadata().addToAnnotations(OBSERVED_RESOURCE_VERSION, "40").endMetadata().build();
        assertThat(divergence(src, stale)).contains("observed resourceVersion 40").contains("at 41");

        Map<String, String> data = new HashMap<>(good.getData());
        data.put("a", "drifted");
        assertThat(divergence(src, new ConfigMapBuilder(good).withData(data).build())).isEqualTo("mirror data differs");
        assertThat(isConverged(src, new ConfigMapBuilder(good).withBinaryData(Map.of("x", "AA==")).build())).isFalse();

        ConfigMap otherOwner = new ConfigMapBuilder(good).editMetadata().editFirstOwnerReference().withUid("someone-else")
                .endOwnerReference().endMetadata().build();
        assertThat(divergence(src, otherOwner)).isEqualTo("mirror is not controlled by the source");

        ConfigMap unlabelled = new ConfigMapBuilder(good).editMetadata().withLabels(Map.of()).endMetadata().build();
        assertThat(isConverged(src, unlabelled)).isFalse();
    }

    @Test
    void absentAndEmptyDataAreTheSame() {
        ConfigMap src = new ConfigMapBuilder(source("empty", "3", null)).build();
        ConfigMap mirror = new ConfigMapBuilder(appliedMirror(src)).withData(Map.of()).build();
        assertThat(isConverged(src, mirror)).isTrue();
    }

    @Test
    void permissionsCoverWhatTheControllerDoes() {
        assertThat(REQUIRED_PERMISSIONS).extracting(Object::toString).containsExactly(
                "get configmaps (all namespaces)", "list configmaps (all namespaces)", "watch configmaps (all namespaces)",
                "create configmaps (all namespaces)", "update configmaps (all namespaces)", "patch configmaps (all namespaces)",
                "create events (all namespaces)", "patch events (all namespaces)");
    }

    @Test
    void aLabelledConfigMapMattersToItsControllingSourceAndToTheSourceItsNameBelongsTo() {
        ConfigMap web = source("web", "7", Map.of("k", "v"));
        // Its own mirror: the one source, once.
        assertThat(sourcesOf(appliedMirror(web))).containsExactly(ObjectKey.of("shop", "web"));
        // A labelled foreign "web-mirror" without an owner: the source it blocks.
        ConfigMap foreign = new ConfigMapBuilder().withNewMetadata().withName("web-mirror").withNamespace("shop")
                .withLabels(Map.of(ROLE_LABEL, ROLE_COPY)).endMetadata().build();
        assertThat(sourcesOf(foreign)).containsExactly(ObjectKey.of("shop", "web"));
        // Controlled by one source, named after another: both, the owner first.
        ConfigMap renamed = appliedMirror(web);
        renamed.getMetadata().setName("api-mirror");
        assertThat(sourcesOf(renamed)).containsExactly(ObjectKey.of("shop", "web"),
                ObjectKey.of("shop", "api"));
        // A name that is only the suffix, or none: the owner alone.
        ConfigMap bare = appliedMirror(web);
        bare.getMetadata().setName(MIRROR_SUFFIX);
        assertThat(sourcesOf(bare)).containsExactly(ObjectKey.of("shop", "web"));
        ConfigMap unnamed = new ConfigMapBuilder().withNewMetadata().withNamespace("shop").endMetadata().build();
        assertThat(sourcesOf(unnamed)).isEmpty();
    }
}
