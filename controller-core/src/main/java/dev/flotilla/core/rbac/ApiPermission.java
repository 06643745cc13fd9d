package dev.flotilla.core.rbac;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * One RBAC permission: a verb on a resource of an API group ({@code ""} for the core group), in one
 * namespace or, when {@code namespace} is empty, across all namespaces (and for cluster-scoped
 * resources). {@link #toString()} is the form error messages use: {@code watch configmaps (all
 * namespaces)}, {@code update leases.coordination.k8s.io (namespace flotilla-system)}.
 */
public record ApiPermission(String verb, String group, String resource, String namespace) {

    public ApiPermission {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(namespace, "namespace");
    }

    /** A permission across all namespaces. */
    public ApiPermission(String verb, String group, String resource) {
        this(verb, group, resource, "");
    }

    /** A permission on a core-group resource across all namespaces. */
    public static ApiPermission core(String verb, String resource) {
        return new ApiPermission(verb, "", resource);
    }

    /** The same permission, but only in {@code ns}. */
    public ApiPermission inNamespace(String ns) {
        return new ApiPermission(verb, group, resource, ns);
    }

    /**
     * {@code permissions} for an install that works in {@code namespaces} only (Roles, no ClusterRole): each permission
     * across all namespaces becomes one per listed namespace, in the order given; one already in a namespace stays.
     * Only for permissions on namespaced resources: a cluster-scoped resource cannot be granted by a Role.
     */
    public static List<ApiPermission> inEach(List<ApiPermission> permissions, Collection<String> namespaces) {
        List<ApiPermission> out = new ArrayList<>();
        for (String ns : namespaces) {
            for (ApiPermission p : permissions) {
                if (p.namespace().isEmpty()) {
                    out.add(p.inNamespace(ns));
                }
            }
        }
        permissions.stream().filter(p -> !p.namespace().isEmpty()).forEach(out::add);
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return verb + " " + (group.isEmpty() ? resource : resource + "." + group) + " ("
                + (namespace.isEmpty() ? "all namespaces" : "namespace " + namespace) + ")";
    }
}
