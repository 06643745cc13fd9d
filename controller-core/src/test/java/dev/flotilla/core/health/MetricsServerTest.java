package dev.flotilla.core.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class MetricsServerTest {

    /**
     * 40 requests at once against an authorizer that blocks: no more than the fixed few are ever being served, no
     * thread is started per request, and once it unblocks the server still answers.
     */
    @Test
    void aFloodOfRequestsIsServedByAFixedFewThreads() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        MetricsAuthorizer slow = token -> {
            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inside.decrementAndGet();
            return new MetricsAuthorizer.Decision.Allowed("test");
        };
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        int threadsBefore = Thread.activeCount();
        try (MetricsServer server = MetricsServer.start(new MetricsServing.Dedicated("127.0.0.1", 0, Optional.empty(), slow),
                registry)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            URI url = URI.create("http://127.0.0.1:" + server.port() + "/metrics");
            List<CompletableFuture<HttpResponse<String>>> flood = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                flood.add(http.sendAsync(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            Thread.sleep(1500);
            assertThat(most.get()).as("requests served at once").isEqualTo(HealthServer.REQUEST_THREADS);
            assertThat(Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("flotilla-metrics-http")))
                    .as("request threads").hasSize(HealthServer.REQUEST_THREADS);
            release.countDown();
            long ok = flood.stream().map(f -> {
                try {
                    return f.get(30, TimeUnit.SECONDS).statusCode();
                } catch (Exception e) {
                    return -1; // dropped beyond the queue: the connection was closed
                }
            }).filter(code -> code == 200).count();
            assertThat(ok).as("answered: the running ones and the queued ones")
                    .isGreaterThanOrEqualTo(HealthServer.REQUEST_THREADS + HealthServer.QUEUED_REQUESTS);
            assertThat(http.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }
        assertThat(threadsBefore).isPositive();
    }

    @Test
    void decisionsMapToTheirStatus() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        AtomicInteger call = new AtomicInteger();
        MetricsAuthorizer cycling = token -> switch (call.getAndIncrement()) {
            case 0 -> new MetricsAuthorizer.Decision.Unauthenticated("no bearer token");
            case 1 -> new MetricsAuthorizer.Decision.Denied("bob", "no rule");
            case 2 -> new MetricsAuthorizer.Decision.Unavailable("api server down");
            default -> new MetricsAuthorizer.Decision.Allowed("alice");
        };
        try (MetricsServer server = MetricsServer.start(new MetricsServing.Dedicated("127.0.0.1", 0, Optional.empty(), cycling),
                registry)) {
            HttpClient http = HttpClient.newHttpClient();
            URI url = URI.create("http://127.0.0.1:" + server.port() + "/metrics");
            List<Integer> codes = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                codes.add(http.send(HttpRequest.newBuilder(url).header("Authorization", "Bearer t").build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
            }
            assertThat(codes).containsExactly(401, 403, 503, 200);
            assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/other")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
        }
    }
}
