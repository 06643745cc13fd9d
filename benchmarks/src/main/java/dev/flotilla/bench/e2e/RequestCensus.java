package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.Message;
import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The requests a Flotilla contender sent, by kind ({@code PATCH configmaps}, {@code PUT leases}, {@code LIST
 * configmaps}, {@code WATCH configmaps}) and answer ({@code 200}, {@code 409}, {@code 429}, {@code conn} for no answer),
 * counted where they leave its HTTP clients, at the same point as the product's {@code rest_client_requests_total}
 * (after the guard, so a retry is a request of its own). That metric has controller-runtime's labels, code, method
 * and host, which cannot tell a Lease renewal from a mirror write; this is the benchmark's apparatus to tell a round's
 * requests apart, not a product metric.
 *
 * <pre>{@code
 * HttpClient.Factory fabric8Factory;
 * RequestCensus census = new RequestCensus();
 * HttpClient.Factory counted = census.counting(fabric8Factory); // build the contender's clients over this
 * Map<String, String> fields = census.fields();                 // sent with each report: "req.PUT.leases.200" -> "42"
 * }</pre>
 */
final class RequestCensus implements Interceptor {

    /** The prefix of the census's fields in a contender's report. */
    static final String FIELD_PREFIX = "req.";
    /** The answer of a request that got none (the connection failed). */
    static final String NO_ANSWER = "conn";
    private static final String INTERCEPTOR_NAME = "flotilla-bench-request-census";

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    @Override
    public void after(HttpRequest request, HttpResponse<?> response, AsyncBody.Consumer<List<ByteBuffer>> consumer) {
        count(request, Integer.toString(response.code()));
    }

    @Override
    public void afterConnectionFailure(HttpRequest request, Throwable failure) {
        count(request, NO_ANSWER);
    }

    private void count(HttpRequest request, String answer) {
        counts.computeIfAbsent(kind(request.method(), request.uri()) + "." + answer, k -> new LongAdder()).increment();
    }

    /**
     * {@code METHOD.resource}: a GET is {@code WATCH} with {@code watch=true}, {@code LIST} without an object's name;
     * a path outside {@code /api} and {@code /apis} is its first segment ({@code GET.version}).
     */
    static String kind(String method, URI uri) {
        List<String> path = Arrays.stream(String.valueOf(uri.getPath()).split("/")).filter(s -> !s.isEmpty()).toList();
        int versionEnd = path.isEmpty() ? 0 : path.getFirst().equals("api") ? 2 : path.getFirst().equals("apis") ? 3 : 0;
        List<String> rest = versionEnd == 0 ? path : path.subList(Math.min(versionEnd, path.size()), path.size());
        String resource;
        boolean named;
        if (rest.size() >= 3 && rest.getFirst().equals("namespaces")) {
            resource = rest.get(2);
            named = rest.size() >= 4;
        } else {
            resource = rest.isEmpty() ? "root" : rest.getFirst();
            named = versionEnd == 0 || rest.size() >= 2; // a non-resource path names no collection
        }
        String verb = method;
        if (method.equals("GET")) {
            String query = uri.getRawQuery() == null ? "" : "&" + uri.getRawQuery() + "&";
            verb = query.contains("&watch=true&") || query.contains("&watch=1&") ? "WATCH" : named ? "GET" : "LIST";
        }
        return verb + "." + resource;
    }

    /** This census as report fields: {@code req.KIND.ANSWER} to the count so far. */
    Map<String, String> fields() {
        Map<String, String> f = new LinkedHashMap<>();
        new TreeMap<>(counts).forEach((k, v) -> f.put(FIELD_PREFIX + k, Long.toString(v.sum())));
        return f;
    }

    /** {@code delegate} with this census counting every request of every client it builds. */
    HttpClient.Factory counting(HttpClient.Factory delegate) {
        Objects.requireNonNull(delegate, "delegate");
        RequestCensus census = this;
        return new HttpClient.Factory() {
            @Override
            public HttpClient.Builder newBuilder() {
                return delegate.newBuilder().addOrReplaceInterceptor(INTERCEPTOR_NAME, census);
            }

            @Override
            public int priority() {
                return delegate.priority();
            }
        };
    }

    /** The census a contender's report carries: {@code KIND.ANSWER} to count; empty when it carries none. */
    static Map<String, Long> read(Message report) {
        Map<String, Long> m = new TreeMap<>();
        report.fields().forEach((k, v) -> {
            if (k.startsWith(FIELD_PREFIX)) {
                m.put(k.substring(FIELD_PREFIX.length()), Long.parseLong(v));
            }
        });
        return m;
    }

    /** What {@code after} counted beyond {@code before}: the kinds with requests in between, most first. */
    static Map<String, Long> since(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> d = new LinkedHashMap<>();
        after.entrySet().stream().map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() != 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> d.put(e.getKey(), e.getValue()));
        return d;
    }
}
