package dev.flotilla.bench.plain;

import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts every HTTP request a plain fabric8 client sends (each attempt, LIST and WATCH included),
 * for the contenders that have no {@code rest_client_requests_total} of their own.
 *
 * <pre>{@code
 * RequestCounter requests = new RequestCounter();
 * new KubernetesClientBuilder().withHttpClientBuilderConsumer(requests::install).build();
 * }</pre>
 */
public final class RequestCounter implements Interceptor {

    private final AtomicLong count = new AtomicLong();

    public void install(HttpClient.Builder builder) {
        builder.addOrReplaceInterceptor("bench-requests", this);
    }

    @Override
    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        count.incrementAndGet();
    }

    public long count() {
        return count.get();
    }
}
