package dev.flotilla.manager;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.List;

/**
 * The RBAC deploy/ ships (as the build wrote it), granted on a test API server the way Kustomize's {@code namespace:}
 * would move it: Roles and RoleBindings into the test's namespace, every binding's subject a ServiceAccount there;
 * names get a suffix so that several grants can live side by side.
 */
final class ShippedRbac {

    final List<HasMetadata> documents;
    private final String namespace;
    private final String suffix;

    /** The base's RBAC, and the tuner's with {@code tuner}. */
    ShippedRbac(boolean tuner, String namespace, String suffix) {
        List<HasMetadata> docs = new ArrayList<>(DeployManifestsTest.documents(DeployManifests.files().get(DeployManifests.BASE_RBAC)));
        if (tuner) {
            docs.addAll(DeployManifestsTest.documents(DeployManifests.files().get(DeployManifests.TUNER_RBAC)));
        }
        this.documents = List.copyOf(docs);
        this.namespace = namespace;
        this.suffix = suffix;
    }

    static List<PolicyRule> rulesOf(HasMetadata o) {
        return o instanceof ClusterRole c ? c.getRules() : o instanceof Role r ? r.getRules() : List.of();
    }

    /** Creates it for ServiceAccount {@code account}; with {@code doc} >= 0, without {@code verb} in rule {@code rule} of document {@code doc}. */
    void grant(KubernetesClient admin, String account, int doc, int rule, String verb) {
        KubernetesSerialization json = new KubernetesSerialization();
        for (int d = 0; d < documents.size(); d++) {
            HasMetadata o = json.clone(documents.get(d));
            o.getMetadata().setName(name(o));
            if (o instanceof Role || o instanceof RoleBinding) {
                o.getMetadata().setNamespace(namespace);
            }
            if (d == doc) {
                PolicyRule r = rulesOf(o).get(rule);
                r.setVerbs(new ArrayList<>(r.getVerbs().stream().filter(v -> !v.equals(verb)).toList()));
                if (r.getVerbs().isEmpty()) {
                    rulesOf(o).remove(rule);
                }
            }
            if (o instanceof RoleBinding b) {
                b.getRoleRef().setName(b.getRoleRef().getName() + suffix());
                b.setSubjects(List.of(account(account)));
            } else if (o instanceof ClusterRoleBinding b) {
                b.getRoleRef().setName(b.getRoleRef().getName() + suffix());
                b.setSubjects(List.of(account(account)));
            }
            admin.resource(o).create();
        }
    }

    /** Deletes the cluster-scoped objects {@link #grant} made (the namespaced ones go with the namespace). */
    void revoke(KubernetesClient admin) {
        for (HasMetadata o : documents) {
            if (o instanceof ClusterRoleBinding) {
                admin.rbac().clusterRoleBindings().withName(name(o)).delete();
            } else if (o instanceof ClusterRole) {
                admin.rbac().clusterRoles().withName(name(o)).delete();
            }
        }
    }

    /** Deletes every binding {@link #grant} made, the namespaced ones too: from now on its ServiceAccount may do nothing. */
    void unbind(KubernetesClient admin) {
        for (HasMetadata o : documents) {
            if (o instanceof ClusterRoleBinding) {
                admin.rbac().clusterRoleBindings().withName(name(o)).delete();
            } else if (o instanceof RoleBinding) {
                admin.rbac().roleBindings().inNamespace(namespace).withName(name(o)).delete();
            }
        }
    }

    /** Deletes the cluster-wide bindings only: the namespaced Role (Leases, its Pod) still applies. */
    void unbindClusterWide(KubernetesClient admin) {
        for (HasMetadata o : documents) {
            if (o instanceof ClusterRoleBinding) {
                admin.rbac().clusterRoleBindings().withName(name(o)).delete();
            }
        }
    }

    private String name(HasMetadata o) {
        return o.getMetadata().getName() + suffix();
    }

    private String suffix() {
        return "-" + namespace + (suffix.isEmpty() ? "" : "-" + suffix);
    }

    private Subject account(String name) {
        Subject s = new Subject();
        s.setKind("ServiceAccount");
        s.setName(name);
        s.setNamespace(namespace);
        return s;
    }
}
