package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.flotilla.cli.CliException;
import dev.flotilla.core.cache.WatchedNamespaces;
import dev.flotilla.core.rbac.ApiPermission;
import dev.flotilla.manager.cluster.StartupChecks;
import dev.flotilla.sharding.PodReference;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.testing.ApiServerBinaries;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.testing.docs.MarkdownBlocks;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/ on the REAL API server (RBAC authorizer on): every overlay renders with kubectl's Kustomize and passes a
 * server-side dry-run apply, and the shipped RBAC is exactly what the startup check asks for: with all of it the
 * check passes, and with any one verb of any rule removed the check names exactly that permission.
 */
@WithCluster
class DeployManifestsRealTest {

    /**
     * What a user installs: the base alone, with the tuner, the one-replica development variant, the Role-only one, with
     * the Prometheus Operator's ServiceMonitor and alerting rules, with the tuner and the eBPF node agent.
     */
    static final List<String> INSTALLS = List.of("base", "overlays/tuner", "overlays/dev", "overlays/namespaced",
            "overlays/monitoring", "overlays/node-agent");

    /** The node agent's namespace (deploy/components/node-agent), apart from flotilla-system's restricted profile. */
    static final String NODE_AGENT_NAMESPACE = "flotilla-node-agent";

    /** The Prometheus Operator's CRDs the monitoring component's objects are checked against. */
    static final List<String> OPERATOR_CRDS = List.of("servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com");

    @TempDir
    Path tmp;

    @Test
    void everyInstallRendersWithKustomizeAndPassesAServerSideDryRun(TestCluster cluster) throws Exception {
        Path kubeconfig = tmp.resolve("kubeconfig");
        Files.writeString(kubeconfig, cluster.kubeconfigYaml());
        // A dry-run creates nothing, so the namespaced objects need their namespace to exist for real.
        List<String> needed = new ArrayList<>(DeployManifests.EXAMPLE_NAMESPACES);
        needed.add(DeployManifests.NAMESPACE);
        for (String n : needed) {
            if (cluster.client().namespaces().withName(n).get() == null) {
                cluster.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(n).endMetadata().build())
                        .create();
            }
        }
        installOperatorCrds(kubeconfig);
        for (String install : INSTALLS) {
            Path dir = MarkdownBlocks.repositoryFile("deploy").resolve(install);
            Run rendered = kubectl("kustomize", dir.toString());
            assertThat(rendered.code()).as("kubectl kustomize %s: %s", install, rendered.out()).isZero();
            Path file = tmp.resolve(install.replace('/', '-') + ".yaml");
            Files.writeString(file, rendered.out());
            List<HasMetadata> objects = DeployManifestsTest.documents(rendered.out());
            createNamespacesOf(cluster, objects);
            assertThat(objects).as(install).extracting(HasMetadata::getKind).contains("Namespace", "ServiceAccount", "Role",
                    "RoleBinding", "Deployment", "Service");
            if (install.endsWith("namespaced")) {
                assertThat(objects).as("%s grants nothing cluster-wide", install).extracting(HasMetadata::getKind)
                        .doesNotContain("ClusterRole", "ClusterRoleBinding");
            } else {
                assertThat(objects).as(install).extracting(HasMetadata::getKind).contains("ClusterRole", "ClusterRoleBinding");
            }
            if (install.endsWith("monitoring")) {
                assertThat(objects).as(install).extracting(HasMetadata::getKind).contains("ServiceMonitor", "PrometheusRule");
            }
            Run applied = dryRun(kubeconfig, file);
            assertThat(applied.code()).as("server-side dry-run of %s: %s", install, applied.out()).isZero();
            assertThat(applied.out().lines().filter(l -> l.contains("(server dry run)")).count())
                    .as("objects applied in the dry-run of %s: %s", install, applied.out()).isEqualTo(objects.size());
            if (install.endsWith("node-agent")) {
                System.out.printf("DRY-RUN %s:%n%s", install, applied.out());
                assertThat(applied.out()).as(install).contains("daemonset.apps/flotilla-node-agent serverside-applied (server dry run)")
                        .contains("clusterrole.rbac.authorization.k8s.io/flotilla-node-agent serverside-applied (server dry run)")
                        .contains("service/flotilla-node-agent serverside-applied (server dry run)");
            }
        }
    }

    /** A dry-run creates nothing: the rendered Namespaces (with their Pod Security labels) are created for real first. */
    private static void createNamespacesOf(TestCluster cluster, List<HasMetadata> objects) {
        for (HasMetadata o : objects) {
            if (o instanceof io.fabric8.kubernetes.api.model.Namespace n
                    && cluster.client().namespaces().withName(n.getMetadata().getName()).get() == null) {
                cluster.client().namespaces().resource(n).create();
            }
        }
    }

    /**
     * The node agent with its ServiceMonitor component (what deploy/README.md tells an operator-run cluster to add) passes
     * a server-side dry-run against the operator's schema; and the agent's Pod, as its DaemonSet makes it, is admitted by
     * Pod Security in its own namespace ({@code privileged}) and refused under {@code baseline} and {@code restricted},
     * hence the namespace of its own beside flotilla-system's restricted one.
     */
    @Test
    void theNodeAgentWithItsServiceMonitorDryRunsAndItsPodIsAdmittedOnlyInItsOwnNamespace(TestCluster cluster) throws Exception {
        Path kubeconfig = tmp.resolve("kubeconfig");
        Files.writeString(kubeconfig, cluster.kubeconfigYaml());
        installOperatorCrds(kubeconfig);
        Path deploy = MarkdownBlocks.repositoryFile("deploy").toAbsolutePath().normalize();
        Path dir = tmp.resolve("node-agent-monitoring");
        Files.createDirectories(dir);
        // Kustomize refuses absolute paths to other kustomizations: relative ones, from this test's directory.
        Files.writeString(dir.resolve("kustomization.yaml"), """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                - %s
                components:
                - %s
                """.formatted(dir.relativize(deploy.resolve("overlays/node-agent")), dir.relativize(deploy.resolve("components/node-agent/monitoring"))));
        Run rendered = kubectl("kustomize", dir.toString());
        assertThat(rendered.code()).as(rendered.out()).isZero();
        List<HasMetadata> objects = DeployManifestsTest.documents(rendered.out());
        createNamespacesOf(cluster, objects);
        if (cluster.client().namespaces().withName(DeployManifests.NAMESPACE).get() == null) {
            cluster.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(DeployManifests.NAMESPACE)
                    .endMetadata().build()).create();
        }
        Path file = tmp.resolve("node-agent-monitoring.yaml");
        Files.writeString(file, rendered.out());
        Run applied = dryRun(kubeconfig, file);
        assertThat(applied.code()).as(applied.out()).isZero();
        assertThat(applied.out()).contains("servicemonitor.monitoring.coreos.com/flotilla-node-agent serverside-applied (server dry run)");

        var daemonSet = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.apps.DaemonSet)
                .map(o -> (io.fabric8.kubernetes.api.model.apps.DaemonSet) o).findFirst().orElseThrow();
        assertThat(daemonSet.getMetadata().getNamespace()).isEqualTo(NODE_AGENT_NAMESPACE);
        io.fabric8.kubernetes.api.model.Pod pod = new io.fabric8.kubernetes.api.model.PodBuilder()
                .withMetadata(daemonSet.getSpec().getTemplate().getMetadata()).editMetadata().withName("flotilla-node-agent-psa")
                .endMetadata().withSpec(daemonSet.getSpec().getTemplate().getSpec()).build();
        cluster.client().pods().inNamespace(NODE_AGENT_NAMESPACE).resource(pod).dryRun().create();
        for (String level : List.of("baseline", "restricted")) {
            String ns = "node-agent-psa-" + level;
            if (cluster.client().namespaces().withName(ns).get() == null) {
                cluster.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                        .addToLabels("pod-security.kubernetes.io/enforce", level).endMetadata().build()).create();
            }
            assertThatThrownBy(() -> cluster.client().pods().inNamespace(ns).resource(pod).dryRun().create())
                    .as("the agent's Pod under Pod Security %s", level)
                    .hasMessageContaining("violates PodSecurity \"" + level).hasMessageContaining("hostPath")
                    .hasMessageContaining("\"BPF\", \"PERFMON\"");
        }
    }

    /**
     * The dry-run above checks the monitoring objects against the operator's schema: a ServiceMonitor with a misspelt
     * field and a PrometheusRule whose {@code for} is not a Prometheus duration are each refused.
     */
    @Test
    void theOperatorsSchemaRefusesABrokenServiceMonitorOrPrometheusRule(TestCluster cluster) throws Exception {
        Path kubeconfig = tmp.resolve("kubeconfig");
        Files.writeString(kubeconfig, cluster.kubeconfigYaml());
        installOperatorCrds(kubeconfig);
        if (cluster.client().namespaces().withName(DeployManifests.NAMESPACE).get() == null) {
            cluster.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(DeployManifests.NAMESPACE)
                    .endMetadata().build()).create();
        }
        Path component = MarkdownBlocks.repositoryFile("deploy").resolve("components/monitoring");
        record Broken(String file, String from, String to, String error) {
        }
        for (Broken b : List.of(
                new Broken("servicemonitor.yaml", "bearerTokenFile:", "bearerTokenFiles:", ".bearerTokenFiles"),
                new Broken("servicemonitor.yaml", "insecureSkipVerify: true", "insecureSkipVerify: \"yes\"", "insecureSkipVerify"),
                new Broken("prometheusrule.yaml", "for: 15m", "for: 15 minutes", "spec.groups[2].rules[0].for"))) {
            String text = Files.readString(component.resolve(b.file()));
            Path shipped = tmp.resolve("shipped-" + b.file());
            Files.writeString(shipped, text);
            assertThat(dryRun(kubeconfig, shipped).code()).as("%s as shipped", b.file()).isZero();
            assertThat(text).contains(b.from());
            Path broken = tmp.resolve("broken-" + b.file());
            Files.writeString(broken, text.replaceFirst(java.util.regex.Pattern.quote(b.from()), b.to()));
            Run applied = dryRun(kubeconfig, broken);
            assertThat(applied.code()).as("%s with %s: %s", b.file(), b.to(), applied.out()).isNotZero();
            assertThat(applied.out()).as("%s with %s", b.file(), b.to()).contains(b.error());
        }
    }

    private static Run dryRun(Path kubeconfig, Path file) throws Exception {
        return kubectl("apply", "--server-side", "--dry-run=server", "--field-manager=flotilla-deploy-test",
                "--kubeconfig", kubeconfig.toString(), "-f", file.toString());
    }

    /**
     * Installs the Prometheus Operator's ServiceMonitor and PrometheusRule CRDs (fetched from its Go module by
     * scripts/prometheus-operator-crds.sh, a no-op once cached) and waits until the server serves them.
     */
    static void installOperatorCrds(Path kubeconfig) throws Exception {
        Process fetch = new ProcessBuilder("bash", MarkdownBlocks.repositoryFile("scripts/prometheus-operator-crds.sh").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String dir = new String(fetch.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(fetch.waitFor(300, TimeUnit.SECONDS)).as("fetching the Prometheus Operator's CRDs").isTrue();
        assertThat(fetch.exitValue()).as("scripts/prometheus-operator-crds.sh (its reason is on stderr)").isZero();
        Run installed = kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=flotilla-deploy-test",
                "--kubeconfig", kubeconfig.toString(), "-f", dir);
        assertThat(installed.code()).as("installing the CRDs of %s: %s", dir, installed.out()).isZero();
        List<String> wait = new ArrayList<>(List.of("wait", "--kubeconfig", kubeconfig.toString(), "--for=condition=Established",
                "--timeout=30s"));
        OPERATOR_CRDS.forEach(c -> wait.add("crd/" + c));
        Run established = kubectl(wait.toArray(String[]::new));
        assertThat(established.code()).as(established.out()).isZero();
    }

    /**
     * The Role-only overlay as rendered grants exactly what {@code flotilla run --namespaces} asks for, in the namespaces
     * its {@code --namespaces} argument lists: the controller's permissions in each, the Leases and the Pod in the lease
     * namespace, nothing cluster-wide; and every binding names the replicas' ServiceAccount.
     */
    @Test
    void theNamespacedOverlayGrantsExactlyWhatItsReplicasAskFor() throws Exception {
        Run rendered = kubectl("kustomize", MarkdownBlocks.repositoryFile("deploy").resolve("overlays/namespaced").toString());
        assertThat(rendered.code()).as(rendered.out()).isZero();
        List<HasMetadata> objects = DeployManifestsTest.documents(rendered.out());
        List<String> args = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.apps.Deployment)
                .map(o -> (io.fabric8.kubernetes.api.model.apps.Deployment) o).findFirst().orElseThrow()
                .getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs();
        // A Role cannot grant the cluster-scoped reviews of secure metrics: namespacedPermissions assumes this flag.
        assertThat(args).contains("--metrics-secure=false");
        String flag = args.stream().filter(a -> a.startsWith("--namespaces=")).findFirst().orElseThrow();
        List<String> listed = List.of(flag.substring("--namespaces=".length()).split(","));
        assertThat(listed).isEqualTo(DeployManifests.EXAMPLE_NAMESPACES);
        List<ApiPermission> granted = new ArrayList<>();
        for (HasMetadata o : objects) {
            String namespace = o instanceof Role ? o.getMetadata().getNamespace() : "";
            for (PolicyRule rule : ShippedRbac.rulesOf(o)) {
                for (String verb : rule.getVerbs()) {
                    granted.add(new ApiPermission(verb, rule.getApiGroups().getFirst(), rule.getResources().getFirst(), namespace));
                }
            }
            if (o instanceof RoleBinding b) {
                assertThat(b.getSubjects()).as("subjects of %s/%s", o.getMetadata().getNamespace(), o.getMetadata().getName())
                        .singleElement().satisfies(s -> {
                            assertThat(s.getName()).isEqualTo(DeployManifests.SERVICE_ACCOUNT);
                            assertThat(s.getNamespace()).isEqualTo(DeployManifests.NAMESPACE);
                        });
            }
        }
        assertThat(granted).containsExactlyInAnyOrderElementsOf(DeployManifests.namespacedPermissions(listed));
    }

    /**
     * Nothing unused and nothing missing: the base's and the tuner's RBAC (as the build wrote them, moved into the
     * test's namespace the way Kustomize's {@code namespace:} does) let the startup check of a replica with the tuner
     * pass; removing any one verb of any rule makes it name exactly that permission.
     */
    @Test
    void removingAnyVerbOfTheShippedRbacMakesTheStartupCheckNameExactlyThatPermission(TestCluster cluster, TestNamespace ns) {
        KubernetesClient admin = cluster.client();
        List<HasMetadata> shipped = new ShippedRbac(true, ns.name(), "").documents;
        List<ApiPermission> required = RunCommand.requiredPermissions(Optional.of(ShardingConfig.defaults("replica", ns.name())),
                Optional.of(new PodReference(ns.name(), "replica", "")), true, WatchedNamespaces.all(), true);

        // Every verb of every rule, as (document, rule, verb).
        record Removal(int doc, int rule, String verb, ApiPermission permission) {
        }
        List<Removal> removals = new ArrayList<>();
        for (int d = 0; d < shipped.size(); d++) {
            List<PolicyRule> rules = ShippedRbac.rulesOf(shipped.get(d));
            for (int r = 0; r < rules.size(); r++) {
                PolicyRule rule = rules.get(r);
                for (String verb : rule.getVerbs()) {
                    removals.add(new Removal(d, r, verb, new ApiPermission(verb, rule.getApiGroups().getFirst(),
                            rule.getResources().getFirst(), shipped.get(d) instanceof Role ? ns.name() : "")));
                }
            }
        }
        assertThat(removals).extracting(Removal::permission).containsExactlyInAnyOrderElementsOf(required);

        ShippedRbac all = new ShippedRbac(true, ns.name(), "all");
        all.grant(admin, "sa-all", -1, -1, "");
        try {
            Config as = asAccount(admin, ns, "sa-all");
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).untilAsserted(
                    () -> assertThat(StartupChecks.verify(as, "test", required)).startsWith("v1."));
        } finally {
            all.revoke(admin);
        }
        int i = 0;
        for (Removal removal : removals) {
            String tag = "r" + i++;
            ShippedRbac less = new ShippedRbac(true, ns.name(), tag);
            less.grant(admin, "sa-" + tag, removal.doc(), removal.rule(), removal.verb());
            try {
                Config as = asAccount(admin, ns, "sa-" + tag);
                await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).untilAsserted(
                        () -> assertThatThrownBy(() -> StartupChecks.verify(as, "test", required))
                                .as("without %s", removal.permission())
                                .isInstanceOf(CliException.class)
                                .hasMessage("missing permission: " + removal.permission()));
            } finally {
                less.revoke(admin);
            }
        }
    }

    /** Acting as ServiceAccount {@code account} of {@code ns}, as the server would authenticate its token. */
    private static Config asAccount(KubernetesClient admin, TestNamespace ns, String account) {
        return new ConfigBuilder(admin.getConfiguration())
                .withImpersonateUsername("system:serviceaccount:" + ns.name() + ":" + account)
                .withImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + ns.name(), "system:authenticated")
                .build();
    }

    record Run(int code, String out) {
    }

    private static Run kubectl(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ApiServerBinaries.binaryDir().resolve("kubectl").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("kubectl " + String.join(" ", args) + " did not finish within 60 s");
        }
        return new Run(p.exitValue(), out);
    }
}
