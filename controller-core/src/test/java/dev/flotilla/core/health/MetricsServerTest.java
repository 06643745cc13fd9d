package dev.flotilla.core.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class MetricsServerTest {

    /**
     * 40 requests at once against an authorizer that blocks: only {@link MetricsHandler#CONCURRENT} are reviewed at
     * once, every other one is answered 503 at once (it neither waits nor costs a review), and once the authorizer
     * answers the server serves again.
     */
    @Test
    void aFloodOfRequestsIsReviewedAFewAtATimeAndTheRestRefusedAtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        AtomicInteger reviewed = new AtomicInteger();
        MetricsAuthorizer slow = token -> {
            reviewed.incrementAndGet();
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
        try (MetricsServer server = MetricsServer.start(new MetricsServing.Dedicated("127.0.0.1", 0, Optional.empty(), slow),
                registry); HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            URI url = URI.create("http://127.0.0.1:" + server.port() + "/metrics");
            List<CompletableFuture<HttpResponse<String>>> flood = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                flood.add(http.sendAsync(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            // The refused ones are answered while the admitted ones still wait for the authorizer.
            await().atMost(Duration.ofSeconds(20)).until(() -> flood.stream().filter(CompletableFuture::isDone).count()
                    == 40 - MetricsHandler.CONCURRENT);
            assertThat(flood.stream().filter(CompletableFuture::isDone).map(CompletableFuture::join)
                    .map(HttpResponse::statusCode)).containsOnly(503);
            assertThat(most.get()).as("requests reviewed at once").isEqualTo(MetricsHandler.CONCURRENT);
            release.countDown();
            for (CompletableFuture<HttpResponse<String>> f : flood) {
                assertThat(f.get(30, TimeUnit.SECONDS).statusCode()).isIn(200, 503);
            }
            assertThat(reviewed.get()).as("reviews made").isEqualTo(MetricsHandler.CONCURRENT);
            assertThat(http.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }
    }

    /**
     * Connections that send one byte and stall (the JDK server reads a request, and does the TLS handshake, on the
     * exchange's thread) do not keep the probes or the metrics from answering.
     */
    @Test
    void stalledConnectionsDoNotBlockTheProbesOrTheMetrics() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ServingCertificate cert = ServingCertificate.selfSigned(List.of("localhost"));
        List<Socket> stalled = new ArrayList<>();
        try (HealthServer health = HealthServer.start(new InetSocketAddress("127.0.0.1", 0), Optional.empty(), List::of, List::of);
                MetricsServer metrics = MetricsServer.start(new MetricsServing.Dedicated("127.0.0.1", 0,
                        Optional.of(cert.sslContext()), MetricsAuthorizer.anyone()), registry);
                HttpClient http = HttpClient.newBuilder().sslContext(trustOnly(cert)).connectTimeout(Duration.ofSeconds(2)).build()) {
            for (int i = 0; i < 20; i++) {
                for (int port : List.of(health.port(), metrics.port())) {
                    Socket s = new Socket("127.0.0.1", port);
                    s.getOutputStream().write('G');
                    s.getOutputStream().flush();
                    stalled.add(s);
                }
            }
            long begin = System.nanoTime();
            assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + health.port() + "/healthz"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(http.send(HttpRequest.newBuilder(URI.create("https://localhost:" + metrics.port() + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - begin)).isLessThan(Duration.ofSeconds(5));
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    private static SSLContext trustOnly(ServingCertificate cert) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("server", cert.chain().getFirst());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
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
                registry); HttpClient http = HttpClient.newHttpClient()) {
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
