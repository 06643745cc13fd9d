package dev.flotilla.tuning.controller;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.tuning.api.ContainerRecommendation;
import dev.flotilla.tuning.quantity.Resources;
import dev.flotilla.tuning.recommend.ContainerResources;
import dev.flotilla.tuning.recommend.Finding;
import dev.flotilla.tuning.recommend.Rule;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tuner's counters count what the reconciler reports, rare ones exist at zero, and gauges go with their policy. */
class TunerMetricsTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final TunerMetrics metrics = new TunerMetrics(registry);

    private double actions(String result) {
        return registry.get(TunerMetrics.ACTIONS_TOTAL).tag(TunerMetrics.LABEL_RESULT, result).counter().count();
    }

    private double findings(Rule rule) {
        return registry.get(TunerMetrics.FINDINGS_TOTAL).tag(TunerMetrics.LABEL_FINDING, rule.name()).counter().count();
    }

    @Test
    void everyActionResultAndFindingKindExistsAtZeroFromTheStart() {
        for (TunerMetrics.ActionResult r : TunerMetrics.ActionResult.values()) {
            assertThat(actions(r.label())).as(r.label()).isZero();
        }
        for (Rule rule : Rule.values()) {
            assertThat(findings(rule)).as(rule.name()).isZero();
        }
        assertThat(registry.get(TunerMetrics.SIGNAL_FAILURES_TOTAL).counter().count()).isZero();
        assertThat(registry.find(TunerMetrics.ACTIONS_TOTAL).counters()).hasSize(4);
        assertThat(registry.find(TunerMetrics.FINDINGS_TOTAL).counters()).hasSize(Rule.values().length);
    }

    @Test
    void outcomesAreCountedByResultAndNoChangeIsNoAction() {
        List.of("Applied", "Applied", "Resized", "ResizePending", "ResizeInProgress", "Refused", "Failed", "NoChange")
                .forEach(metrics::action);
        assertThat(actions("applied")).isEqualTo(2);
        assertThat(actions("resized")).as("the kubelet's pending and in-progress are accepted resizes").isEqualTo(3);
        assertThat(actions("refused")).isEqualTo(1);
        assertThat(actions("failed")).isEqualTo(1);
    }

    @Test
    void findingsAreCountedByRuleAndSignalFailuresOneByOne() {
        metrics.findings(List.of(new Finding(Rule.USAGE_PERCENTILE, "cpu", "p90"), new Finding(Rule.OOM_BUMP, "memory", "1 kill"),
                new Finding(Rule.USAGE_PERCENTILE, "cpu", "again")));
        metrics.signalFailure();
        metrics.signalFailure();
        assertThat(findings(Rule.USAGE_PERCENTILE)).isEqualTo(2);
        assertThat(findings(Rule.OOM_BUMP)).isEqualTo(1);
        assertThat(findings(Rule.COOL_DOWN)).isZero();
        assertThat(registry.get(TunerMetrics.SIGNAL_FAILURES_TOTAL).counter().count()).isEqualTo(2);
    }

    @Test
    void gaugesShowRequestsInCoresAndBytesAndGoWhenThePolicyForgetsThem() {
        metrics.report("team-a/web", "team-a", List.of(entry("Deployment/web", "app", 500, 256L << 20, 1500, 512L << 20),
                entry("Deployment/web", "sidecar", 100, 64L << 20, 100, 64L << 20)));
        metrics.report("team-a/other", "team-a", List.of(entry("StatefulSet/db", "db", 2000, 1L << 30, 2000, 1L << 30)));
        Gauge recommended = registry.get(TunerMetrics.RECOMMENDED_CPU_CORES).tag(TunerMetrics.LABEL_NAMESPACE, "team-a")
                .tag(TunerMetrics.LABEL_WORKLOAD, "Deployment/web").tag(TunerMetrics.LABEL_CONTAINER, "app").gauge();
        assertThat(recommended.value()).isEqualTo(1.5);
        assertThat(registry.get(TunerMetrics.CURRENT_CPU_CORES).tag(TunerMetrics.LABEL_CONTAINER, "app").gauge().value())
                .isEqualTo(0.5);
        assertThat(registry.get(TunerMetrics.RECOMMENDED_MEMORY_BYTES).tag(TunerMetrics.LABEL_CONTAINER, "app").gauge().value())
                .isEqualTo(512L << 20);
        assertThat(registry.get(TunerMetrics.CURRENT_MEMORY_BYTES).tag(TunerMetrics.LABEL_CONTAINER, "app").gauge().value())
                .isEqualTo(256L << 20);

        // The next pass no longer reports the sidecar: its four series go, the app's stay and follow the new values.
        metrics.report("team-a/web", "team-a", List.of(entry("Deployment/web", "app", 1500, 512L << 20, 1500, 512L << 20)));
        assertThat(registry.find(TunerMetrics.CURRENT_CPU_CORES).tag(TunerMetrics.LABEL_CONTAINER, "sidecar").gauges()).isEmpty();
        assertThat(registry.get(TunerMetrics.CURRENT_CPU_CORES).tag(TunerMetrics.LABEL_CONTAINER, "app").gauge().value())
                .isEqualTo(1.5);

        metrics.forget("team-a/web");
        for (String name : List.of(TunerMetrics.RECOMMENDED_CPU_CORES, TunerMetrics.CURRENT_CPU_CORES,
                TunerMetrics.RECOMMENDED_MEMORY_BYTES, TunerMetrics.CURRENT_MEMORY_BYTES)) {
            assertThat(registry.find(name).tag(TunerMetrics.LABEL_WORKLOAD, "Deployment/web").gauges()).as(name).isEmpty();
            assertThat(registry.find(name).tag(TunerMetrics.LABEL_WORKLOAD, "StatefulSet/db").gauges())
                    .as("another policy's %s", name).hasSize(1);
        }
    }

    @Test
    void prometheusSeesTheExactNames() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TunerMetrics exported = new TunerMetrics(prometheus);
        exported.report("ns/p", "ns", List.of(entry("Deployment/web", "app", 500, 1L << 20, 600, 2L << 20)));
        String text = prometheus.scrape();
        assertThat(text).contains("flotilla_tuner_actions_total{result=\"refused\"} 0.0",
                "flotilla_tuner_signal_failures_total 0.0", "flotilla_tuner_findings_total{finding=\"OOM_BUMP\"} 0.0",
                "flotilla_tuner_recommended_cpu_cores{container=\"app\",namespace=\"ns\",workload=\"Deployment/web\"} 0.6",
                "flotilla_tuner_current_memory_bytes{container=\"app\",namespace=\"ns\",workload=\"Deployment/web\"} 1048576.0");
    }

    private static ContainerRecommendation entry(String workload, String container, long cpuMillis, long memory,
            long recommendedCpuMillis, long recommendedMemory) {
        ContainerRecommendation e = new ContainerRecommendation();
        e.setWorkload(workload);
        e.setContainer(container);
        e.setCurrent(Resources.values(ContainerResources.of(cpuMillis, 0, memory, 0)));
        e.setRecommended(Resources.values(ContainerResources.of(recommendedCpuMillis, 0, recommendedMemory, 0)));
        return e;
    }
}
