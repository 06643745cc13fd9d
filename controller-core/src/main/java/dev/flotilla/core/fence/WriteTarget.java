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

    /** Reviews the API server answers without storing anything: a POST of one changes no state to fence. */
    private static final java.util.Set<String> REVIEWS = java.util.Set.of("tokenreviews", "subjectaccessreviews",
            "selfsubjectaccessreviews", "selfsubjectrulesreviews", "localsubjectaccessreviews", "selfsubjectreviews");

    /**
     * Reads an API path ({@code /api/v1/...} or {@code /apis/<group>/<version>/...}, after any prefix a
     * proxy puts before it, any query ignored); empty for a path that names no resource (discovery,
     * {@code /version}) or a review the server stores nothing for (TokenReview, SubjectAccessReview...).
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
        // A master URL may carry a path (a proxy's /k8s/clusters/c-1): the API path starts at the first
        // "api" followed by a version, or "apis" followed by a group and a version.
        int rest = -1;
        for (int i = 0; i < parts.size() && rest < 0; i++) {
            if (parts.get(i).equals("api") && parts.size() > i + 1 && isVersion(parts.get(i + 1))) {
                rest = i + 2;
            } else if (parts.get(i).equals("apis") && parts.size() > i + 2 && isVersion(parts.get(i + 2))) {
                rest = i + 3;
            }
        }
        if (rest < 0) {
            return Optional.empty();
        }
        List<String> r = parts.subList(rest, parts.size());
        if (r.isEmpty() || REVIEWS.contains(r.getFirst())
                || (r.size() == 3 && r.get(0).equals("namespaces") && REVIEWS.contains(r.get(2)))) {
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

    /** {@code v1}, {@code v2beta1}, {@code v1alpha3}: Kubernetes API versions. */
    private static boolean isVersion(String s) {
        return s.matches("v[0-9]+((alpha|beta)[0-9]+)?");
    }

    private static String resource(List<String> r, int at) {
        return r.size() > at + 2 ? r.get(at) + "/" + r.get(at + 2) : r.get(at);
    }

    @Override
    public String toString() {
        return verb + " " + resource + " " + (clusterScoped() ? "" : namespace + "/") + name;
    }
}
