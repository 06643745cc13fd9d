package dev.flotilla.resilience.guard;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/**
 * Decides the {@link RequestKind} of a request from its method, path, query, content type and body. Only the
 * path's shape is inspected (API group and resource); nothing of it is kept.
 *
 * <pre>{@code
 * OutgoingRequest request = OutgoingRequest.of("PUT", URI.create("https://api:6443/api/v1/namespaces/shop/configmaps/a"),
 *         "application/json", "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\"}}");
 * RequestClassifier.Classification c = RequestClassifier.classify(request);
 * c.kind();    // GUARDED_WRITE
 * c.reason();  // "update with metadata.resourceVersion"
 * }</pre>
 */
public final class RequestClassifier {

    /** A request's kind and, for tests and debug logs, why. */
    public record Classification(RequestKind kind, String reason) {
    }

    static final String APPLY_PATCH = "application/apply-patch";
    static final String JSON_PATCH = "application/json-patch+json";
    private static final String LEASE_GROUP = "coordination.k8s.io";
    /** POSTs that evaluate and return a review without storing anything. */
    private static final Set<String> REVIEW_RESOURCES = Set.of("subjectaccessreviews", "selfsubjectaccessreviews",
            "localsubjectaccessreviews", "selfsubjectrulesreviews", "tokenreviews", "selfsubjectreviews");
    private static final Set<String> STREAM_SUBRESOURCES = Set.of("exec", "attach", "portforward");

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private RequestClassifier() {
    }

    /** The kind of an HTTP request (not a WebSocket: see {@link #classifyWebSocket}). */
    public static Classification classify(OutgoingRequest request) {
        String method = request.method().toUpperCase(Locale.ROOT);
        Target target = Target.of(request.uri());
        if (target.watch()) {
            return target.lease() ? new Classification(RequestKind.LEASE_WATCH, "lease watch")
                    : new Classification(RequestKind.WATCH, "watch");
        }
        if (target.follow() || target.streamSubresource()) {
            return new Classification(RequestKind.STREAM, "long-running stream");
        }
        if (target.lease()) {
            return new Classification(RequestKind.LEASE, "lease " + method);
        }
        if (request.streamedBody()) {
            return new Classification(RequestKind.UPLOAD, "streamed body");
        }
        return switch (method) {
            case "GET", "HEAD", "OPTIONS" -> new Classification(RequestKind.READ, method);
            case "POST" -> {
                if (target.dryRun()) {
                    yield new Classification(RequestKind.GUARDED_WRITE, "dry run");
                }
                if (REVIEW_RESOURCES.contains(target.resource())) {
                    yield new Classification(RequestKind.READ, "review (nothing stored)");
                }
                yield new Classification(RequestKind.UNGUARDED_WRITE, "create");
            }
            case "PUT" -> {
                if (target.dryRun()) {
                    yield new Classification(RequestKind.GUARDED_WRITE, "dry run");
                }
                yield hasNestedString(request.body(), "metadata", "resourceVersion")
                        ? new Classification(RequestKind.GUARDED_WRITE, "update with metadata.resourceVersion")
                        : new Classification(RequestKind.UNGUARDED_WRITE, "update without resourceVersion");
            }
            case "PATCH" -> patch(request, target);
            case "DELETE" -> {
                if (target.dryRun()) {
                    yield new Classification(RequestKind.GUARDED_WRITE, "dry run");
                }
                String body = request.body();
                yield hasNestedString(body, "preconditions", "resourceVersion")
                        || hasNestedString(body, "preconditions", "uid")
                        ? new Classification(RequestKind.GUARDED_WRITE, "delete with preconditions")
                        : new Classification(RequestKind.UNGUARDED_WRITE, "delete without preconditions");
            }
            default -> new Classification(RequestKind.UNGUARDED_WRITE, method);
        };
    }

    /** The kind of a WebSocket connection to {@code uri}: a watch, or another stream (exec, attach, ...). */
    public static Classification classifyWebSocket(URI uri) {
        Target target = Target.of(uri);
        if (!target.watch()) {
            return new Classification(RequestKind.STREAM, "websocket stream");
        }
        return target.lease() ? new Classification(RequestKind.LEASE_WATCH, "lease watch (websocket)")
                : new Classification(RequestKind.WATCH, "watch (websocket)");
    }

    private static Classification patch(OutgoingRequest request, Target target) {
        if (target.dryRun()) {
            return new Classification(RequestKind.GUARDED_WRITE, "dry run");
        }
        String contentType = request.contentType().trim().toLowerCase(Locale.ROOT);
        if (contentType.startsWith(APPLY_PATCH)) {
            return new Classification(RequestKind.GUARDED_WRITE, "server-side apply");
        }
        String body = request.body();
        if (contentType.startsWith(JSON_PATCH)) {
            return jsonPatchHasTest(body)
                    ? new Classification(RequestKind.GUARDED_WRITE, "JSON patch with a test op")
                    : new Classification(RequestKind.UNGUARDED_WRITE, "JSON patch without a test op");
        }
        return hasNestedString(body, "metadata", "resourceVersion")
                ? new Classification(RequestKind.GUARDED_WRITE, "merge patch with metadata.resourceVersion")
                : new Classification(RequestKind.UNGUARDED_WRITE, "merge patch without resourceVersion");
    }

    /** Whether the JSON object {@code json} has {@code outer.inner} as a non-empty string. */
    static boolean hasNestedString(String json, String outer, String inner) {
        if (json == null || json.isBlank()) {
            return false;
        }
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (outer.equals(name) && value == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                        String field = p.currentName();
                        JsonToken v = p.nextToken();
                        if (inner.equals(field) && v == JsonToken.VALUE_STRING && !p.getString().isEmpty()) {
                            return true;
                        }
                        p.skipChildren();
                    }
                    return false;
                }
                p.skipChildren();
            }
            return false;
        } catch (RuntimeException malformed) {
            return false;
        }
    }

    /** Whether the JSON patch (an array of operations) has an operation {@code "op": "test"}. */
    static boolean jsonPatchHasTest(String json) {
        if (json == null || json.isBlank()) {
            return false;
        }
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                return false;
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String field = p.currentName();
                    JsonToken v = p.nextToken();
                    if ("op".equals(field) && v == JsonToken.VALUE_STRING && "test".equals(p.getString())) {
                        return true;
                    }
                    p.skipChildren();
                }
            }
            return false;
        } catch (RuntimeException malformed) {
            return false;
        }
    }

    /**
     * The parts of a Kubernetes API URL the classification needs: {@code /api/v1/...} or
     * {@code /apis/<group>/<version>/...}, optionally {@code namespaces/<ns>/}, then resource, name, subresource.
     */
    private record Target(String group, String resource, boolean named, String subresource, boolean watch,
            boolean follow, boolean dryRun) {

        static Target of(URI uri) {
            List<String> segments = new ArrayList<>();
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            for (String s : path.split("/")) {
                if (!s.isEmpty()) {
                    segments.add(s);
                }
            }
            String group = "";
            int i;
            if (!segments.isEmpty() && segments.get(0).equals("api")) {
                i = 2; // api, v1
            } else if (!segments.isEmpty() && segments.get(0).equals("apis") && segments.size() > 1) {
                group = segments.get(1);
                i = 3; // apis, group, version
            } else {
                i = segments.size();
            }
            boolean legacyWatch = false;
            if (i < segments.size() && segments.get(i).equals("watch")) {
                legacyWatch = true;
                i++;
            }
            if (i + 1 < segments.size() && segments.get(i).equals("namespaces")
                    && !(i + 2 == segments.size())) {
                // namespaces/<ns>/<resource>... ; a bare namespaces/<name> is the namespace object itself
                i += 2;
            }
            String resource = i < segments.size() ? segments.get(i) : "";
            boolean named = i + 1 < segments.size();
            String subresource = i + 2 < segments.size() ? segments.get(i + 2) : "";
            String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
            return new Target(group, resource, named, subresource,
                    legacyWatch || param(query, "watch", "true") || param(query, "watch", "1"),
                    param(query, "follow", "true") || param(query, "follow", "1"),
                    param(query, "dryRun", "All"));
        }

        private static boolean param(String query, String name, String value) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0 && pair.substring(0, eq).equals(name) && pair.substring(eq + 1).equalsIgnoreCase(value)) {
                    return true;
                }
            }
            return false;
        }

        boolean lease() {
            return LEASE_GROUP.equals(group) && "leases".equals(resource);
        }

        boolean streamSubresource() {
            return STREAM_SUBRESOURCES.contains(subresource);
        }
    }
}
