package dev.flotilla.bench.plain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.examples.mirror.ConfigMapMirror;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The contenders that cannot link Flotilla's {@link ConfigMapMirror} write and judge mirrors
 * through {@link MirrorSpec}; the comparison is only fair if both agree exactly.
 */
class MirrorSpecTest {

    static final MirrorSpec SPEC = new MirrorSpec(ConfigMapMirror.ROLE_LABEL, ConfigMapMirror.ROLE_COPY,
            ConfigMapMirror.MIRROR_SUFFIX, ConfigMapMirror.OBSERVED_RESOURCE_VERSION, ConfigMapMirror.COMPONENT);

    static ConfigMap source(Map<String, String> data) {
        return new ConfigMapBuilder().withNewMetadata().withName("settings").withNamespace("07-bench").withUid("u-1")
                .withResourceVersion("42").addToLabels(ConfigMapMirror.SOURCE_LABEL, ConfigMapMirror.SOURCE_VALUE)
                .endMetadata().withData(data).build();
    }

    @Test
    void writesExactlyWhatFlotillasMirrorWrites() {
        for (Map<String, String> data : new Map[] {Map.of("a", "1", "b", "2"), Map.of()}) {
            ConfigMap source = source(data);
            assertThat(SPEC.desired(source)).isEqualTo(ConfigMapMirror.desiredMirror(source));
        }
    }

    @Test
    void judgesConvergenceAsFlotillasMirrorDoes() {
        ConfigMap source = source(Map.of("a", "1"));
        ConfigMap good = ConfigMapMirror.desiredMirror(source);
        ConfigMap staleVersion = new ConfigMapBuilder(good).editMetadata()
                .addToAnnotations(ConfigMapMirror.OBSERVED_RESOURCE_VERSION, "41").endMetadata().build();
        ConfigMap otherData = new ConfigMapBuilder(good).withData(Map.of("a", "2")).build();
        ConfigMap otherOwner = new ConfigMapBuilder(good).editMetadata().editFirstOwnerReference().withUid("u-2")
                .endOwnerReference().endMetadata().build();
        ConfigMap noRole = new ConfigMapBuilder(good).editMetadata().withLabels(Map.of()).endMetadata().build();
        for (ConfigMap mirror : new ConfigMap[] {good, staleVersion, otherData, otherOwner, noRole}) {
            assertThat(SPEC.isConverged(source, mirror)).as(mirror.toString())
                    .isEqualTo(ConfigMapMirror.isConverged(source, mirror));
        }
        assertThat(SPEC.isConverged(source, good)).isTrue();
        assertThat(SPEC.isMirror(good)).isTrue();
        assertThat(SPEC.isMirror(source)).isFalse();
    }
}
