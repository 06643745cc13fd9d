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

    /** The API groups of reviews, which the API server answers without storing anything. */
    private static final java.util.Set<String> REVIEW_GROUPS = java.util.Set.of("authentication.k8s.io", "authorization.k8s.io");

    /**
     * Reads an API path ({@code /api/v1/...} or {@code /apis/<group>/<version>/...}, any query ignored);
     * empty for a path it cannot read as a resource path, or one that stores nothing
     * ({@link #storesNothing}). A prefix before {@code /api} or {@code /apis} (a proxy's
     * {@code /k8s/clusters/c-1}) is skipped when the version after it looks like a Kubernetes one
     * ({@code v1}, {@code v2beta1}); without a prefix any version is read (a CRD's may be {@code foo1}).
     */
    public static Optional<WriteTarget> fromPath(String verb, String path) {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(path, "path");
        Parsed parsed = parse(path);
        if (parsed == null || parsed.rest().isEmpty() || parsed.review()) {
            return Optional.empty();
        }
        List<String> r = parsed.rest();
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

    /**
     * Whether a write to {@code path} changes no stored state: a review (TokenReview,
     * SubjectAccessReview and their kin, in {@code authentication.k8s.io} and
     * {@code authorization.k8s.io}) or a path naming no resource ({@code /api/v1}, {@code /version}
     * is not an API path and does not count). A write the guard can neither read nor exempt is refused.
     */
    public static boolean storesNothing(String path) {
        Objects.requireNonNull(path, "path");
        Parsed parsed = parse(path);
        return parsed != null && (parsed.rest().isEmpty() || parsed.review());
    }

    /** An API path: the group ("" for the core group) and the segments after the version. */
    private record Parsed(String group, List<String> rest) {
        boolean review() {
            String resource = rest.size() >= 3 && rest.get(0).equals("namespaces") ? rest.get(2) : rest.isEmpty() ? "" : rest.get(0);
            return REVIEW_GROUPS.contains(group) && resource.endsWith("reviews");
        }
    }

    private static Parsed parse(String path) {
        int query = path.indexOf('?');
        List<String> parts = new ArrayList<>();
        for (String p : (query < 0 ? path : path.substring(0, query)).split("/")) {
            if (!p.isEmpty()) {
                parts.add(p);
            }
        }
        if (parts.size() >= 2 && parts.get(0).equals("api")) {
            return new Parsed("", parts.subList(2, parts.size()));
        }
        if (parts.size() >= 3 && parts.get(0).equals("apis")) {
            return new Parsed(parts.get(1), parts.subList(3, parts.size()));
        }
        for (int i = 1; i < parts.size(); i++) {
            if (parts.get(i).equals("api") && parts.size() > i + 1 && isVersion(parts.get(i + 1))) {
                return new Parsed("", parts.subList(i + 2, parts.size()));
            }
            if (parts.get(i).equals("apis") && parts.size() > i + 2 && isVersion(parts.get(i + 2))) {
                return new Parsed(parts.get(i + 1), parts.subList(i + 3, parts.size()));
            }
        }
        return null;
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
