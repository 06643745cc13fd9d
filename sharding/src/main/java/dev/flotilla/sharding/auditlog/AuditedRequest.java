package dev.flotilla.sharding.auditlog;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One request as the API server's audit log records it at its {@code ResponseComplete} stage.
 *
 * @param auditId     the server's id of the request
 * @param user        who the server treated it as: the impersonated user if any, else the authenticated one
 * @param verb        the Kubernetes verb ({@code create}, {@code update}, {@code patch}, {@code get}, ...)
 * @param resource    the resource ({@code configmaps}); empty for a non-resource URL
 * @param subresource the subresource ({@code status}); empty if none
 * @param namespace   empty for a cluster-scoped object
 * @param name        empty for a collection or a create the log names no object for
 * @param received    when the server received it
 * @param completed   when the server completed it (the stage's timestamp): for a write, when it was accepted
 * @param code        the HTTP status of the answer
 * @param dryRun      whether the request asked for {@code dryRun} (it stored nothing)
 * @param leaseHolder for a Lease write the server answered with the Lease: its {@code spec.holderIdentity}
 *                    ("" when free); empty otherwise
 * @param leaseAnnotations for such a write, the answered Lease's annotations (empty otherwise)
 * @param leaseDuration for such a write, the answered Lease's {@code spec.leaseDurationSeconds}; empty when the
 *                    answer has none or the request wrote no Lease
 */
public record AuditedRequest(String auditId, String user, String verb, String resource, String subresource, String namespace,
        String name, Instant received, Instant completed, int code, boolean dryRun, Optional<String> leaseHolder,
        Map<String, String> leaseAnnotations, Optional<Duration> leaseDuration) {

    /** Verbs that change stored state. */
    public static final Set<String> WRITE_VERBS = Set.of("create", "update", "patch", "delete", "deletecollection");
    /** Resources whose creation stores nothing: asking the server a question is not a write. */
    /** The reviews anyone may make about themselves (no RBAC grant needed): the startup check's. */
    public static final Set<String> SELF_REVIEWS = Set.of("selfsubjectaccessreviews", "selfsubjectrulesreviews",
            "selfsubjectreviews");
    public static final Set<String> REVIEWS = Set.of("selfsubjectaccessreviews", "selfsubjectrulesreviews",
            "subjectaccessreviews", "localsubjectaccessreviews", "tokenreviews", "selfsubjectreviews");

    public AuditedRequest {
        Objects.requireNonNull(auditId, "auditId");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(subresource, "subresource");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(received, "received");
        Objects.requireNonNull(completed, "completed");
        Objects.requireNonNull(leaseHolder, "leaseHolder");
        leaseAnnotations = Map.copyOf(leaseAnnotations);
        Objects.requireNonNull(leaseDuration, "leaseDuration");
    }

    /** A write the server accepted: a write verb, a 2xx answer, not a dry run, not a review. */
    public boolean isAcceptedWrite() {
        return WRITE_VERBS.contains(verb) && code >= 200 && code < 300 && !dryRun && !REVIEWS.contains(resource);
    }

    public boolean isLease() {
        return resource.equals("leases");
    }

    @Override
    public String toString() {
        return completed + " " + user + " " + verb + " " + resource + (subresource.isEmpty() ? "" : "/" + subresource) + " "
                + (namespace.isEmpty() ? "" : namespace + "/") + name + " -> " + code;
    }
}
