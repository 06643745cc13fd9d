package dev.flotilla.tuning.controller;

import dev.flotilla.tuning.quantity.Resources;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.controller.EventPredicate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.tuning.api.ContainerRecommendation;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.signals.PrometheusClient;
import dev.flotilla.tuning.signals.PrometheusServer;
import dev.flotilla.tuning.signals.PrometheusSignals;
import dev.flotilla.tuning.signals.SignalMetrics;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The four scripted scenarios end to end (scripted exporter, real Prometheus, real API server,
 * the controller in Recommend mode), each recommended twice by the same code: kernel signals on
 * (Flotilla) and off (usage-only, VPA-style). Prints the comparison table of the note.
 */
@WithCluster
class ScenarioEndToEndTest {

    record Scenario(String name, String right, ScriptedExporter.Profile profile, Map<String, Quantity> requests,
            Map<String, Quantity> limits, Predicate<ContainerRecommendation> isRight) {
    }

    static Map<String, Quantity> res(String cpu, String memory) {
        return Map.of("cpu", new Quantity(cpu), "memory", new Quantity(memory));
    }

    static long cpuMillis(Quantity q) {
        return q == null ? Long.MAX_VALUE : Resources.millis(q).orElse(0);
    }

    static long bytes(Quantity q) {
        return q == null ? 0 : Resources.bytes(q).orElse(0);
    }

    static List<Scenario> scenarios() {
        return List.of(
                new Scenario("noisy neighbour", "CPU request raised", ScriptedExporter.Profile.noisyNeighbour(),
                        res("1", "1Gi"), res("2", "2Gi"), r -> cpuMillis(r.getRecommended().getCpuRequest()) > 1000),
                new Scenario("self-throttling", "CPU limit raised by at least 50%", ScriptedExporter.Profile.selfThrottling(),
                        res("1", "1Gi"), res("1", "2Gi"), r -> cpuMillis(r.getRecommended().getCpuLimit()) >= 1500),
                new Scenario("slow memory leak", "memory raised above the 1 GiB limit before an OOM",
                        ScriptedExporter.Profile.slowMemoryLeak(), res("500m", "1Gi"), res("1", "1Gi"),
                        r -> bytes(r.getRecommended().getMemoryLimit()) > (1L << 30)),
                new Scenario("bursty JVM", "CPU limit raised, memory kept above the heap plateau",
                        ScriptedExporter.Profile.burstyJvm(), res("1", "2Gi"), res("2", "2Gi"),
                        r -> cpuMillis(r.getRecommended().getCpuLimit()) > 2000
                                && bytes(r.getRecommended().getMemoryRequest()) >= (long) ((1536L << 20) * 1.15)));
    }

    @Test
    void kernelSignalsGetTheScriptedScenariosRightWhereUsageOnlySizingDoesNot(TestCluster cluster, TestNamespace ns)
            throws Exception {
        KubernetesClient client = cluster.client();
        ResourceTunerTest.installCrd(client);
        try (ScriptedExporter exporter = new ScriptedExporter(); PrometheusServer prometheus = PrometheusServer.start(exporter.target())) {
            int i = 0;
            for (Scenario s : scenarios()) {
                String name = "app-" + i++;
                var resources = new ResourceRequirementsBuilder().withRequests(s.requests()).withLimits(s.limits()).build();
                client.resource(new DeploymentBuilder().withNewMetadata().withName(name).withNamespace(ns.name())
                        .addToLabels("scenario", name).endMetadata().withNewSpec().withReplicas(1)
                        .withSelector(new LabelSelectorBuilder().addToMatchLabels("app", name).build()).withNewTemplate()
                        .withNewMetadata().addToLabels("app", name).endMetadata().withNewSpec().addToContainers(new ContainerBuilder()
                        .withName("app").withImage("example/app:1").withResources(resources).build()).endSpec().endTemplate()
                        .endSpec().build()).create();
                client.resource(new PodBuilder().withNewMetadata().withName(name + "-0").withNamespace(ns.name())
                        .addToLabels("app", name).endMetadata().withNewSpec().addToContainers(new ContainerBuilder().withName("app")
                        .withImage("example/app:1").withResources(resources).build()).endSpec().build()).create();
                exporter.register(ns.name(), name + "-0", "app", s.profile());
            }
            PrometheusClient p = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(3));
            long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            while (p.rangeQuery("rate(container_cpu_usage_seconds_total{namespace=\"" + ns.name() + "\"}[10s])",
                    Instant.now().minusSeconds(30), Instant.now(), Duration.ofSeconds(2)).size() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(1000);
            }
            Thread.sleep(12_000); // a full burst cycle inside the rate windows
            Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
            manager.controller(ResourceTuningPolicy.class).named("resource-tuner").workers(1)
                    .withPredicate(EventPredicate.generationChanged())
                    .complete(new TuningReconciler(client, new PrometheusSignals(p, SignalMetrics.defaults(), Duration.ofMinutes(3),
                            Duration.ofSeconds(2), Duration.ofSeconds(10)), TuningSettings.defaults().withResync(Duration.ofMinutes(5))));
            manager.start();
            Map<String, boolean[]> outcome = new LinkedHashMap<>();
            StringBuilder table = new StringBuilder("| scenario | right answer | Flotilla | usage-only |\n|---|---|---|---|\n");
            try {
                i = 0;
                for (Scenario s : scenarios()) {
                    String name = "app-" + i++;
                    ContainerRecommendation kernel = recommend(client, ns, name, true);
                    ContainerRecommendation usage = recommend(client, ns, name, false);
                    boolean k = s.isRight().test(kernel);
                    boolean u = s.isRight().test(usage);
                    outcome.put(s.name(), new boolean[] {k, u});
                    table.append("| ").append(s.name()).append(" | ").append(s.right()).append(" | ").append(k ? "right" : "wrong")
                            .append(": ").append(kernel.getRecommended()).append(" | ").append(u ? "right" : "wrong").append(": ")
                            .append(usage.getRecommended()).append(" |\n");
                }
            } finally {
                manager.stop();
            }
            System.out.print(table);
            assertThat(outcome).allSatisfy((name, o) -> assertThat(o[0]).as("Flotilla on " + name).isTrue());
            assertThat(outcome).allSatisfy((name, o) -> assertThat(o[1]).as("usage-only on " + name).isFalse());
        }
    }

    private static ContainerRecommendation recommend(KubernetesClient client, TestNamespace ns, String name, boolean kernel) {
        String policyName = name + (kernel ? "-kernel" : "-usage");
        ResourceTuningPolicy policy = ResourceTunerTest.policy(ns, "Recommend", "100m", "8");
        policy.getMetadata().setName(policyName);
        policy.getSpec().getTarget().setSelector(new LabelSelectorBuilder().addToMatchLabels("scenario", name).build());
        policy.getSpec().setKernelSignals(kernel);
        client.resource(policy).create();
        ResourceTuningPolicy[] last = new ResourceTuningPolicy[1];
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
            last[0] = client.resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName(policyName).get();
            return last[0].getStatus() != null && !last[0].getStatus().getContainers().isEmpty();
        });
        client.resource(last[0]).delete();
        return last[0].getStatus().getContainers().getFirst();
    }
}
