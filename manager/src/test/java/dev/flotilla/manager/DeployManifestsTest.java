package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.rbac.ApiPermission;
import dev.flotilla.testing.docs.MarkdownBlocks;
import dev.flotilla.core.manager.ManagerOptions;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** deploy/'s derived files: what the build writes is what is committed, and the RBAC says exactly what the code declares. */
class DeployManifestsTest {

    /**
     * The build rewrites deploy/'s derived files in the working tree; git's index holds what will be committed. A
     * hand edit, or a declaration changed without committing the rebuilt file, makes them differ.
     */
    @Test
    void theCommittedDerivedFilesAreWhatTheBuildWrites() throws Exception {
        for (Map.Entry<Path, String> f : DeployManifests.files().entrySet()) {
            String path = "deploy/" + f.getKey().toString().replace('\\', '/');
            assertThat(committed(path)).as("%s as committed (git add it after the build rewrote it)", path)
                    .isEqualTo(f.getValue());
        }
    }

    @Test
    void theRbacGrantsExactlyTheDeclaredPermissions() {
        assertThat(permissionsIn(DeployManifests.files().get(DeployManifests.BASE_RBAC)))
                .containsExactlyInAnyOrderElementsOf(Set.copyOf(DeployManifests.basePermissions()));
        assertThat(permissionsIn(DeployManifests.files().get(DeployManifests.TUNER_RBAC)))
                .containsExactlyInAnyOrderElementsOf(Set.copyOf(DeployManifests.tunerPermissions()));
    }

    /** The README shows no RBAC of its own: one source, deploy/. */
    /**
     * The hand-written manifests agree with the code's defaults they rely on: the Deployment runs {@code run} with the
     * default ports, its container ports are those, the metrics Service is the one the self-signed certificate names and
     * the alerts' {@code job}, and the ServiceMonitor scrapes the Service's port by name.
     */
    @Test
    void theHandWrittenManifestsUseTheCodesPortsAndNames() throws IOException {
        Path deploy = MarkdownBlocks.repositoryFile("deploy");
        Deployment deployment = (Deployment) documents(java.nio.file.Files.readString(deploy.resolve("base/deployment.yaml")))
                .getFirst();
        var container = deployment.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(container.getArgs()).as("the defaults apply").containsExactly("run");
        assertThat(container.getPorts()).extracting(p -> p.getName() + "=" + p.getContainerPort())
                .containsExactlyInAnyOrder("health=" + ManagerOptions.DEFAULT_HEALTH_PORT, "metrics=" + RunCommand.DEFAULT_METRICS_PORT);
        Service service = (Service) documents(java.nio.file.Files.readString(deploy.resolve("base/metrics-service.yaml"))).getFirst();
        assertThat(service.getMetadata().getName()).isEqualTo(DeployManifests.METRICS_SERVICE);
        var port = service.getSpec().getPorts().getFirst();
        assertThat(port.getPort()).isEqualTo(RunCommand.DEFAULT_METRICS_PORT);
        assertThat(port.getTargetPort().getStrVal()).isEqualTo("metrics");
        String monitor = java.nio.file.Files.readString(deploy.resolve("components/monitoring/servicemonitor.yaml"));
        assertThat(monitor).contains("- port: " + port.getName());
        String rules = java.nio.file.Files.readString(deploy.resolve("components/monitoring/prometheusrule.yaml"));
        assertThat(java.util.regex.Pattern.compile("job=\"([^\"]*)\"").matcher(rules).results().map(m -> m.group(1)))
                .isNotEmpty().containsOnly(DeployManifests.METRICS_SERVICE);
    }

    /**
     * The node agent's manifests agree with what its code uses (node-agent/main.go, internal/kube): the port it listens
     * on by default ({@code --listen=:9435}), served by the Service and scraped by the ServiceMonitor by name;
     * {@code --cgroup-root} where the host's cgroup hierarchy is mounted, read-only; {@code NODE_NAME} from the Pod's
     * node; a ClusterRole of exactly {@code list pods}; no capability but CAP_BPF and CAP_PERFMON, no host namespaces.
     */
    @Test
    void theNodeAgentsManifestsGrantWhatItUsesAndNoMore() throws IOException {
        Path component = MarkdownBlocks.repositoryFile("deploy").resolve("components/node-agent");
        var daemonSet = (io.fabric8.kubernetes.api.model.apps.DaemonSet) documents(
                java.nio.file.Files.readString(component.resolve("daemonset.yaml"))).getFirst();
        var pod = daemonSet.getSpec().getTemplate().getSpec();
        var container = pod.getContainers().getFirst();
        assertThat(container.getPorts()).extracting(p -> p.getName() + "=" + p.getContainerPort()).containsExactly("metrics=9435");
        assertThat(container.getArgs()).containsExactly("--cgroup-root=/host/sys/fs/cgroup");
        assertThat(container.getVolumeMounts()).allSatisfy(m -> assertThat(m.getReadOnly()).as(m.getName()).isTrue())
                .extracting(m -> m.getName() + ":" + m.getMountPath())
                .containsExactly("cgroup:/host/sys/fs/cgroup");
        assertThat(pod.getVolumes()).extracting(v -> v.getName() + ":" + v.getHostPath().getPath())
                .containsExactly("cgroup:/sys/fs/cgroup");
        assertThat(container.getEnv()).singleElement().satisfies(e -> {
            assertThat(e.getName()).isEqualTo("NODE_NAME");
            assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        });
        var sc = container.getSecurityContext();
        assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(sc.getCapabilities().getAdd()).containsExactly("BPF", "PERFMON");
        assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
        assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
        assertThat(sc.getPrivileged()).isFalse();
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(pod.getHostNetwork()).isNull();
        assertThat(pod.getHostPID()).isNull();
        assertThat(pod.getHostIPC()).isNull();
        assertThat(pod.getPriorityClassName()).as("system-node-critical is admitted in kube-system only").isNull();
        assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(container.getResources().getLimits()).containsKeys("cpu", "memory");

        assertThat(permissionsIn(java.nio.file.Files.readString(component.resolve("rbac.yaml"))))
                .containsExactly(new ApiPermission("list", "", "pods", ""));
        Service service = (Service) documents(java.nio.file.Files.readString(component.resolve("service.yaml"))).getFirst();
        assertThat(service.getSpec().getClusterIP()).isEqualTo("None");
        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("metrics");
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("metrics");
        });
        assertThat(service.getSpec().getSelector()).isEqualTo(daemonSet.getSpec().getSelector().getMatchLabels());
        assertThat(java.nio.file.Files.readString(component.resolve("monitoring/servicemonitor.yaml"))).contains("- port: metrics");
    }

    @Test
    void theReadmePointsToDeployInsteadOfCopyingRules() throws IOException {
        var blocks = MarkdownBlocks.of(MarkdownBlocks.repositoryFile("README.md"));
        assertThat(blocks).noneMatch(b -> b.text().contains("kind: ClusterRole") || b.text().contains("kind: Role"));
    }

    /** The permissions the Roles and ClusterRoles of {@code yaml} grant, one per verb. */
    static List<ApiPermission> permissionsIn(String yaml) {
        List<ApiPermission> out = new ArrayList<>();
        for (HasMetadata o : documents(yaml)) {
            List<PolicyRule> rules = o instanceof ClusterRole c ? c.getRules() : o instanceof Role r ? r.getRules() : List.of();
            String ns = o instanceof Role ? o.getMetadata().getNamespace() : "";
            for (PolicyRule rule : rules) {
                for (String group : rule.getApiGroups()) {
                    for (String resource : rule.getResources()) {
                        for (String verb : rule.getVerbs()) {
                            out.add(new ApiPermission(verb, group, resource, ns));
                        }
                    }
                }
            }
        }
        return out;
    }

    static List<HasMetadata> documents(String yaml) {
        List<HasMetadata> out = new ArrayList<>();
        for (String doc : yaml.split("(?m)^---$")) {
            if (doc.lines().anyMatch(l -> l.startsWith("kind: "))) {
                out.add(new KubernetesSerialization().unmarshal(doc, HasMetadata.class));
            }
        }
        return out;
    }

    private static String committed(String path) throws Exception {
        Process git = new ProcessBuilder("git", "show", ":" + path)
                .directory(MarkdownBlocks.repositoryFile(".").toFile()).redirectErrorStream(true).start();
        String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(git.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(git.exitValue()).as("git show :%s: %s", path, out).isZero();
        return out;
    }
}
