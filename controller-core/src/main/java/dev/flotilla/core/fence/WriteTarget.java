package dev.flotilla.core.fence;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a write is about to change, as its URL path says: the namespace (empty for a cluster-scoped
 * object), the resource and, if the path names one, the object.
 *
 * <pre>{@code
 * WriteTarget t = WriteTarget.fromPath("PUT", "/api/v1/namespaces/shop/configmaps/settings-mirror").orElseThrow();
 * t.namespace(); // "shop"
 * WriteTarget.fromPath("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles").orElseThrow().clusterScoped(); // true
 * }</pre>
 *
 * @param verb      the HTTP method
 * @param namespace the object's namespace; empty for a cluster-scoped object (a Namespace itself included)
 * @param resource  the resource, with a subresource after a slash ({@code pods/status})
 * @param name      the object's name; empty for a create or a collection
 */
public record WriteTarget(String verb, String namespace, String resource, String name) {

    /** Subresources of a Namespace object: {@code namespaces/{name}/status} is not a resource in that namespace. */
    private static final java.util.Set<String> NAMESPACE_SUBRESOURCES = java.util.Set.of("status", "finalize");

    public WriteTarget {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(name, "name");
        if (resource.isEmpty()) {
            throw new IllegalArgumentException("resource must not be empty");
        }
    }

    /** Whether the object lives outside any namespace. */
    public boolean clusterScoped() {
        return namespace.isEmpty();
    }

    /**
     * Reads an API path ({@code /api/v1/...} or {@code /apis/<group>/<version>/...}, any query
     * ignored); empty for a path that names no resource (discovery, {@code /version}).
     */
    public static Optional<WriteTarget> fromPath(String verb, String path) {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(path, "path");
        int query = path.indexOf('?');
        List<String> parts = new ArrayList<>();
        for (String p : (query < 0 ? path : path.substring(0, query)).split("/")) {
            if (!p.isEmpty()) {
                parts.add(p);
            }
        }
        int rest;
        if (parts.size() >= 2 && parts.get(0).equals("api")) {
            rest = 2;
        } else if (parts.size() >= 3 && parts.get(0).equals("apis")) {
            rest = 3;
        } else {
            return Optional.empty();
        }
        List<String> r = parts.subList(rest, parts.size());
        if (r.isEmpty()) {
            return Optional.empty();
        }
        if (r.get(0).equals("namespaces") && r.size() == 3 && NAMESPACE_SUBRESOURCES.contains(r.get(2))) {
            return Optional.of(new WriteTarget(verb, "", "namespaces/" + r.get(2), r.get(1))); // the Namespace's own
        }
        if (r.get(0).equals("namespaces") && r.size() >= 3) {
            // namespaces/{ns}/{resource}[/{name}[/{subresource}]]
            return Optional.of(new WriteTarget(verb, r.get(1), resource(r, 2), r.size() > 3 ? r.get(3) : ""));
        }
        // {resource}[/{name}[/{subresource}]], the Namespace objects (namespaces/{name}) among them
        return Optional.of(new WriteTarget(verb, "", resource(r, 0), r.size() > 1 ? r.get(1) : ""));
    }

    private static String resource(List<String> r, int at) {
        return r.size() > at + 2 ? r.get(at) + "/" + r.get(at + 2) : r.get(at);
    }

    @Override
    public String toString() {
        return verb + " " + resource + " " + (clusterScoped() ? "" : namespace + "/") + name;
    }
}
