package dev.flotilla.resilience.guard;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
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

    /**
     * What the guard knows of a request: its kind and, for tests and debug logs, why. Everything the guard needs
     * before and while sending (the budget, the breaker, whether the write fence is asked, whether an answer may
     * lead to a retry) follows from the method, path and content type. Only whether a write carries a precondition
     * (and so whether repeating it after an ambiguous failure is safe) may need the body, and that is read the first
     * time {@link #kind()}, {@link #reason()} or {@link #retryPolicy()} asks: the guard asks after an attempt that
     * was throttled (429), failed on the server (500, 502, 503, 504) or got no answer, never for one answered
     * otherwise. Parsing every update's body up front was 3% of the CPU samples of the benchmark's Flotilla
     * contender in a steady stream of updates (JFR), and its C2 compilations 0.24-0.42 s of compiler time.
     */
    public sealed interface Classification permits Classification.Decided, Classification.PreconditionInBody {

        /** The request's kind; a write whose precondition is in its body reads the body here, once. */
        RequestKind kind();

        /** Why it is of that kind; like {@link #kind()}, may read the body. */
        String reason();

        /** Which token bucket pays for it. */
        RequestKind.Budget budget();

        /** Whether the circuit breaker may reject it and records its outcome. */
        boolean gatedByBreaker();

        /** Whether it stays open (watch, exec, ...). */
        boolean longRunning();

        /** Whether it changes stored state (see {@link RequestKind#isWrite()}). */
        boolean isWrite();

        /** Whether any outcome of it may be retried ({@link RequestKind.RetryPolicy#NEVER} says none may). */
        boolean mayRetry();

        /** When a failed attempt is repeated; may read the body. */
        default RequestKind.RetryPolicy retryPolicy() {
            return kind().retryPolicy();
        }

        /** A classification known without the body. */
        static Classification of(RequestKind kind, String reason) {
            return new Decided(kind, reason);
        }

        /** A kind decided from the method, path and content type alone. */
        record Decided(RequestKind kind, String reason) implements Classification {

            public Decided {
                Objects.requireNonNull(kind, "kind");
                Objects.requireNonNull(reason, "reason");
            }

            @Override
            public RequestKind.Budget budget() {
                return kind.budget();
            }

            @Override
            public boolean gatedByBreaker() {
                return kind.gatedByBreaker();
            }

            @Override
            public boolean longRunning() {
                return kind.longRunning();
            }

            @Override
            public boolean isWrite() {
                return kind.isWrite();
            }

            @Override
            public boolean mayRetry() {
                return kind.retryPolicy() != RequestKind.RetryPolicy.NEVER;
            }
        }

        /**
         * A write that is a {@link RequestKind#GUARDED_WRITE} when its body carries a precondition and an
         * {@link RequestKind#UNGUARDED_WRITE} otherwise. The two differ only in their retry policy, so everything
         * else is answered without the body; the body is read when the kind or the policy is first asked for.
         */
        final class PreconditionInBody implements Classification {

            static {
                RequestKind with = RequestKind.GUARDED_WRITE;
                RequestKind without = RequestKind.UNGUARDED_WRITE;
                if (with.budget() != without.budget() || with.gatedByBreaker() != without.gatedByBreaker()
                        || with.longRunning() != without.longRunning() || with.isWrite() != without.isWrite()
                        || with.retryPolicy() == RequestKind.RetryPolicy.NEVER
                        || without.retryPolicy() == RequestKind.RetryPolicy.NEVER) {
                    throw new ExceptionInInitializerError("GUARDED_WRITE and UNGUARDED_WRITE must differ only in how "
                            + "they are retried, or a write cannot be sent before its body is read");
                }
            }

            private final Supplier<Decided> decide;
            /** Set once decided; a record of final fields, so a racing second decision is harmless. */
            private Decided decided;

            PreconditionInBody(Supplier<Decided> decide) {
                this.decide = Objects.requireNonNull(decide, "decide");
            }

            /**
             * The decision, made once. It runs after the send, in the attempt's completion, where an exception would
             * leave the call without an answer; so a body that cannot be read counts as no precondition, the kind
             * retried least.
             */
            private Decided decided() {
                Decided d = decided;
                if (d == null) {
                    try {
                        d = Objects.requireNonNull(decide.get(), "decision");
                    } catch (RuntimeException unreadable) {
                        d = new Decided(RequestKind.UNGUARDED_WRITE, "body unreadable (" + unreadable.getClass().getSimpleName()
                                + "), so no precondition");
                    }
                    if (d.kind() != RequestKind.GUARDED_WRITE && d.kind() != RequestKind.UNGUARDED_WRITE) {
                        d = new Decided(RequestKind.UNGUARDED_WRITE, "precondition check decided " + d.kind() + ", taken as none");
                    }
                    decided = d;
                }
                return d;
            }

            /** Whether the body has been read (for tests). */
            boolean decidedYet() {
                return decided != null;
            }

            @Override
            public RequestKind kind() {
                return decided().kind();
            }

            @Override
            public String reason() {
                return decided().reason();
            }

            @Override
            public RequestKind.Budget budget() {
                return RequestKind.UNGUARDED_WRITE.budget();
            }

            @Override
            public boolean gatedByBreaker() {
                return RequestKind.UNGUARDED_WRITE.gatedByBreaker();
            }

            @Override
            public boolean longRunning() {
                return RequestKind.UNGUARDED_WRITE.longRunning();
            }

            @Override
            public boolean isWrite() {
                return RequestKind.UNGUARDED_WRITE.isWrite();
            }

            @Override
            public boolean mayRetry() {
                return true;
            }

            @Override
            public String toString() {
                Decided d = decided;
                return d == null ? "write, precondition not read yet" : d.toString();
            }
        }
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
            return target.lease() ? new Classification.Decided(RequestKind.LEASE_WATCH, "lease watch")
                    : new Classification.Decided(RequestKind.WATCH, "watch");
        }
        if (target.follow() || target.streamSubresource()) {
            return new Classification.Decided(RequestKind.STREAM, "long-running stream");
        }
        if (target.lease()) {
            return new Classification.Decided(RequestKind.LEASE, "lease " + method);
        }
        if (request.streamedBody()) {
            return new Classification.Decided(RequestKind.UPLOAD, "streamed body");
        }
        return switch (method) {
            case "GET", "HEAD", "OPTIONS" -> new Classification.Decided(RequestKind.READ, method);
            case "POST" -> {
                if (target.dryRun()) {
                    yield new Classification.Decided(RequestKind.GUARDED_WRITE, "dry run");
                }
                if (REVIEW_RESOURCES.contains(target.resource())) {
                    yield new Classification.Decided(RequestKind.READ, "review (nothing stored)");
                }
                yield new Classification.Decided(RequestKind.UNGUARDED_WRITE, "create");
            }
            case "PUT" -> {
                if (target.dryRun()) {
                    yield new Classification.Decided(RequestKind.GUARDED_WRITE, "dry run");
                }
                yield new Classification.PreconditionInBody(() -> hasNestedString(request.body(), "metadata", "resourceVersion")
                        ? new Classification.Decided(RequestKind.GUARDED_WRITE, "update with metadata.resourceVersion")
                        : new Classification.Decided(RequestKind.UNGUARDED_WRITE, "update without resourceVersion"));
            }
            case "PATCH" -> patch(request, target);
            case "DELETE" -> {
                if (target.dryRun()) {
                    yield new Classification.Decided(RequestKind.GUARDED_WRITE, "dry run");
                }
                yield new Classification.PreconditionInBody(() -> {
                    String body = request.body();
                    return hasNestedString(body, "preconditions", "resourceVersion")
                            || hasNestedString(body, "preconditions", "uid")
                            ? new Classification.Decided(RequestKind.GUARDED_WRITE, "delete with preconditions")
                            : new Classification.Decided(RequestKind.UNGUARDED_WRITE, "delete without preconditions");
                });
            }
            default -> new Classification.Decided(RequestKind.UNGUARDED_WRITE, method);
        };
    }

    /** The kind of a WebSocket connection to {@code uri}: a watch, or another stream (exec, attach, ...). */
    public static Classification classifyWebSocket(URI uri) {
        Target target = Target.of(uri);
        if (!target.watch()) {
            return new Classification.Decided(RequestKind.STREAM, "websocket stream");
        }
        return target.lease() ? new Classification.Decided(RequestKind.LEASE_WATCH, "lease watch (websocket)")
                : new Classification.Decided(RequestKind.WATCH, "watch (websocket)");
    }

    private static Classification patch(OutgoingRequest request, Target target) {
        if (target.dryRun()) {
            return new Classification.Decided(RequestKind.GUARDED_WRITE, "dry run");
        }
        String contentType = request.contentType().trim().toLowerCase(Locale.ROOT);
        if (contentType.startsWith(APPLY_PATCH)) {
            return new Classification.Decided(RequestKind.GUARDED_WRITE, "server-side apply");
        }
        if (contentType.startsWith(JSON_PATCH)) {
            return new Classification.PreconditionInBody(() -> jsonPatchHasTest(request.body())
                    ? new Classification.Decided(RequestKind.GUARDED_WRITE, "JSON patch with a test op")
                    : new Classification.Decided(RequestKind.UNGUARDED_WRITE, "JSON patch without a test op"));
        }
        return new Classification.PreconditionInBody(() -> hasNestedString(request.body(), "metadata", "resourceVersion")
                ? new Classification.Decided(RequestKind.GUARDED_WRITE, "merge patch with metadata.resourceVersion")
                : new Classification.Decided(RequestKind.UNGUARDED_WRITE, "merge patch without resourceVersion"));
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
