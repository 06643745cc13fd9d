package dev.flotilla.core.metrics;

import static dev.flotilla.core.metrics.MetricNames.*;

import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * client-go's {@code rest_client_requests_total{code,method,host}} for a fabric8 client: one
 * count per HTTP response, and {@code code="<error>"} when no response arrived (client-go's
 * spelling). Paths and query strings are never recorded, so no object names or tokens reach
 * the metrics.
 *
 * <pre>{@code
 * KubernetesClient client = new KubernetesClientBuilder()
 *         .withHttpClientBuilderConsumer(b -> RestClientMetrics.install(b, registry))
 *         .build();
 * }</pre>
 */
public final class RestClientMetrics implements Interceptor {

    /** The interceptor's name in fabric8's interceptor chain. */
    public static final String INTERCEPTOR_NAME = "flotilla-rest-client-metrics";
    static final String CONNECTION_ERROR_CODE = "<error>";
    /** The {@link Series} code of a connection failure (no HTTP status is negative). */
    private static final int NO_CODE = -1;

    private final MeterRegistry registry;
    /** One counter per (code, method, host): looked up, not re-registered, on every response (a hot path). */
    private final ConcurrentHashMap<Series, Counter> counters = new ConcurrentHashMap<>();

    /**
     * Keyed by the URI's raw authority and the numeric code, so that a response costs no string building: the
     * {@code host} and {@code code} labels are made once, when the counter is registered (two authorities naming
     * the same {@code host:port} get the one counter the registry already holds for those tags).
     */
    private record Series(int code, String method, String authority) {
    }

    public RestClientMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Adds the interceptor to a fabric8 HTTP client builder. */
    public static void install(HttpClient.Builder builder, MeterRegistry registry) {
        builder.addOrReplaceInterceptor(INTERCEPTOR_NAME, new RestClientMetrics(registry));
    }

    @Override
    public void after(HttpRequest request, HttpResponse<?> response, AsyncBody.Consumer<List<ByteBuffer>> consumer) {
        count(request, response.code());
    }

    @Override
    public void afterConnectionFailure(HttpRequest request, Throwable failure) {
        count(request, NO_CODE);
    }

    private void count(HttpRequest request, int code) {
        counters.computeIfAbsent(new Series(code, request.method(), request.uri().getRawAuthority()),
                s -> Counter.builder(REST_CLIENT_REQUESTS_TOTAL)
                        .description("Number of HTTP requests, partitioned by status code, method, and host")
                        .tags(LABEL_CODE, code == NO_CODE ? CONNECTION_ERROR_CODE : Integer.toString(code),
                                LABEL_METHOD, s.method(), LABEL_HOST, host(request))
                        .register(registry))
                .increment();
    }

    private static String host(HttpRequest request) {
        return request.uri().getPort() < 0
                ? String.valueOf(request.uri().getHost())
                : request.uri().getHost() + ":" + request.uri().getPort();
    }
}
