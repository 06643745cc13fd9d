package dev.flotilla.tuning.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.apply.Conditions;
import dev.flotilla.core.controller.EventPredicate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.tuning.api.ContainerPolicy;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.api.ResourceTuningPolicySpec;
import dev.flotilla.tuning.quantity.Resources;
import dev.flotilla.tuning.recommend.Rule;
import dev.flotilla.tuning.signals.PrometheusClient;
import dev.flotilla.tuning.signals.PrometheusServer;
import dev.flotilla.tuning.signals.PrometheusSignals;
import dev.flotilla.tuning.signals.SignalMetrics;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.LimitRangeBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuotaBuilder;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tuner end to end: the REAL API server with the generated CRD, Deployments, Pods and Nodes;
 * a real Prometheus scraping a scripted exporter whose series say "this container waits behind
 * noisy neighbours" (0.4 of a 1-core request used, run-queue p99 about 23 ms). Every policy below
 * should therefore want the CPU request doubled (the x2 step), which lets each guardrail show
 * what it stops.
 */
@WithCluster
class ResourceTunerTest {

    /**
     * Most of each test is waiting for scrapes and passes: the tests run three at a time (the module's parallelism),
     * each in its own namespace with its own tuner, node and metrics. The class itself runs alone, as every class of
     * the module does (ShardedTunerTest sets this class's Prometheus fields).
     */
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target(java.lang.annotation.ElementType.METHOD)
    @Test
    @org.junit.jupiter.api.parallel.Execution(org.junit.jupiter.api.parallel.ExecutionMode.CONCURRENT)
    @interface SideBySide {
    }

    /** The field manager the API server records for objects this test's fabric8 client creates. */
    static final String CREATED_BY = "fabric8-kubernetes-client";

    static ScriptedExporter exporter;
    static PrometheusServer prometheus;
    private Manager manager;
    /** The tuner's metrics in each test: what the reconciler counted. */
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @BeforeAll
    static void startSignals() throws Exception {
        exporter = new ScriptedExporter();
        prometheus = PrometheusServer.start(exporter.target());
    }

    @AfterAll
    static void stopSignals() {
        if (prometheus != null) {
            prometheus.close();
        }
        if (exporter != null) {
            exporter.close();
        }
    }

    private TestCluster cluster;
    private TestNamespace namespace;

    @AfterEach
    void stopManagerAndRemovePolicies() {
        if (manager != null) {
            manager.stop();
        }
        // Leave no policy behind in the test's namespace.
        if (cluster != null) {
            cluster.client().resources(ResourceTuningPolicy.class).inNamespace(namespace.name()).delete();
        }
    }

    static synchronized void installCrd(KubernetesClient client) throws Exception { // once, whichever test comes first
        if (client.apiextensions().v1().customResourceDefinitions().withName("resourcetuningpolicies.flotilla.dev").get() != null) {
            return;
        }
        try (var in = ResourceTunerTest.class.getResourceAsStream("/META-INF/fabric8/resourcetuningpolicies.flotilla.dev-v1.yml")) {
            CustomResourceDefinition crd = Serialization.unmarshal(in, CustomResourceDefinition.class);
            client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
            client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                    .waitUntilCondition(c -> c.getStatus() != null && c.getStatus().getConditions() != null
                            && c.getStatus().getConditions().stream().anyMatch(x -> "Established".equals(x.getType())
                            && "True".equals(x.getStatus())), 30, TimeUnit.SECONDS);
        }
    }

    void startTuner(TestCluster cluster, TestNamespace ns, URI prometheusUri, BooleanSupplier killSwitch, Duration resync)
            throws Exception {
        startTuner(cluster, ns, prometheusUri, (Supplier<KillSwitchState>) () -> KillSwitchState.of(killSwitch.getAsBoolean()),
                resync);
    }

    void startTuner(TestCluster cluster, TestNamespace ns, URI prometheusUri, Supplier<KillSwitchState> killSwitch,
            Duration resync) throws Exception {
        this.cluster = cluster;
        this.namespace = ns;
        installCrd(cluster.client());
        PrometheusSignals signals = new PrometheusSignals(new PrometheusClient(prometheusUri, Duration.ofSeconds(3)),
                SignalMetrics.defaults(), Duration.ofMinutes(3), Duration.ofSeconds(2), Duration.ofSeconds(10));
        // Tests run side by side: each tuner reconciles its own namespace's policies only.
        manager = new Manager(cluster.client(), ManagerOptions.defaults().withHealthPort(-1),
                key -> ns.name().equals(key.namespace()));
        // Status writes must not re-trigger a pass: only spec changes and the resync do.
        manager.controller(ResourceTuningPolicy.class).named("resource-tuner").workers(1)
                .withPredicate(EventPredicate.generationChanged())
                .complete(new TuningReconciler(cluster.client(),
                        signals, TuningSettings.defaults().withKillSwitch(killSwitch).withResync(resync), new TunerMetrics(registry)));
        manager.start();
    }

    private double actions(TunerMetrics.ActionResult result) {
        return registry.get(TunerMetrics.ACTIONS_TOTAL).tag(TunerMetrics.LABEL_RESULT, result.label()).counter().count();
    }

    private double findings(Rule rule) {
        return registry.get(TunerMetrics.FINDINGS_TOTAL).tag(TunerMetrics.LABEL_FINDING, rule.name()).counter().count();
    }

    static Map<String, Quantity> res(String cpu, String memory) {
        return Map.of("cpu", new Quantity(cpu), "memory", new Quantity(memory));
    }

    /** A node, a 2-replica Deployment "web" and its two pods on that node, with the exporter scripting their series. */
    static void workload(KubernetesClient client, TestNamespace ns, String nodeName, String nodeCpu) throws Exception {
        workload(client, ns, nodeName, nodeCpu, res("1", "1Gi"), res("2", "2Gi"), ScriptedExporter.Profile.noisyNeighbour());
    }

    static void workload(KubernetesClient client, TestNamespace ns, String nodeName, String nodeCpu, Map<String, Quantity> requests,
            Map<String, Quantity> limits, ScriptedExporter.Profile profile) throws Exception {
        workload(client, ns, nodeName, nodeCpu, requests, limits, profile, List.of("app"));
    }

    /** As above, with one container per name in {@code containers}, each sized and behaving alike. */
    static void workload(KubernetesClient client, TestNamespace ns, String nodeName, String nodeCpu, Map<String, Quantity> requests,
            Map<String, Quantity> limits, ScriptedExporter.Profile profile, List<String> containers) throws Exception {
        var node = new NodeBuilder().withNewMetadata().withName(nodeName).endMetadata().build();
        if (client.nodes().withName(nodeName).get() == null) {
            client.nodes().resource(node).create();
        }
        var withStatus = new NodeBuilder(client.nodes().withName(nodeName).get()).withNewStatus()
                .withAllocatable(res(nodeCpu, "8Gi")).withCapacity(res(nodeCpu, "8Gi")).endStatus().build();
        client.nodes().resource(withStatus).updateStatus();
        var resources = new ResourceRequirementsBuilder().withRequests(requests).withLimits(limits).build();
        Deployment web = new DeploymentBuilder().withNewMetadata().withName("web").withNamespace(ns.name())
                .addToLabels("app", "web").endMetadata().withNewSpec().withReplicas(2)
                .withSelector(new LabelSelectorBuilder().addToMatchLabels("app", "web").build()).withNewTemplate()
                .withNewMetadata().addToLabels("app", "web").endMetadata().withNewSpec()
                .withContainers(containers.stream().map(c -> new ContainerBuilder().withName(c).withImage("example/web:1")
                        .withResources(resources).build()).toList())
                .endSpec().endTemplate().endSpec().build();
        client.resource(web).create();
        for (String pod : List.of("web-1", "web-2")) {
            client.resource(new PodBuilder().withNewMetadata().withName(pod).withNamespace(ns.name()).addToLabels("app", "web")
                    .endMetadata().withNewSpec().withNodeName(nodeName).withContainers(containers.stream().map(c -> new ContainerBuilder()
                    .withName(c).withImage("example/web:1").withResources(resources).build()).toList()).endSpec().build()).create();
            for (String c : containers) {
                exporter.register(ns.name(), pod, c, profile);
            }
        }
        // Enough scrapes for the rate windows to hold data.
        PrometheusClient p = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(3));
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofSeconds(1)).until(() -> !p.rangeQuery(
                "histogram_quantile(0.99, sum by (le) (rate(" + dev.flotilla.tuning.signals.SignalMetric.RUN_QUEUE_LATENCY_BUCKET.defaultName() + "{namespace=\"" + ns.name()
                        + "\"}[10s])))", Instant.now().minusSeconds(30), Instant.now(), Duration.ofSeconds(2)).isEmpty());
        Thread.sleep(4000);
    }

    static ResourceTuningPolicy policy(TestNamespace ns, String mode, String minCpu, String maxCpu) {
        ResourceTuningPolicy p = new ResourceTuningPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace(ns.name()).build());
        ResourceTuningPolicySpec spec = new ResourceTuningPolicySpec();
        spec.setMode(mode);
        spec.getTarget().setSelector(new LabelSelectorBuilder().addToMatchLabels("app", "web").build());
        ContainerPolicy c = new ContainerPolicy();
        c.setName("*");
        c.setMinCpu(new Quantity(minCpu));
        c.setMaxCpu(new Quantity(maxCpu));
        c.setMinMemory(new Quantity("64Mi"));
        c.setMaxMemory(new Quantity("4Gi"));
        spec.setContainers(List.of(c));
        // The tests create workloads with fabric8, whose field manager then owns their resources: the policy lets the
        // tuner take them over, as a user adopting kubectl-created workloads would.
        spec.setTakeOverFrom(List.of(CREATED_BY));
        p.setSpec(spec);
        return p;
    }

    static ResourceTuningPolicy awaitStatus(KubernetesClient client, TestNamespace ns, Predicate<ResourceTuningPolicy> done) {
        ResourceTuningPolicy[] last = new ResourceTuningPolicy[1];
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500)).until(() -> {
            last[0] = client.resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web").get();
            return last[0] != null && last[0].getStatus() != null && done.test(last[0]);
        });
        return last[0];
    }

    static Optional<Condition> condition(ResourceTuningPolicy p, String type) {
        return Conditions.find(p.getStatus().getConditions(), type);
    }

    static String templateCpu(KubernetesClient client, TestNamespace ns) {
        return client.apps().deployments().inNamespace(ns.name()).withName("web").get().getSpec().getTemplate().getSpec()
                .getContainers().getFirst().getResources().getRequests().get("cpu").toString();
    }

    static String podCpu(KubernetesClient client, TestNamespace ns, String pod) {
        Pod p = client.pods().inNamespace(ns.name()).withName(pod).get();
        return p.getSpec().getContainers().getFirst().getResources().getRequests().get("cpu").toString();
    }

    @SideBySide
    void recommendWritesTheNoisyNeighbourRecommendationToStatusAndChangesNothing(TestCluster cluster, TestNamespace ns)
            throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofSeconds(5));
        cluster.client().resource(policy(ns, "Recommend", "100m", "4")).create();
        ResourceTuningPolicy p = awaitStatus(cluster.client(), ns, x -> !x.getStatus().getContainers().isEmpty()
                && condition(x, Conditions.READY).map(c -> "True".equals(c.getStatus())).orElse(false));
        var entry = p.getStatus().getContainers().getFirst();
        assertThat(entry.getWorkload()).isEqualTo("Deployment/web");
        assertThat(entry.getRecommended().getCpuRequest()).isEqualTo(new Quantity("2"));
        assertThat(entry.getFindings()).anyMatch(f -> f.startsWith("NOISY_NEIGHBOUR"));
        assertThat(entry.isUsageOnly()).isFalse();
        assertThat(condition(p, TuningReconciler.INVALID).orElseThrow().getStatus()).isEqualTo("False");
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1");
        assertThat(podCpu(cluster.client(), ns, "web-1")).isEqualTo("1");
        assertThat(findings(Rule.NOISY_NEIGHBOUR)).isPositive();
        assertThat(registry.get(TunerMetrics.RECOMMENDED_CPU_CORES).tag(TunerMetrics.LABEL_NAMESPACE, ns.name())
                .tag(TunerMetrics.LABEL_WORKLOAD, "Deployment/web").gauge().value()).isEqualTo(2.0);
        assertThat(registry.get(TunerMetrics.CURRENT_CPU_CORES).tag(TunerMetrics.LABEL_WORKLOAD, "Deployment/web").gauge().value())
                .isEqualTo(1.0);
        for (TunerMetrics.ActionResult r : TunerMetrics.ActionResult.values()) {
            assertThat(actions(r)).as("Recommend acts on nothing: %s", r).isZero();
        }
    }

    @SideBySide
    void applyChangesThePodTemplateAndALimitRangeCutsTheRaise(TestCluster cluster, TestNamespace ns) throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        cluster.client().resource(new LimitRangeBuilder().withNewMetadata().withName("limits").withNamespace(ns.name())
                .endMetadata().withNewSpec().addNewLimit().withType("Container").withMax(Map.of("cpu", new Quantity("1500m")))
                .endLimit().endSpec().build()).create();
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofSeconds(5));
        cluster.client().resource(policy(ns, "Apply", "100m", "4")).create();
        await().atMost(Duration.ofSeconds(40)).until(() -> templateCpu(cluster.client(), ns).equals("1500m"));
        ResourceTuningPolicy p = awaitStatus(cluster.client(), ns, x -> x.getStatus().getLastAction() != null);
        assertThat(p.getStatus().getLastAction().getResult()).isEqualTo("Applied");
        assertThat(p.getStatus().getLastAction().getMessage()).contains("LIMIT_RANGE");
        assertThat(podCpu(cluster.client(), ns, "web-1")).as("Apply never touches running pods").isEqualTo("1");
        assertThat(actions(TunerMetrics.ActionResult.APPLIED)).isPositive();
    }

    @SideBySide
    void aResourceQuotaCutsTheRaiseOfEveryReplicaAndTheKillSwitchStopsEverything(TestCluster cluster, TestNamespace ns)
            throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        // 2 pods request 2 cores; 3.5 allowed: of the 1500m of room, the rollout's surge pod (25% of 2, rounded up: one
        // pod of 1 core) takes 1000m, and 500m for 2 replicas is +250m each.
        cluster.client().resource(new ResourceQuotaBuilder().withNewMetadata().withName("quota").withNamespace(ns.name())
                .endMetadata().withNewSpec().withHard(Map.of("requests.cpu", new Quantity("3500m"))).endSpec().build()).create();
        // The real kill switch, whose ConfigMap does not exist yet: it fails closed.
        try (KillSwitch killSwitch = new KillSwitch(cluster.client(), ns.name())) {
            startTuner(cluster, ns, prometheus.uri(), killSwitch, Duration.ofSeconds(5));
            cluster.client().resource(policy(ns, "Apply", "100m", "4")).create();
            // The first pass may come before the switch's informer has read anything (NotRead): both stop the tuner.
            ResourceTuningPolicy stopped = awaitStatus(cluster.client(), ns, x -> x.getStatus().getLastAction() != null
                    && condition(x, TuningReconciler.KILL_SWITCH).map(c -> KillSwitchState.MISSING.equals(c.getReason())).orElse(false));
            assertThat(stopped.getStatus().getLastAction().getResult()).isEqualTo("Refused");
            assertThat(stopped.getStatus().getLastAction().getMessage()).startsWith("KILL_SWITCH");
            Condition engaged = condition(stopped, TuningReconciler.KILL_SWITCH).orElseThrow();
            assertThat(engaged.getStatus()).isEqualTo("True");
            assertThat(engaged.getReason()).isEqualTo(KillSwitchState.MISSING);
            assertThat(engaged.getMessage()).contains(ns.name() + "/" + KillSwitch.NAME + " does not exist");
            assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1");
            cluster.client().resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata()
                    .withName(KillSwitch.NAME).withNamespace(ns.name()).endMetadata().addToData(KillSwitch.KEY, "false").build())
                    .create();
            await().atMost(Duration.ofSeconds(40)).until(() -> templateCpu(cluster.client(), ns).equals("1250m"));
        }
        ResourceTuningPolicy p = awaitStatus(cluster.client(), ns, x -> "Applied".equals(x.getStatus().getLastAction().getResult()));
        assertThat(p.getStatus().getLastAction().getMessage()).contains("ResourceQuota");
        assertThat(actions(TunerMetrics.ActionResult.REFUSED)).as("the kill switch's refusals").isPositive();
        assertThat(actions(TunerMetrics.ActionResult.APPLIED)).isPositive();
    }

    @SideBySide
    void inPlaceResizesRunningPodsThroughPodsResizeWithinTheNodesRoom(TestCluster cluster, TestNamespace ns) throws Exception {
        // 3 cores allocatable, 2 requested: room for one pod to grow to 2 cores, none for the second.
        workload(cluster.client(), ns, "node-" + ns.name(), "3");
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
        cluster.client().resource(policy(ns, "InPlace", "100m", "4")).create();
        ResourceTuningPolicy p = awaitStatus(cluster.client(), ns, x -> !x.getStatus().getContainers().isEmpty()
                && x.getStatus().getContainers().getFirst().getActions().size() == 2);
        String one = podCpu(cluster.client(), ns, "web-1");
        String two = podCpu(cluster.client(), ns, "web-2");
        assertThat(List.of(one, two)).containsExactlyInAnyOrder("2", "1");
        assertThat(p.getStatus().getContainers().getFirst().getActions())
                .anyMatch(a -> a.endsWith(": Resized"))
                // The other pod's CPU raise is cut to nothing by the node's room; its memory still moves.
                .anyMatch(a -> a.contains("cpu request raise to 2000m cut to 1000m by the node's allocatable"));
        assertThat(templateCpu(cluster.client(), ns)).as("InPlace leaves the template alone").isEqualTo("1");
        assertThat(actions(TunerMetrics.ActionResult.RESIZED)).isPositive();
    }

    @SideBySide
    void invalidPoliciesGetAPreciseInvalidConditionAndCauseNoAction(TestCluster cluster, TestNamespace ns) throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofSeconds(5));
        // Cross-field mistakes never get in: the CRD's CEL rules refuse them at admission, naming the field.
        refusedAtAdmission(cluster.client(), policy(ns, "Apply", "2", "1"), "spec.containers[0]", "minCpu must not be above maxCpu");
        var memory = policy(ns, "Apply", "100m", "4");
        memory.getSpec().getContainers().getFirst().setMinMemory(new Quantity("8Gi"));
        refusedAtAdmission(cluster.client(), memory, "spec.containers[0]", "minMemory must not be above maxMemory");
        var twice = policy(ns, "Apply", "100m", "4");
        twice.getSpec().setContainers(List.of(twice.getSpec().getContainers().getFirst(), twice.getSpec().getContainers().getFirst()));
        refusedAtAdmission(cluster.client(), twice, "spec.containers", "each container name (and '*') may be listed once");
        var lift = policy(ns, "Apply", "100m", "4");
        lift.getSpec().getLimits().setManaged(false);
        lift.getSpec().getLimits().setLiftCpuLimit(true);
        refusedAtAdmission(cluster.client(), lift, "spec.limits", "liftCpuLimit needs managed: true");
        var notAQuantity = policy(ns, "Apply", "100m", "4");
        notAQuantity.getSpec().getContainers().getFirst().setMaxCpu(new Quantity("lots"));
        refusedAtAdmission(cluster.client(), notAQuantity, "spec.containers[0]", "must be Kubernetes quantities");
        var everything = policy(ns, "Apply", "100m", "4");
        everything.getSpec().getTarget().setSelector(new io.fabric8.kubernetes.api.model.LabelSelector());
        refusedAtAdmission(cluster.client(), everything, "spec.target.selector", "an empty selector would select every workload");
        var blankManager = policy(ns, "Apply", "100m", "4");
        blankManager.getSpec().setTakeOverFrom(List.of(""));
        refusedAtAdmission(cluster.client(), blankManager, "spec.takeOverFrom", "each entry is a field manager name");
        // What only the controller can know gets through admission and is reported: bounds no node could hold.
        cluster.client().resource(policy(ns, "Apply", "64", "128")).create();
        awaitStatus(cluster.client(), ns, x -> condition(x, TuningReconciler.INVALID).map(Condition::getMessage)
                .orElse("").contains("more than the largest node can allocate"));
        cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web")
                .edit(x -> { x.getSpec().getContainers().getFirst().setMinCpu(new Quantity("100m"));
                    x.getSpec().getContainers().getFirst().setMaxCpu(new Quantity("4"));
                    x.getSpec().getTarget().setSelector(new LabelSelectorBuilder().addToMatchLabels("app", "nothing").build());
                    return x; });
        ResourceTuningPolicy none = awaitStatus(cluster.client(), ns, x -> condition(x, TuningReconciler.INVALID)
                .map(c -> "NoTargets".equals(c.getReason())).orElse(false));
        assertThat(condition(none, TuningReconciler.INVALID).orElseThrow().getMessage())
                .isEqualTo("spec.target.selector matches no [Deployment] in namespace " + ns.name());
        assertThat(registry.find(TunerMetrics.CURRENT_CPU_CORES).gauges()).as("an invalid policy reports no container").isEmpty();
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1");
        // An unknown mode never gets that far: the generated schema refuses it at admission, naming the field.
        var unknown = policy(ns, "Sometimes", "100m", "4");
        unknown.getMetadata().setName("unknown-mode");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> cluster.client().resource(unknown).create())
                .isInstanceOf(io.fabric8.kubernetes.client.KubernetesClientException.class)
                .hasMessageContaining("spec.mode").hasMessageContaining("Sometimes");
    }

    static void refusedAtAdmission(KubernetesClient client, ResourceTuningPolicy policy, String field, String message) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.resource(policy).create())
                .isInstanceOf(io.fabric8.kubernetes.client.KubernetesClientException.class)
                .hasMessageContaining(field).hasMessageContaining(message)
                .satisfies(e -> assertThat(((io.fabric8.kubernetes.client.KubernetesClientException) e).getCode()).isEqualTo(422));
    }

    @SideBySide
    void anUnreachablePrometheusGivesSignalsMissingAndNoAction(TestCluster cluster, TestNamespace ns) throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        startTuner(cluster, ns, URI.create("http://127.0.0.1:" + PrometheusServer.freePort()), () -> false, Duration.ofSeconds(5));
        cluster.client().resource(policy(ns, "Apply", "100m", "4")).create();
        ResourceTuningPolicy p = awaitStatus(cluster.client(), ns, x -> condition(x, TuningReconciler.SIGNALS_MISSING)
                .map(c -> "True".equals(c.getStatus())).orElse(false));
        assertThat(condition(p, TuningReconciler.SIGNALS_MISSING).orElseThrow().getReason()).isEqualTo("PrometheusUnavailable");
        assertThat(condition(p, TuningReconciler.SIGNALS_MISSING).orElseThrow().getMessage()).contains("did not answer");
        assertThat(condition(p, Conditions.READY).orElseThrow().getStatus()).isEqualTo("False");
        Thread.sleep(2000);
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1");
        assertThat(p.getStatus().getLastAction()).isNull();
        assertThat(registry.get(TunerMetrics.SIGNAL_FAILURES_TOTAL).counter().count()).isPositive();
        assertThat(actions(TunerMetrics.ActionResult.APPLIED)).isZero();
    }

    @SideBySide
    void policyBoundsCutTheRecommendationAndTheCoolDownHoldsTheNextChange(TestCluster cluster, TestNamespace ns) throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
        cluster.client().resource(policy(ns, "Apply", "100m", "1500m")).create();
        await().atMost(Duration.ofSeconds(40)).until(() -> templateCpu(cluster.client(), ns).equals("1500m"));
        ResourceTuningPolicy first = awaitStatus(cluster.client(), ns, x -> x.getStatus().getLastAction() != null);
        assertThat(first.getStatus().getContainers().getFirst().getFindings()).anyMatch(f -> f.startsWith("BOUNDS"));
        // A spec change asks for more right away: the cool-down (5m between raises) holds it.
        cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web")
                .edit(x -> { x.getSpec().getContainers().getFirst().setMaxCpu(new Quantity("4")); return x; });
        // The recommender already holds the raise (and the guardrail would refuse it if it did not): no change.
        ResourceTuningPolicy held = awaitStatus(cluster.client(), ns, x -> Long.valueOf(2).equals(x.getStatus().getObservedGeneration())
                && !x.getStatus().getContainers().isEmpty());
        assertThat(held.getStatus().getContainers().getFirst().getFindings()).anyMatch(f -> f.startsWith("COOL_DOWN(cpu)"));
        assertThat(held.getStatus().getContainers().getFirst().getActions()).allMatch(a -> a.contains("NoChange"));
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1500m");
        // The policy deleted and created again has no status: the Deployment's own record of the tuner's last apply
        // (its managedFields entry) still holds the cool-down.
        cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web").delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.client().resources(ResourceTuningPolicy.class)
                .inNamespace(ns.name()).withName("web").get() == null);
        cluster.client().resource(policy(ns, "Apply", "100m", "4")).create();
        ResourceTuningPolicy again = awaitStatus(cluster.client(), ns, x -> !x.getStatus().getContainers().isEmpty());
        assertThat(again.getStatus().getContainers().getFirst().getFindings()).anyMatch(f -> f.startsWith("COOL_DOWN(cpu)"));
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1500m");
    }

    @SideBySide
    void aChangeThatWouldMakeABurstablePodGuaranteedIsRefused(TestCluster cluster, TestNamespace ns) throws Exception {
        // Requests 1 CPU / 1 GiB, limits 2 CPU / 1 GiB, working set 900 MiB: the recommendation (CPU request to the 2-CPU
        // limit, memory to 1035 MiB with the limit following) would make requests equal limits: Guaranteed.
        workload(cluster.client(), ns, "node-" + ns.name(), "8", res("1", "1Gi"), res("2", "1Gi"),
                ScriptedExporter.Profile.noisyNeighbour(900L << 20));
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
        ResourceTuningPolicy p = policy(ns, "Apply", "100m", "2");
        cluster.client().resource(p).create();
        ResourceTuningPolicy refused = awaitStatus(cluster.client(), ns, x -> x.getStatus().getLastAction() != null);
        assertThat(refused.getStatus().getLastAction().getResult()).isEqualTo("Refused");
        assertThat(refused.getStatus().getLastAction().getMessage()).startsWith("QOS_CLASS")
                .contains("from Burstable into Guaranteed");
        assertThat(actions(TunerMetrics.ActionResult.REFUSED)).isPositive();
        assertThat(actions(TunerMetrics.ActionResult.APPLIED)).isZero();
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1");
    }

    // ---- Never fight other owners (issue 20) ----

    @SideBySide
    void applyNeverTakesResourcesAnotherFieldManagerOwnsUnlessThePolicyNamesIt(TestCluster cluster, TestNamespace ns)
            throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        // A GitOps tool owns the Deployment: it is deleted and applied again by Argo CD's field manager alone.
        Deployment gitops = cluster.client().apps().deployments().inNamespace(ns.name()).withName("web").get();
        gitops.setStatus(null);
        gitops.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace(ns.name()).withLabels(gitops.getMetadata()
                .getLabels()).build());
        cluster.client().apps().deployments().inNamespace(ns.name()).withName("web").withGracePeriod(0).delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.client().apps().deployments().inNamespace(ns.name())
                .withName("web").get() == null);
        cluster.client().resource(gitops).fieldManager("argocd-controller").serverSideApply();
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofSeconds(2));
        ResourceTuningPolicy policy = policy(ns, "Apply", "100m", "4");
        policy.getSpec().setTakeOverFrom(List.of());
        cluster.client().resource(policy).create();
        ResourceTuningPolicy held = awaitStatus(cluster.client(), ns, x -> condition(x, TuningReconciler.FIELD_CONFLICT)
                .map(c -> "True".equals(c.getStatus())).orElse(false));
        assertThat(condition(held, TuningReconciler.FIELD_CONFLICT).orElseThrow().getMessage())
                .contains("Deployment/web container app").contains("owned by field manager argocd-controller")
                .contains("spec.takeOverFrom");
        assertThat(held.getStatus().getLastAction().getResult()).isEqualTo("Refused");
        assertThat(held.getStatus().getLastAction().getMessage()).startsWith("FIELD_OWNERSHIP")
                .contains(".spec.template.spec.containers[name=\"app\"].resources.requests.cpu");
        Thread.sleep(3000); // more passes: still nothing taken
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1");
        assertThat(cpuRequestManagers(cluster.client(), ns)).containsExactly("argocd-controller");
        // The policy names the manager: the tuner takes the fields (and owns them from then on).
        cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web")
                .edit(x -> { x.getSpec().setTakeOverFrom(List.of("argocd-controller")); return x; });
        await().atMost(Duration.ofSeconds(40)).until(() -> templateCpu(cluster.client(), ns).equals("2"));
        assertThat(cpuRequestManagers(cluster.client(), ns)).containsExactly(TuningSettings.defaults().fieldManager());
        ResourceTuningPolicy taken = awaitStatus(cluster.client(), ns, x -> "Applied".equals(x.getStatus().getLastAction().getResult()));
        assertThat(taken.getStatus().getLastAction().getMessage()).contains("took").contains("from argocd-controller");
    }

    @SideBySide
    void twoContainersOfOneWorkloadChangedInOnePassBothKeepTheirNewResources(TestCluster cluster, TestNamespace ns)
            throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8", res("1", "1Gi"), res("2", "2Gi"),
                ScriptedExporter.Profile.noisyNeighbour(), List.of("app", "sidecar"));
        // The deployment controller writes the Deployment's status all the time (every rollout): the tuner's applies must
        // not depend on the resourceVersion it listed.
        Thread churn = Thread.ofVirtual().start(() -> {
            for (int i = 1; !Thread.currentThread().isInterrupted(); i++) {
                try {
                    var d = cluster.client().apps().deployments().inNamespace(ns.name()).withName("web").get();
                    d.setStatus(new io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder().withObservedGeneration(
                            d.getMetadata().getGeneration()).withReplicas(2).withUpdatedReplicas(i % 3).build());
                    cluster.client().resource(d).updateStatus();
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException conflict) {
                    // a 409 with the tuner's own write: the next round reads again
                }
            }
        });
        ResourceTuningPolicy p;
        try {
            startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
            cluster.client().resource(policy(ns, "Apply", "100m", "4")).create();
            p = awaitStatus(cluster.client(), ns, x -> x.getStatus().getContainers().size() == 2
                    && x.getStatus().getContainers().stream().allMatch(c -> c.getActions().stream().anyMatch(a -> a.contains("Applied"))));
        } finally {
            churn.interrupt();
        }
        var containers = cluster.client().apps().deployments().inNamespace(ns.name()).withName("web").get().getSpec().getTemplate()
                .getSpec().getContainers();
        // Each apply states the tuner's whole intent for the workload: the second container's apply keeps the first's change.
        for (var c : containers) {
            assertThat(c.getResources().getRequests()).as(c.getName() + " in " + p.getStatus().getContainers())
                    .containsEntry("cpu", new Quantity("2"));
        }
        var d = cluster.client().apps().deployments().inNamespace(ns.name()).withName("web").get();
        assertThat(TemplateApply.ownedContainers(d, TuningSettings.defaults().fieldManager())).containsExactly("app", "sidecar");
    }

    /** The field managers that own the app container's CPU request in the Deployment's template. */
    static List<String> cpuRequestManagers(KubernetesClient client, TestNamespace ns) {
        var d = client.apps().deployments().inNamespace(ns.name()).withName("web").get();
        return d.getMetadata().getManagedFields().stream().filter(m -> Serialization.asJson(m.getFieldsV1())
                .contains("\\\"name\\\":\\\"app\\\"") && Serialization.asJson(m.getFieldsV1()).matches(
                        "(?s).*\"f:requests\":\\{[^}]*\"f:cpu\".*")).map(m -> m.getManager()).toList();
    }

    @SideBySide
    void theNewerOfTwoPoliciesOnOneWorkloadGetsAConflictAndActsOnNothing(TestCluster cluster, TestNamespace ns) throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofSeconds(2));
        cluster.client().resource(policy(ns, "Recommend", "100m", "4")).create();
        awaitStatus(cluster.client(), ns, x -> !x.getStatus().getContainers().isEmpty());
        Thread.sleep(1100); // creation timestamps have whole seconds: the second policy is strictly newer
        ResourceTuningPolicy newer = policy(ns, "Apply", "100m", "4");
        newer.getMetadata().setName("web-apply");
        cluster.client().resource(newer).create();
        ResourceTuningPolicy[] seen = new ResourceTuningPolicy[1];
        await().atMost(Duration.ofSeconds(40)).until(() -> {
            seen[0] = cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web-apply").get();
            return seen[0].getStatus() != null && condition(seen[0], TuningReconciler.CONFLICT).isPresent();
        });
        Condition conflict = condition(seen[0], TuningReconciler.CONFLICT).orElseThrow();
        assertThat(conflict.getStatus()).isEqualTo("True");
        assertThat(conflict.getMessage()).isEqualTo("Deployment/web is also selected by the older policy web (created "
                + cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web").get()
                .getMetadata().getCreationTimestamp() + "); this policy takes no action while both select it");
        assertThat(condition(seen[0], Conditions.READY).orElseThrow().getStatus()).isEqualTo("False");
        Thread.sleep(3000);
        assertThat(templateCpu(cluster.client(), ns)).as("the newer Apply policy changed nothing").isEqualTo("1");
        assertThat(actions(TunerMetrics.ActionResult.APPLIED)).isZero();
        // The older one is not in conflict; once it is gone the newer one acts.
        assertThat(condition(cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web").get(),
                TuningReconciler.CONFLICT).orElseThrow().getStatus()).isEqualTo("False");
        cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web").delete();
        await().atMost(Duration.ofSeconds(40)).until(() -> templateCpu(cluster.client(), ns).equals("2"));
    }

    @SideBySide
    void aStatusWriteThatLosesARaceMergesAndKeepsTheOtherWritersLastChanged(TestCluster cluster, TestNamespace ns)
            throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8");
        this.cluster = cluster;
        this.namespace = ns;
        installCrd(cluster.client());
        // A second targeted workload, scaled to zero: this pass writes no entry for it.
        cluster.client().resource(new DeploymentBuilder().withNewMetadata().withName("api").withNamespace(ns.name())
                .addToLabels("app", "web").endMetadata().withNewSpec().withReplicas(0)
                .withSelector(new LabelSelectorBuilder().addToMatchLabels("app", "api").build()).withNewTemplate()
                .withNewMetadata().addToLabels("app", "api").endMetadata().withNewSpec().addNewContainer().withName("app")
                .withImage("example/api:1").endContainer().endSpec().endTemplate().endSpec().build()).create();
        ResourceTuningPolicy created = cluster.client().resource(policy(ns, "Recommend", "100m", "4")).create();
        // Another writer (the replica that held this shard a moment ago) records a change and a second workload.
        String changedAt = Instant.now().minusSeconds(30).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        ResourceTuningPolicy theirs = Serialization.clone(created);
        var status = new dev.flotilla.tuning.api.ResourceTuningPolicyStatus();
        for (String workload : List.of("Deployment/web", "Deployment/api", "StatefulSet/db")) {
            var entry = new dev.flotilla.tuning.api.ContainerRecommendation();
            entry.setWorkload(workload);
            entry.setContainer("app");
            entry.setLastChanged(changedAt);
            status.getContainers().add(entry);
        }
        theirs.setStatus(status);
        cluster.client().resource(theirs).updateStatus();
        // This replica's pass still sees the policy as created (its cache is behind): its status write conflicts.
        PrometheusSignals signals = new PrometheusSignals(new PrometheusClient(prometheus.uri(), Duration.ofSeconds(3)),
                SignalMetrics.defaults(), Duration.ofMinutes(3), Duration.ofSeconds(2), Duration.ofSeconds(10));
        var reconciler = new TuningReconciler(cluster.client(), signals, TuningSettings.defaults(), new TunerMetrics(registry));
        var stale = new dev.flotilla.core.reconcile.Cache<ResourceTuningPolicy>() {
            public Optional<ResourceTuningPolicy> get(dev.flotilla.core.reconcile.ObjectKey key) {
                return Optional.of(created);
            }

            public List<ResourceTuningPolicy> list() {
                return List.of(created);
            }

            public List<ResourceTuningPolicy> list(String namespace) {
                return List.of(created);
            }

            public int size() {
                return 1;
            }
        };
        reconciler.reconcile(new dev.flotilla.core.reconcile.Request<>(dev.flotilla.core.reconcile.ObjectKey.of(created), stale));
        ResourceTuningPolicy after = cluster.client().resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName("web")
                .get();
        var web = after.getStatus().getContainers().stream().filter(c -> c.getWorkload().equals("Deployment/web")).findFirst()
                .orElseThrow();
        assertThat(web.getRecommended()).as("this pass's recommendation was written").isNotNull();
        assertThat(web.getLastChanged()).as("the other writer's cool-down memory survived").isEqualTo(changedAt);
        assertThat(after.getStatus().getContainers()).extracting(c -> c.getWorkload())
                .as("the other writer's entry for a targeted workload survived; one for a workload not targeted did not")
                .contains("Deployment/api").doesNotContain("StatefulSet/db");
    }

    @SideBySide
    void aThrottledGuaranteedContainerGetsItsLimitAndRequestRaisedTogetherAndStaysGuaranteed(TestCluster cluster,
            TestNamespace ns) throws Exception {
        workload(cluster.client(), ns, "node-" + ns.name(), "8", res("1", "1Gi"), res("1", "1Gi"),
                ScriptedExporter.Profile.selfThrottling());
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
        cluster.client().resource(policy(ns, "Apply", "100m", "4")).create();
        ResourceTuningPolicy p = awaitStatus(cluster.client(), ns, x -> x.getStatus().getLastAction() != null);
        assertThat(p.getStatus().getLastAction().getResult()).as(p.getStatus().getLastAction().getMessage()).isEqualTo("Applied");
        assertThat(p.getStatus().getContainers().getFirst().getFindings())
                .anyMatch(f -> f.startsWith("SELF_THROTTLING") && f.contains("raising the limit and the request together"));
        var resources = cluster.client().apps().deployments().inNamespace(ns.name()).withName("web").get().getSpec().getTemplate()
                .getSpec().getContainers().getFirst().getResources();
        // About 40% of periods throttled: the 1-core limit is raised x(1 + 2 x ratio), at least x1.25, and the request
        // goes with it (Guaranteed stays Guaranteed).
        long limit = dev.flotilla.tuning.quantity.Resources.millis(resources.getLimits().get("cpu")).orElseThrow();
        assertThat(limit).isBetween(1250L, 2000L);
        assertThat(resources.getRequests().get("cpu")).isEqualTo(resources.getLimits().get("cpu"));
        assertThat(resources.getRequests().get("memory")).isEqualTo(resources.getLimits().get("memory"));
    }

    @SideBySide
    void applyKeepsTheTemplatesNewPodsAdmissibleUnderALimitRangesDefaultLimitAndRatio(TestCluster cluster, TestNamespace ns)
            throws Exception {
        // No CPU limit in the template: new pods get the LimitRange's default of 1500m, so a 2-core request would be refused.
        // Memory 1Gi/2Gi under a ratio of 2: the 600 MiB working set would lower the request, which the ratio forbids.
        workload(cluster.client(), ns, "node-" + ns.name(), "8", res("1", "1Gi"), Map.of("memory", new Quantity("2Gi")),
                ScriptedExporter.Profile.noisyNeighbour());
        cluster.client().resource(new LimitRangeBuilder().withNewMetadata().withName("limits").withNamespace(ns.name())
                .endMetadata().withNewSpec().addNewLimit().withType("Container").withDefault(Map.of("cpu", new Quantity("1500m")))
                .withMaxLimitRequestRatio(Map.of("memory", new Quantity("2"))).endLimit().endSpec().build()).create();
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
        cluster.client().resource(policy(ns, "Apply", "100m", "4")).create();
        ResourceTuningPolicy p = awaitStatus(cluster.client(), ns, x -> x.getStatus().getLastAction() != null);
        var entry = p.getStatus().getContainers().getFirst();
        System.out.printf("limit range: recommended %s, applied template %s, action %s%n", Serialization.asJson(entry.getRecommended()),
                Serialization.asJson(cluster.client().apps().deployments().inNamespace(ns.name()).withName("web").get().getSpec()
                        .getTemplate().getSpec().getContainers().getFirst().getResources()), p.getStatus().getLastAction().getMessage());
        assertThat(p.getStatus().getLastAction().getResult()).isEqualTo("Applied");
        // Judged by the REAL API server: a pod of the new template passes the LimitRanger and pod validation.
        Pod admitted = cluster.client().resource(podFromTemplate(cluster.client(), ns, "web", "probe")).dryRun().create();
        assertThat(admitted.getSpec().getContainers().getFirst().getResources().getLimits()).containsEntry("cpu", new Quantity("1500m"));
        assertThat(templateCpu(cluster.client(), ns)).isEqualTo("1500m");
    }

    /** A 2-replica Deployment {@code name} (targeted by {@code app=web}) and its pods {@code name-1}, {@code name-2}. */
    static void deploymentWithPods(KubernetesClient client, TestNamespace ns, String name, String node) {
        var resources = new ResourceRequirementsBuilder().withRequests(res("1", "1Gi")).withLimits(res("2", "2Gi")).build();
        var container = new ContainerBuilder().withName("app").withImage("example/" + name + ":1").withResources(resources).build();
        client.resource(new DeploymentBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).addToLabels("app", "web")
                .endMetadata().withNewSpec().withReplicas(2).withSelector(new LabelSelectorBuilder().addToMatchLabels("workload", name)
                .build()).withNewTemplate().withNewMetadata().addToLabels("workload", name).endMetadata().withNewSpec()
                .withContainers(container).endSpec().endTemplate().endSpec().build()).create();
        for (String pod : List.of(name + "-1", name + "-2")) {
            client.resource(new PodBuilder().withNewMetadata().withName(pod).withNamespace(ns.name()).addToLabels("workload", name)
                    .endMetadata().withNewSpec().withNodeName(node).withContainers(container).endSpec().build()).create();
            exporter.register(ns.name(), pod, "app", ScriptedExporter.Profile.noisyNeighbour());
        }
    }

    static Pod podFromTemplate(KubernetesClient client, TestNamespace ns, String deployment, String name) {
        var template = client.apps().deployments().inNamespace(ns.name()).withName(deployment).get().getSpec().getTemplate();
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).addToLabels("probe", deployment)
                .endMetadata().withSpec(template.getSpec()).build();
    }

    @SideBySide
    void applyLeavesQuotaRoomForEveryRolloutsSurgeAndSharesItAcrossOnePass(TestCluster cluster, TestNamespace ns)
            throws Exception {
        var client = cluster.client();
        String node = "node-" + ns.name();
        client.resource(new NodeBuilder().withNewMetadata().withName(node).endMetadata().build()).create();
        deploymentWithPods(client, ns, "api", node);
        deploymentWithPods(client, ns, "web", node);
        var webBefore = client.apps().deployments().inNamespace(ns.name()).withName("web").get().getSpec().getTemplate();
        // 4 pods of 1 core use 4; 7 allowed. Each rollout surges by 1 pod (25% of 2, rounded up). No controller counts
        // here, so the quota's status is written as the quota controller would.
        client.resource(new ResourceQuotaBuilder().withNewMetadata().withName("quota").withNamespace(ns.name()).endMetadata()
                .withNewSpec().withHard(Map.of("requests.cpu", new Quantity("7"))).endSpec().build()).create();
        setQuotaUsed(client, ns, 4000);
        PrometheusClient prom = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(3));
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofSeconds(1)).until(() -> !prom.rangeQuery(
                "histogram_quantile(0.99, sum by (le) (rate(" + dev.flotilla.tuning.signals.SignalMetric.RUN_QUEUE_LATENCY_BUCKET.defaultName() + "{namespace=\"" + ns.name()
                        + "\"}[10s])))", Instant.now().minusSeconds(30), Instant.now(), Duration.ofSeconds(2)).isEmpty());
        Thread.sleep(4000);
        startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
        client.resource(policy(ns, "Apply", "100m", "4")).create();
        ResourceTuningPolicy p = awaitStatus(client, ns, x -> x.getStatus().getContainers().size() == 2);
        System.out.printf("quota: api %s, web %s; actions %s%n", templateCpu(client, ns, "api"), templateCpu(client, ns, "web"),
                p.getStatus().getContainers().stream().map(c -> c.getActions().toString()).toList());
        // Judged by the REAL ResourceQuota admission: play the peak of every rollout the pass started, at once. Each changed
        // Deployment first adds its surge pod of the new template beside its two old pods; then one old pod goes and the
        // second new pod comes, so both new pods and one old pod run together.
        List<String> changed = List.of("api", "web").stream().filter(d -> !(d.equals("web") && webBefore.equals(
                client.apps().deployments().inNamespace(ns.name()).withName("web").get().getSpec().getTemplate()))).toList();
        for (String d : changed) {
            client.resource(podFromTemplate(client, ns, d, d + "-new-1")).create();
        }
        for (String d : changed) {
            client.pods().inNamespace(ns.name()).withName(d + "-1").withGracePeriod(0).delete();
            setQuotaUsed(client, ns, quotaUsed(client, ns) - 1000); // what the quota controller would count down
            client.resource(podFromTemplate(client, ns, d, d + "-new-2")).create();
        }
        System.out.printf("quota: rollouts of %s peaked at %dm of 7000m%n", changed, quotaUsed(client, ns));
        assertThat(quotaUsed(client, ns)).isLessThanOrEqualTo(7000);
        assertThat(changed).as("the api rollout takes the room; web's surge pod would not fit").containsExactly("api");
        assertThat(templateCpu(client, ns, "api")).isEqualTo("2");
    }

    static String templateCpu(KubernetesClient client, TestNamespace ns, String deployment) {
        return client.apps().deployments().inNamespace(ns.name()).withName(deployment).get().getSpec().getTemplate().getSpec()
                .getContainers().getFirst().getResources().getRequests().get("cpu").toString();
    }

    private static long quotaUsed(KubernetesClient client, TestNamespace ns) {
        return Resources.millis(client.resourceQuotas().inNamespace(ns.name()).withName("quota").get().getStatus().getUsed()
                .get("requests.cpu")).getAsLong();
    }

    private static void setQuotaUsed(KubernetesClient client, TestNamespace ns, long cpuMillis) {
        var quota = client.resourceQuotas().inNamespace(ns.name()).withName("quota").get();
        quota.setStatus(new io.fabric8.kubernetes.api.model.ResourceQuotaStatusBuilder().withHard(quota.getSpec().getHard())
                .withUsed(Map.of("requests.cpu", Resources.cpu(cpuMillis))).build());
        client.resource(quota).updateStatus();
    }

    @SideBySide
    void inPlaceCountsOtherPodsInitContainersAndOverheadInTheNodesRoom(TestCluster cluster, TestNamespace ns) throws Exception {
        var client = cluster.client();
        String node = "node-" + ns.name();
        String runtimeClass = "rc-" + ns.name();
        client.resource(new io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder().withNewMetadata().withName(runtimeClass)
                .endMetadata().withHandler("runc").withNewOverhead().withPodFixed(Map.of("cpu", new Quantity("250m"))).endOverhead()
                .build()).create();
        try {
            // 4 cores; web-1 and web-2 ask 1 each; "batch" runs a 500m container after a 1500m init container, with 250m of
            // RuntimeClass overhead: the scheduler counts it as 1750m. That leaves 250m: web-1 may grow to 1250m, web-2 not.
            workload(client, ns, node, "4");
            client.resource(new PodBuilder().withNewMetadata().withName("batch").withNamespace(ns.name()).endMetadata().withNewSpec()
                    .withNodeName(node).withRuntimeClassName(runtimeClass)
                    .addToInitContainers(new ContainerBuilder().withName("migrate").withImage("example/migrate:1")
                            .withResources(new ResourceRequirementsBuilder().withRequests(res("1500m", "64Mi")).build()).build())
                    .addToContainers(new ContainerBuilder().withName("work").withImage("example/batch:1")
                            .withResources(new ResourceRequirementsBuilder().withRequests(res("500m", "64Mi")).build()).build())
                    .endSpec().build()).create();
            startTuner(cluster, ns, prometheus.uri(), () -> false, Duration.ofMinutes(5));
            client.resource(policy(ns, "InPlace", "100m", "4")).create();
            ResourceTuningPolicy p = awaitStatus(client, ns, x -> !x.getStatus().getContainers().isEmpty()
                    && x.getStatus().getContainers().getFirst().getActions().size() == 2);
            long web1 = Resources.millis(new Quantity(podCpu(client, ns, "web-1"))).getAsLong();
            long web2 = Resources.millis(new Quantity(podCpu(client, ns, "web-2"))).getAsLong();
            Pod batch = client.pods().inNamespace(ns.name()).withName("batch").get();
            long overhead = Resources.millis(batch.getSpec().getOverhead().get("cpu")).getAsLong();
            // The node's load as the scheduler counts it: each pod's max(init container, containers) plus its overhead.
            long load = web1 + web2 + Math.max(1500, 500) + overhead;
            System.out.printf("node: web-1 %dm, web-2 %dm, batch 1500m init / 500m + %dm overhead: %dm of 4000m; actions %s%n", web1,
                    web2, overhead, load, p.getStatus().getContainers().getFirst().getActions());
            assertThat(overhead).as("set by the RuntimeClass admission plugin").isEqualTo(250);
            assertThat(load).isLessThanOrEqualTo(4000);
            assertThat(List.of(web1, web2)).containsExactlyInAnyOrder(1250L, 1000L);
        } finally {
            client.resource(new io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder().withNewMetadata().withName(runtimeClass)
                    .endMetadata().withHandler("runc").build()).delete();
        }
    }
}
