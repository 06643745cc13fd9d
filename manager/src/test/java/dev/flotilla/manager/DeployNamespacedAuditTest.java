package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.manager.aot.AotTraining;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The Role-only install ({@code deploy/overlays/namespaced}) judged by the API server: two sharded {@code flotilla
 * run --namespaces} replicas, authenticated as the deploy's ServiceAccount with no ClusterRole at all (the base's Role
 * for Leases and the Role the build generates for each watched namespace), converge the listed namespaces; the audit
 * log then holds no forbidden answer, no request outside the lease namespace and the listed ones, and no cluster-wide
 * request; a namespace not listed is left alone although it holds a source ConfigMap.
 */
@WithCluster(auditLog = true)
class DeployNamespacedAuditTest {

    @Test
    void replicasWithRolesOnlyWorkInTheListedNamespacesWithoutOneForbiddenRequest(TestCluster cluster, TestNamespace ns)
            throws Exception {
        KubernetesClient admin = cluster.client();
        Path dir = Path.of("target", "deploy-namespaced-audit");
        Files.createDirectories(dir);
        admin.serviceAccounts().inNamespace(ns.name()).resource(new ServiceAccountBuilder().withNewMetadata()
                .withName(DeployManifests.SERVICE_ACCOUNT).endMetadata().build()).create();
        // Four namespaces with a source each; the replicas are told about the first three.
        List<String> all = DeployRbacAuditTest.sources(admin, ns, "listed", 4);
        List<String> watched = all.subList(0, 3);
        String unlisted = all.get(3);
        List<Process> replicas = new ArrayList<>();
        try {
            grant(admin, ns.name(), watched);
            Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, dir.resolve("kubeconfig"));
            for (int i = 0; i < 2; i++) {
                String pod = "flotilla-" + i;
                admin.pods().inNamespace(ns.name()).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
                        .withNewSpec().addNewContainer().withName("flotilla").withImage("flotilla").endContainer().endSpec()
                        .build()).create();
                // As deploy/overlays/namespaced runs them: metrics served, plain (no reviews, which a Role cannot grant).
                replicas.add(DeployRbacAuditTest.start(dir.resolve(pod + ".log"), kubeconfig, ns.name(), pod,
                        "--namespaces", String.join(",", watched), "--metrics-port", String.valueOf(MetricsScrape.freePort()),
                        "--metrics-secure=false"));
            }
            DeployRbacAuditTest.awaitMirrored(admin, watched, "1", replicas);
            for (String s : watched) {
                admin.resource(AotTraining.source(s, "2")).update();
            }
            DeployRbacAuditTest.awaitMirrored(admin, watched, "2", replicas);
            for (Process p : replicas) {
                new ProcessBuilder("kill", "-TERM", String.valueOf(p.pid())).start().waitFor();
            }
            for (Process p : replicas) {
                assertThat(p.waitFor(45, TimeUnit.SECONDS)).as("a replica exits on SIGTERM").isTrue();
            }
            assertThat(admin.configMaps().inNamespace(unlisted).withName("settings" + ConfigMapMirror.MIRROR_SUFFIX).get())
                    .as("no mirror in %s, which is not listed", unlisted).isNull();
        } finally {
            replicas.forEach(Process::destroyForcibly);
        }

        String user = "system:serviceaccount:" + ns.name() + ":" + DeployManifests.SERVICE_ACCOUNT;
        List<AuditedRequest> requests = DeployRbacAuditTest.awaitAudited(cluster, user);
        List<AuditedRequest> resourceRequests = requests.stream()
                .filter(r -> !r.resource().isEmpty() && !AuditedRequest.SELF_REVIEWS.contains(r.resource())).toList();
        Set<String> where = resourceRequests.stream().map(r -> r.namespace().isEmpty() ? "(cluster-wide)" : r.namespace())
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> used = resourceRequests.stream().map(r -> r.verb() + " " + DeployRbacAuditTest.resource(r) + " in "
                + (r.namespace().equals(ns.name()) ? "lease namespace" : "watched"))
                .collect(Collectors.toCollection(TreeSet::new));
        List<AuditedRequest> forbidden = requests.stream().filter(r -> r.code() == 403).toList();
        System.out.printf("DEPLOY-NAMESPACED requests=%d forbidden=%d namespaces=%s used=%s%n", requests.size(),
                forbidden.size(), where, used);
        assertThat(forbidden).as("requests of %s the server refused (403)", user).isEmpty();
        Set<String> allowed = new TreeSet<>(watched);
        allowed.add(ns.name());
        assertThat(where).as("where the replicas sent requests: the lease namespace and the listed ones only")
                .isSubsetOf(allowed).contains(ns.name()).containsAll(watched);
        Set<String> granted = DeployManifests.namespacedPermissions(List.of("watched")).stream()
                .map(p -> p.verb() + " " + p.resource() + " in " + (p.namespace().equals("watched") ? "watched" : "lease namespace"))
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(used).as("what the replicas did, all of it granted").isSubsetOf(granted);
    }

    /**
     * The RBAC the namespaced overlay renders, for ServiceAccount {@code flotilla} of {@code leaseNamespace}: the base's
     * Role and binding there (Leases, its Pod), and the generated watched-namespace Role and binding in each of
     * {@code watched}; no ClusterRole.
     */
    static void grant(KubernetesClient admin, String leaseNamespace, List<String> watched) {
        KubernetesSerialization json = new KubernetesSerialization();
        List<HasMetadata> base = DeployManifestsTest.documents(DeployManifests.files().get(DeployManifests.BASE_RBAC)).stream()
                .filter(o -> o instanceof Role || o instanceof RoleBinding).toList();
        List<HasMetadata> perNamespace = DeployManifestsTest.documents(DeployManifests.files().get(DeployManifests.WATCHED_NAMESPACE_RBAC));
        for (HasMetadata doc : base) {
            create(admin, json.clone(doc), leaseNamespace, leaseNamespace);
        }
        for (String w : watched) {
            for (HasMetadata doc : perNamespace) {
                create(admin, json.clone(doc), w, leaseNamespace);
            }
        }
    }

    private static void create(KubernetesClient admin, HasMetadata o, String namespace, String accountNamespace) {
        o.getMetadata().setNamespace(namespace);
        if (o instanceof RoleBinding b) {
            Subject s = b.getSubjects().getFirst();
            s.setNamespace(accountNamespace);
        }
        admin.resource(o).create();
    }
}
