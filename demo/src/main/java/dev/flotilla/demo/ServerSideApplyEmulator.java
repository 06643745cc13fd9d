package dev.flotilla.demo;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Teaches fabric8's CRUD mock server the server-side apply requests the mirror controller sends.
 *
 * <p><b>Why this exists.</b> fabric8 8.0.0's {@code KubernetesCrudDispatcher} does not implement
 * {@code PATCH} with {@code Content-Type: application/apply-patch+yaml}: for an object that does not
 * exist it answers 404 Not Found (a real API server creates it), and for one that exists it answers
 * 415 Unsupported Media Type. Its JSON merge patch is also wrong for removals ({@code "k": null}
 * stores a null instead of deleting the key). So that controllers keep using real server-side apply
 * while the demo runs on the mock, this dispatcher sits in front of the CRUD dispatcher and turns
 * each apply into the CRUD requests the mock does understand:
 *
 * <ul>
 *   <li>object absent: {@code POST} of the applied configuration to the collection (201);</li>
 *   <li>object present: {@code PUT} of the current object with the applied configuration merged
 *       in: maps merge key by key, lists are replaced whole, and fields this field manager applied
 *       last time but no longer sets are removed (the part of server-side apply a controller relies
 *       on to drop stale keys).</li>
 * </ul>
 *
 * Not emulated: {@code managedFields}, conflicts between field managers (every apply behaves as
 * {@code force=true}), list-map merge keys, dry-run. Every other request goes to the CRUD
 * dispatcher unchanged. This lives only in the demo's mock backend; a real kube-apiserver backend
 * needs none of it.
 */
final class ServerSideApplyEmulator extends Dispatcher {

    static final String APPLY_CONTENT_TYPE_PREFIX = "application/apply-patch";

    private final Dispatcher delegate;
    private final KubernetesSerialization serialization = new KubernetesSerialization();
    /** Last applied configuration per object path and field manager. */
    private final Map<String, Map<String, Object>> lastApplied = new HashMap<>();

    ServerSideApplyEmulator(Dispatcher delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String contentType = request.getHeader("Content-Type");
        if (request.method() == HttpMethod.PATCH && contentType != null
                && contentType.toLowerCase(java.util.Locale.ROOT).startsWith(APPLY_CONTENT_TYPE_PREFIX)) {
            return apply(request);
        }
        return delegate.dispatch(request);
    }

    @Override
    public void shutdown() {
        delegate.shutdown();
    }

    @Override
    public void releaseResources() {
        delegate.releaseResources();
    }

    private synchronized MockResponse apply(RecordedRequest request) {
        String path = request.getPath();
        int q = path.indexOf('?');
        String objectPath = q < 0 ? path : path.substring(0, q);
        String fieldManager = queryParam(q < 0 ? "" : path.substring(q + 1), "fieldManager");
        if (fieldManager == null || fieldManager.isBlank()) {
            return status(422, "Invalid", "PATCH with application/apply-patch+yaml requires a fieldManager");
        }
        Map<String, Object> applied;
        try {
            applied = asMap(serialization.unmarshal(new String(request.getBody().getBytes(), StandardCharsets.UTF_8), Map.class));
        } catch (RuntimeException e) {
            return status(400, "BadRequest", "apply body is not valid YAML or JSON: " + e.getMessage());
        }
        if (applied == null) {
            return status(400, "BadRequest", "empty apply body");
        }
        metadata(applied).remove("managedFields");
        metadata(applied).remove("resourceVersion");
        String key = objectPath + "|" + fieldManager;

        MockResponse current = delegate.dispatch(new RecordedRequest("HTTP/1.1", HttpMethod.GET, objectPath,
                Headers.builder().build(), new Buffer()));
        MockResponse response;
        if (current.code() == 404) {
            String collection = objectPath.substring(0, objectPath.lastIndexOf('/'));
            response = delegate.dispatch(json(HttpMethod.POST, collection, applied));
        } else if (current.code() / 100 == 2) {
            Map<String, Object> live = asMap(serialization.unmarshal(current.getBody().readUtf8(), Map.class));
            Map<String, Object> merged = deepCopy(live);
            removeStale(merged, lastApplied.get(key), applied);
            overlay(merged, applied);
            // Keep the live resourceVersion: the PUT is then conditional on nothing having changed.
            metadata(merged).put("resourceVersion", metadata(live).get("resourceVersion"));
            response = delegate.dispatch(json(HttpMethod.PUT, objectPath, merged));
        } else {
            return current;
        }
        if (response.code() / 100 == 2) {
            lastApplied.put(key, applied);
        }
        return response;
    }

    private RecordedRequest json(HttpMethod method, String path, Map<String, Object> body) {
        byte[] bytes = serialization.asJson(body).getBytes(StandardCharsets.UTF_8);
        return new RecordedRequest("HTTP/1.1", method, path,
                Headers.builder().add("Content-Type", "application/json").build(), new Buffer(bytes));
    }

    /** Removes fields set by the previous apply of this manager that the new apply no longer sets. */
    @SuppressWarnings("unchecked")
    static void removeStale(Map<String, Object> target, Map<String, Object> previous, Map<String, Object> next) {
        if (previous == null) {
            return;
        }
        for (Map.Entry<String, Object> e : previous.entrySet()) {
            Object now = next.get(e.getKey());
            if (now == null) {
                target.remove(e.getKey());
            } else if (e.getValue() instanceof Map<?, ?> before && now instanceof Map<?, ?> after
                    && target.get(e.getKey()) instanceof Map<?, ?> live) {
                removeStale((Map<String, Object>) live, (Map<String, Object>) before, (Map<String, Object>) after);
            }
        }
    }

    /** Sets every field of {@code applied} on {@code target}: maps recursively, everything else replaced. */
    @SuppressWarnings("unchecked")
    static void overlay(Map<String, Object> target, Map<String, Object> applied) {
        for (Map.Entry<String, Object> e : applied.entrySet()) {
            if (e.getValue() instanceof Map<?, ?> value && target.get(e.getKey()) instanceof Map<?, ?> live) {
                overlay((Map<String, Object>) live, (Map<String, Object>) value);
            } else {
                target.put(e.getKey(), deepCopyValue(e.getValue()));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> metadata(Map<String, Object> object) {
        Object m = object.get("metadata");
        if (m instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        Map<String, Object> fresh = new LinkedHashMap<>();
        object.put("metadata", fresh);
        return fresh;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return o instanceof Map<?, ?> m ? deepCopy((Map<String, Object>) m) : null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> deepCopy(Map<String, Object> m) {
        Map<String, Object> copy = new LinkedHashMap<>();
        m.forEach((k, v) -> copy.put(k, deepCopyValue(v)));
        return copy;
    }

    @SuppressWarnings("unchecked")
    private static Object deepCopyValue(Object v) {
        if (v instanceof Map<?, ?> map) {
            return deepCopy((Map<String, Object>) map);
        }
        if (v instanceof List<?> list) {
            List<Object> copy = new ArrayList<>(list.size());
            list.forEach(x -> copy.add(deepCopyValue(x)));
            return copy;
        }
        return v;
    }

    private static String queryParam(String query, String name) {
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            if (name.equals(URLDecoder.decode(k, StandardCharsets.UTF_8))) {
                return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static MockResponse status(int code, String reason, String message) {
        String body = "{\"apiVersion\":\"v1\",\"kind\":\"Status\",\"status\":\"Failure\",\"code\":" + code
                + ",\"reason\":\"" + reason + "\",\"message\":\"" + message.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
        return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json").setBody(body);
    }
}
