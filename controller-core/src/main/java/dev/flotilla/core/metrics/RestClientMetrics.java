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

    private final MeterRegistry registry;
    /** One counter per (code, method, host): looked up, not re-registered, on every response (a hot path). */
    private final ConcurrentHashMap<Series, Counter> counters = new ConcurrentHashMap<>();

    private record Series(String code, String method, String host) {
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
        count(request, Integer.toString(response.code()));
    }

    @Override
    public void afterConnectionFailure(HttpRequest request, Throwable failure) {
        count(request, CONNECTION_ERROR_CODE);
    }

    private void count(HttpRequest request, String code) {
        String host = request.uri().getPort() < 0
                ? String.valueOf(request.uri().getHost())
                : request.uri().getHost() + ":" + request.uri().getPort();
        counters.computeIfAbsent(new Series(code, request.method(), host), s -> Counter.builder(REST_CLIENT_REQUESTS_TOTAL)
                        .description("Number of HTTP requests, partitioned by status code, method, and host")
                        .tags(LABEL_CODE, s.code(), LABEL_METHOD, s.method(), LABEL_HOST, s.host())
                        .register(registry))
                .increment();
    }
}
