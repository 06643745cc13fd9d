package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.tuning.api.ContainerPolicy;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.api.ResourceTuningPolicySpec;
import dev.flotilla.tuning.api.WorkloadKind;
import dev.flotilla.tuning.controller.ScriptedExporter;
import dev.flotilla.tuning.signals.PrometheusServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The tuner's least privilege judged by the API server: two sharded {@code flotilla run --prometheus-url} processes,
 * authenticated as the deploy's ServiceAccount bound to exactly the base's and the tuner component's RBAC, with the
 * tuner component's CRD as shipped, go through the tuner's paths ({@code Apply} policies patch a Deployment's and a
 * StatefulSet's template, an {@code InPlace} policy resizes running pods through {@code pods/resize}, all write status), fed by a
 * real Prometheus scraping scripted cAdvisor and eBPF series; the audit log then holds no forbidden answer, and every
 * permission the tuner's RBAC grants was used.
 */
@WithCluster(auditLog = true)
class DeployTunerAuditTest {

    @Test
    void replicasWithTheTunerApplyAndResizeWithoutOneForbiddenRequest(TestCluster cluster, TestNamespace ns) throws Exception {
        KubernetesClient admin = cluster.client();
        Path dir = Path.of("target", "deploy-tuner-audit");
        Files.createDirectories(dir);
        installShippedCrd(admin);
        shippedKillSwitch(admin, ns.name());
        // The StatefulSet's pods run under a RuntimeClass with overhead, which the tuner reads for its node fit.
        String runtimeClass = "rc-" + ns.name();
        admin.resource(new io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder().withNewMetadata().withName(runtimeClass)
                .endMetadata().withHandler("runc").withNewOverhead().withPodFixed(Map.of("cpu", new Quantity("50m"))).endOverhead()
                .build()).create();
        admin.serviceAccounts().inNamespace(ns.name()).resource(new ServiceAccountBuilder().withNewMetadata()
                .withName(DeployManifests.SERVICE_ACCOUNT).endMetadata().build()).create();
        ShippedRbac rbac = new ShippedRbac(true, ns.name(), "");
        rbac.grant(admin, DeployManifests.SERVICE_ACCOUNT, -1, -1, "");
        String node = "node-" + ns.name();
        String applied = name("apply", ns);
        String resized = name("inplace", ns);
        String stateful = name("sts", ns);
        List<Process> replicas = new ArrayList<>();
        try (ScriptedExporter exporter = new ScriptedExporter(); PrometheusServer prometheus = PrometheusServer.start(exporter.target())) {
            // 7 cores allocatable, 6 requested by the three workloads' pods: room for one in-place resize of one core.
            admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(node).endMetadata().build()).create();
            admin.nodes().resource(new NodeBuilder(admin.nodes().withName(node).get()).withNewStatus()
                    .withAllocatable(res("7", "16Gi")).withCapacity(res("7", "16Gi")).endStatus().build()).updateStatus();
            workload(admin, exporter, applied, node, false, null);
            workload(admin, exporter, resized, node, false, null);
            workload(admin, exporter, stateful, node, true, runtimeClass);
            Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, dir.resolve("kubeconfig"));
            for (int i = 0; i < 2; i++) {
                String pod = "flotilla-" + i;
                admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                        .withNewSpec().addNewContainer().withName("flotilla").withImage("flotilla").endContainer().endSpec()
                        .build()).create();
                replicas.add(DeployRbacAuditTest.start(dir.resolve(pod + ".log"), kubeconfig, ns.name(), pod,
                        "--prometheus-url", prometheus.uri().toString()));
            }
            admin.resource(policy(applied, "Apply", WorkloadKind.Deployment)).create();
            admin.resource(policy(resized, "InPlace", WorkloadKind.Deployment)).create();
            admin.resource(policy(stateful, "Apply", WorkloadKind.StatefulSet)).create();
            await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1))
                    .failFast("a replica exited", () -> replicas.stream().anyMatch(p -> !p.isAlive()))
                    .untilAsserted(() -> {
                        assertThat(templateCpu(admin, applied, false)).as("Apply raised the Deployment's CPU request")
                                .isNotEqualTo("1");
                        assertThat(templateCpu(admin, stateful, true)).as("Apply raised the StatefulSet's CPU request")
                                .isNotEqualTo("1");
                        assertThat(List.of(podCpu(admin, resized, "web-1"), podCpu(admin, resized, "web-2")))
                                .as("InPlace resized a running pod").isNotEqualTo(List.of("1", "1"));
                    });
            for (Process p : replicas) {
                new ProcessBuilder("kill", "-TERM", String.valueOf(p.pid())).start().waitFor();
            }
            for (Process p : replicas) {
                assertThat(p.waitFor(45, TimeUnit.SECONDS)).as("a replica exits on SIGTERM").isTrue();
            }
            // Each replica probed Prometheus once at the start and said so in one line.
            for (int i = 0; i < 2; i++) {
                assertThat(Files.readAllLines(dir.resolve("flotilla-" + i + ".log")))
                        .filteredOn(l -> l.contains("Prometheus answered")).as("the start-up probe's line").hasSize(1);
            }
        } finally {
            replicas.forEach(Process::destroyForcibly);
            rbac.revoke(admin);
            admin.resources(io.fabric8.kubernetes.api.model.node.v1.RuntimeClass.class).withName(runtimeClass).delete();
            admin.nodes().withName(node).delete();
        }

        String user = "system:serviceaccount:" + ns.name() + ":" + DeployManifests.SERVICE_ACCOUNT;
        List<AuditedRequest> requests = DeployRbacAuditTest.awaitAudited(cluster, user);
        List<AuditedRequest> forbidden = requests.stream().filter(r -> r.code() == 403).toList();
        Set<String> used = requests.stream().filter(r -> !r.resource().isEmpty() && !AuditedRequest.SELF_REVIEWS.contains(r.resource()))
                .map(r -> r.verb() + " " + DeployRbacAuditTest.resource(r)).collect(Collectors.toCollection(TreeSet::new));
        Set<String> granted = new TreeSet<>();
        DeployManifests.basePermissions().forEach(p -> granted.add(p.verb() + " " + p.resource()));
        Set<String> tuner = DeployManifests.tunerPermissions().stream().map(p -> p.verb() + " " + p.resource())
                .collect(Collectors.toCollection(TreeSet::new));
        granted.addAll(tuner);
        System.out.printf("DEPLOY-TUNER requests=%d forbidden=%d used=%s granted=%s%n", requests.size(), forbidden.size(), used,
                granted);
        assertThat(forbidden).as("requests of %s the server refused (403)", user).isEmpty();
        assertThat(used).as("what the replicas did, all of it granted").isSubsetOf(granted);
        Set<String> unused = new TreeSet<>(tuner);
        unused.removeAll(used);
        assertThat(unused).as("the tuner's grants never used").isEmpty();
    }

    /** The kill switch as the tuner component ships it (released), in {@code namespace} (the replicas' lease namespace). */
    static void shippedKillSwitch(KubernetesClient admin, String namespace) {
        ConfigMap killSwitch = (ConfigMap) DeployManifestsTest.documents(DeployManifests.files().get(DeployManifests.TUNER_KILL_SWITCH))
                .getFirst();
        killSwitch.getMetadata().setNamespace(namespace);
        admin.resource(killSwitch).create();
    }

    /** The CRD as deploy/components/tuner ships it (the build's copy), created once per cluster. */
    static void installShippedCrd(KubernetesClient admin) {
        CustomResourceDefinition crd = (CustomResourceDefinition) DeployManifestsTest.documents(
                DeployManifests.files().get(DeployManifests.TUNER_CRD)).getFirst();
        if (admin.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName()).get() == null) {
            admin.apiextensions().v1().customResourceDefinitions().resource(crd).create();
        }
        admin.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                .waitUntilCondition(c -> c.getStatus() != null && c.getStatus().getConditions() != null
                        && c.getStatus().getConditions().stream().anyMatch(x -> "Established".equals(x.getType())
                        && "True".equals(x.getStatus())), 30, TimeUnit.SECONDS);
    }

    private static String name(String tag, TestNamespace ns) {
        String n = tag + "-" + ns.name();
        return n.substring(0, Math.min(63, n.length())).replaceAll("-+$", "");
    }

    static Map<String, Quantity> res(String cpu, String memory) {
        return Map.of("cpu", new Quantity(cpu), "memory", new Quantity(memory));
    }

    /**
     * Namespace {@code namespace} with a 2-replica Deployment (or StatefulSet) "web" and its two pods on {@code node},
     * scripted as noisy neighbours.
     */
    static void workload(KubernetesClient admin, ScriptedExporter exporter, String namespace, String node,
            boolean stateful, String runtimeClass) {
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build()).create();
        var resources = new ResourceRequirementsBuilder().withRequests(res("1", "1Gi")).withLimits(res("2", "2Gi")).build();
        var template = new PodTemplateSpecBuilder().withNewMetadata().addToLabels("app", "web").endMetadata().withNewSpec()
                .addToContainers(new ContainerBuilder().withName("app").withImage("example/web:1").withResources(resources).build())
                .withRuntimeClassName(runtimeClass).endSpec().build();
        var selector = new LabelSelectorBuilder().addToMatchLabels("app", "web").build();
        if (stateful) {
            admin.resource(new StatefulSetBuilder().withNewMetadata().withName("web").withNamespace(namespace)
                    .addToLabels("app", "web").endMetadata().withNewSpec().withReplicas(2).withServiceName("web")
                    .withSelector(selector).withTemplate(template).endSpec().build()).create();
        } else {
            admin.resource(new DeploymentBuilder().withNewMetadata().withName("web").withNamespace(namespace)
                    .addToLabels("app", "web").endMetadata().withNewSpec().withReplicas(2).withSelector(selector)
                    .withTemplate(template).endSpec().build()).create();
        }
        for (String pod : stateful ? List.of("web-0", "web-1") : List.of("web-1", "web-2")) {
            admin.resource(new PodBuilder().withNewMetadata().withName(pod).withNamespace(namespace).addToLabels("app", "web")
                    .endMetadata().withNewSpec().withNodeName(node).addToContainers(new ContainerBuilder().withName("app")
                    .withImage("example/web:1").withResources(resources).build()).endSpec().build()).create();
            exporter.register(namespace, pod, "app", ScriptedExporter.Profile.noisyNeighbour());
        }
    }

    static ResourceTuningPolicy policy(String namespace, String mode, WorkloadKind kind) {
        ResourceTuningPolicy p = new ResourceTuningPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace(namespace).build());
        ResourceTuningPolicySpec spec = new ResourceTuningPolicySpec();
        spec.setMode(mode);
        spec.getTarget().setSelector(new LabelSelectorBuilder().addToMatchLabels("app", "web").build());
        spec.getTarget().setKinds(List.of(kind));
        ContainerPolicy c = new ContainerPolicy();
        c.setName("*");
        c.setMinCpu(new Quantity("100m"));
        c.setMaxCpu(new Quantity("4"));
        c.setMinMemory(new Quantity("64Mi"));
        c.setMaxMemory(new Quantity("4Gi"));
        spec.setContainers(List.of(c));
        // The workloads were created by this test's fabric8 client, whose field manager owns their resources.
        spec.setTakeOverFrom(List.of("fabric8-kubernetes-client"));
        p.setSpec(spec);
        return p;
    }

    private static String templateCpu(KubernetesClient admin, String namespace, boolean stateful) {
        var template = stateful ? admin.apps().statefulSets().inNamespace(namespace).withName("web").get().getSpec().getTemplate()
                : admin.apps().deployments().inNamespace(namespace).withName("web").get().getSpec().getTemplate();
        return template.getSpec().getContainers().getFirst().getResources().getRequests().get("cpu").toString();
    }

    private static String podCpu(KubernetesClient admin, String namespace, String pod) {
        return admin.pods().inNamespace(namespace).withName(pod).get().getSpec().getContainers().getFirst().getResources()
                .getRequests().get("cpu").toString();
    }
}
