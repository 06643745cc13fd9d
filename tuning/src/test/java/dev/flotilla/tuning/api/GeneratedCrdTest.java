package dev.flotilla.tuning.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/** The CRD generated at build time from the api package carries the validation users rely on. */
class GeneratedCrdTest {

    static CustomResourceDefinition crd() throws Exception {
        try (InputStream in = GeneratedCrdTest.class.getResourceAsStream(
                "/META-INF/fabric8/resourcetuningpolicies.flotilla.dev-v1.yml")) {
            assertThat(in).as("generated CRD on the classpath").isNotNull();
            return Serialization.unmarshal(in, CustomResourceDefinition.class);
        }
    }

    @Test
    void theCrdIsNamespacedWithAStatusSubresourceAndValidatesModeRangesAndFormats() throws Exception {
        CustomResourceDefinition crd = crd();
        assertThat(crd.getMetadata().getName()).isEqualTo("resourcetuningpolicies.flotilla.dev");
        assertThat(crd.getSpec().getScope()).isEqualTo("Namespaced");
        assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("rtp");
        var version = crd.getSpec().getVersions().getFirst();
        assertThat(version.getName()).isEqualTo(ResourceTuningPolicy.VERSION);
        assertThat(version.getSubresources().getStatus()).isNotNull();
        JSONSchemaProps spec = version.getSchema().getOpenAPIV3Schema().getProperties().get("spec");
        assertThat(spec.getRequired()).contains("target");
        assertThat(spec.getProperties().get("mode").getPattern()).isEqualTo("^(Off|Recommend|Apply|InPlace)$");
        assertThat(spec.getProperties().get("steps").getProperties().get("oomBump").getMinimum()).isEqualTo(1.2);
        assertThat(spec.getProperties().get("objectives").getProperties().get("runqueueLatencyP99").getPattern())
                .isEqualTo("^[0-9]+(\\.[0-9]+)?(ms|s)$");
        assertThat(spec.getProperties().get("target").getRequired()).contains("selector");
    }

    @Test
    void theCrdCarriesTheCrossFieldRulesAndBoundsEveryQuantityForTheirCost() throws Exception {
        JSONSchemaProps spec = crd().getSpec().getVersions().getFirst().getSchema().getOpenAPIV3Schema().getProperties().get("spec");
        JSONSchemaProps container = spec.getProperties().get("containers").getItems().getSchema();
        assertThat(container.getXKubernetesValidations()).extracting(v -> v.getMessage())
                .contains("minCpu must not be above maxCpu", "minMemory must not be above maxMemory");
        assertThat(spec.getProperties().get("containers").getMaxItems()).isEqualTo(16L);
        for (String q : java.util.List.of("minCpu", "maxCpu", "minMemory", "maxMemory")) {
            assertThat(container.getProperties().get(q).getMaxLength()).as(q).isEqualTo((long) QuantityLengthBound.MAX_LENGTH);
        }
        assertThat(spec.getProperties().get("limits").getXKubernetesValidations()).extracting(v -> v.getRule())
                .containsExactly("self.managed || !self.liftCpuLimit");
        String once = QuantityLengthBound.bound("""
                a:
                  x-kubernetes-int-or-string: true
                """);
        assertThat(QuantityLengthBound.bound(once)).as("a second build adds nothing").isEqualTo(once);
    }
}
