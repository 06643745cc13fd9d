package dev.flotilla.tuning.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.tuning.api.ContainerPolicy;
import dev.flotilla.tuning.api.ResourceTuningPolicySpec;
import dev.flotilla.tuning.api.TuningMode;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PolicyValidatorTest {

    static ResourceTuningPolicySpec spec(String minCpu, String maxCpu, String minMem, String maxMem) {
        ResourceTuningPolicySpec spec = new ResourceTuningPolicySpec();
        spec.getTarget().setSelector(new LabelSelectorBuilder().addToMatchLabels("app", "web").build());
        ContainerPolicy c = new ContainerPolicy();
        c.setName("*");
        c.setMinCpu(new Quantity(minCpu));
        c.setMaxCpu(new Quantity(maxCpu));
        c.setMinMemory(new Quantity(minMem));
        c.setMaxMemory(new Quantity(maxMem));
        spec.setContainers(List.of(c));
        return spec;
    }

    static String invalid(ResourceTuningPolicySpec spec, Optional<long[]> node) {
        return ((PolicyCheck.Invalid) PolicyValidator.check(spec, node)).message();
    }

    @Test
    void aValidSpecBecomesTypedSettings() {
        PolicyCheck check = PolicyValidator.check(spec("100m", "2", "64Mi", "4Gi"), Optional.empty());
        assertThat(check).isInstanceOfSatisfying(PolicyCheck.Valid.class, v -> {
            assertThat(v.mode()).isEqualTo(TuningMode.Recommend);
            assertThat(v.boundsFor("anything").orElseThrow().maxCpuMillis()).isEqualTo(2000);
            assertThat(v.boundsFor("anything").orElseThrow().maxMemoryBytes()).isEqualTo(4L << 30);
            assertThat(v.rules().runqueueLatencyTarget().toMillis()).isEqualTo(5);
            assertThat(v.signalMetrics()).isEmpty();
        });
    }

    @Test
    void everySignalMetricKeyIsAPropertyOfSpecSignalMetrics() throws Exception {
        // One name per key, so each property's value says which key it was read for.
        var json = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        for (var m : dev.flotilla.tuning.signals.SignalMetric.values()) {
            json.put(m.key(), "n_" + m.key());
        }
        var names = new com.fasterxml.jackson.databind.ObjectMapper().treeToValue(json, dev.flotilla.tuning.api.SignalMetricNames.class);
        assertThat(names.overrides()).hasSize(dev.flotilla.tuning.signals.SignalMetric.values().length)
                .allSatisfy((m, n) -> assertThat(n).isEqualTo("n_" + m.key()));
    }

    @Test
    void everyMistakeIsNamedPrecisely() {
        assertThat(invalid(spec("2", "1", "64Mi", "1Gi"), Optional.empty()))
                .isEqualTo("spec.containers[*].minCpu 2 is above maxCpu 1");
        assertThat(invalid(spec("100m", "1", "2Gi", "1Gi"), Optional.empty()))
                .isEqualTo("spec.containers[*].minMemory 2Gi is above maxMemory 1Gi");
        ResourceTuningPolicySpec unknownMode = spec("100m", "1", "64Mi", "1Gi");
        unknownMode.setMode("Sometimes");
        assertThat(invalid(unknownMode, Optional.empty()))
                .isEqualTo("spec.mode 'Sometimes' is not one of [Off, Recommend, Apply, InPlace]");
        assertThat(invalid(spec("16", "32", "64Mi", "1Gi"), Optional.of(new long[] {8000, 32L << 30})))
                .isEqualTo("spec.containers[*].minCpu 16 is more than the largest node can allocate (8000m)");
        ResourceTuningPolicySpec badMetric = spec("100m", "1", "64Mi", "1Gi");
        badMetric.getSignalMetrics().setRunQueueLatencyBucket("runq latency");
        assertThat(invalid(badMetric, Optional.empty())).isEqualTo("spec.signalMetrics.metric name for runQueueLatencyBucket must "
                + "match ^[a-zA-Z_:][a-zA-Z0-9_:]*$ (1-200 characters), got 'runq latency'");
        ResourceTuningPolicySpec badDuration = spec("100m", "1", "64Mi", "1Gi");
        badDuration.getCoolDowns().setDown("soon");
        assertThat(invalid(badDuration, Optional.empty())).isEqualTo("spec.coolDowns.down 'soon' is not a duration like 5ms, 30s, 5m or 24h");
        ResourceTuningPolicySpec shortDown = spec("100m", "1", "64Mi", "1Gi");
        shortDown.getCoolDowns().setDown("1m");
        assertThat(invalid(shortDown, Optional.empty())).contains("must not be shorter than the one between raises");
        ResourceTuningPolicySpec noSelector = spec("100m", "1", "64Mi", "1Gi");
        noSelector.getTarget().setSelector(null);
        assertThat(invalid(noSelector, Optional.empty())).isEqualTo("spec.target.selector is required");
        ResourceTuningPolicySpec noContainers = spec("100m", "1", "64Mi", "1Gi");
        noContainers.setContainers(List.of());
        assertThat(invalid(noContainers, Optional.empty())).contains("at least one container");
        assertThat(invalid(null, Optional.empty())).isEqualTo("spec is missing");
    }

    @Test
    void aMalformedSelectorOrAnUnnamedContainerIsInvalidAndAnAbsurdQuantityDoesNotOverflow() {
        ResourceTuningPolicySpec bad = spec("100m", "1", "64Mi", "1Gi");
        bad.getTarget().setSelector(new LabelSelectorBuilder().addNewMatchExpression().withKey("app").withOperator("Equals")
                .withValues("web").endMatchExpression().build());
        assertThat(invalid(bad, Optional.empty())).contains("invalid requirement").contains("Equals");
        ResourceTuningPolicySpec unnamed = spec("100m", "1", "64Mi", "1Gi");
        unnamed.getContainers().getFirst().setName(null);
        assertThat(invalid(unnamed, Optional.empty())).contains("without a name");
        assertThat(PolicyValidator.check(spec("100m", "1e20", "64Mi", "1e30"), Optional.empty()))
                .isInstanceOf(PolicyCheck.Valid.class);
    }
}
