package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.Message;
import dev.flotilla.core.fence.WriteTarget;
import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The requests a Flotilla contender sent, by kind ({@code PATCH configmaps}, {@code PUT leases}, {@code LIST
 * configmaps}, {@code WATCH configmaps}) and answer ({@code 200}, {@code 409}, {@code 429}, {@code conn} for no answer:
 * fabric8 reports one only while its own retry is on, which the guard's clients turn off, so there a request without an
 * answer is missing and keeps the census from being {@link #quiet()} again), counted where they leave its HTTP
 * clients, at the same point as the product's {@code rest_client_requests_total} (after the guard, so a retry is a
 * request of its own). That metric has controller-runtime's labels, code, method
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
    /**
     * The report field that says whether every request sent before the census was read had been counted ({@code 1}) or
     * some were still waiting for their answer ({@code 0}); see {@link #fields()}.
     */
    static final String QUIET_FIELD = "censusQuiet";
    private static final String INTERCEPTOR_NAME = "flotilla-bench-request-census";

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    /** Requests sent and requests counted: equal when none is waiting for its answer. */
    private final LongAdder sent = new LongAdder();
    private final LongAdder counted = new LongAdder();

    @Override
    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        sent.increment();
    }

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
        counted.increment(); // after the kind's count, so that "quiet" implies the kinds hold the request
    }

    /**
     * Whether every request sent so far has been counted. The server applies a write, and the driver's watch sees it,
     * before the writer's client has read the answer; a census read at that moment misses the write (it did: 98 of 100
     * mirror writes in one CI run). Counted is read before sent: both only grow, so equal readings mean that at the
     * moment counted was read every request sent had been counted.
     */
    boolean quiet() {
        long c = counted.sum();
        return c == sent.sum();
    }

    /**
     * {@code METHOD.resource}, the resource as core's {@link WriteTarget} reads an API path ({@code pods/status} with a
     * subresource): a GET is {@code WATCH} with {@code watch=true}, {@code LIST} without an object's name; a path that is
     * no resource path ({@code /version}, a review) is its last segment ({@code GET.version}).
     */
    static String kind(String method, URI uri) {
        String path = String.valueOf(uri.getRawPath());
        Optional<WriteTarget> target = WriteTarget.fromPath(method, path);
        String resource = target.map(WriteTarget::resource).orElseGet(() -> {
            String last = path.substring(path.lastIndexOf('/') + 1);
            return last.isEmpty() ? "root" : last;
        });
        String verb = method;
        if (method.equals("GET")) {
            String query = uri.getRawQuery() == null ? "" : "&" + uri.getRawQuery() + "&";
            boolean collection = target.map(t -> t.name().isEmpty()).orElse(false);
            verb = query.contains("&watch=true&") || query.contains("&watch=1&") ? "WATCH" : collection ? "LIST" : "GET";
        }
        return verb + "." + resource;
    }

    /**
     * This census as report fields: {@code req.KIND.ANSWER} to the count so far, and {@link #QUIET_FIELD}, taken before
     * the counts, so that when it says {@code 1} the counts hold every request sent before the report.
     */
    Map<String, String> fields() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put(QUIET_FIELD, quiet() ? "1" : "0");
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

    /** Whether {@code report}'s census had every request sent before it counted ({@link #quiet()}). */
    static boolean quiet(Message report) {
        return "1".equals(report.fields().get(QUIET_FIELD));
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
        Map<String, Long> d = new TreeMap<>();
        after.forEach((k, v) -> d.put(k, v - before.getOrDefault(k, 0L)));
        return mostFirst(d);
    }

    /** {@code census}'s kinds with a count other than 0, most first (ties by name). */
    static Map<String, Long> mostFirst(Map<String, Long> census) {
        Map<String, Long> m = new LinkedHashMap<>();
        census.entrySet().stream().filter(e -> e.getValue() != 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> m.put(e.getKey(), e.getValue()));
        return m;
    }
}
