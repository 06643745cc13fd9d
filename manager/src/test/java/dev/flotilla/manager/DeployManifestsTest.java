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
