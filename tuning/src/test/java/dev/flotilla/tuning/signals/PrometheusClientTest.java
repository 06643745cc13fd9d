package dev.flotilla.tuning.signals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.flotilla.tuning.recommend.Series;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Range queries against a real Prometheus server scraping a scripted exporter. */
class PrometheusClientTest {

    @Test
    void rangeQueriesReturnTheScrapedSeriesAndCounterResetsAreCountedNotSubtracted() throws Exception {
        AtomicLong scrapes = new AtomicLong();
        HttpServer exporter = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        exporter.createContext("/metrics", exchange -> {
            long n = scrapes.incrementAndGet();
            // An OOM counter that counts 1, 2, 3 then restarts at 0 (the container restarted), and a gauge.
            long ooms = n <= 3 ? n : n - 4;
            String body = "# TYPE scripted_oom_events_total counter\n"
                    + "scripted_oom_events_total{container=\"app\"} " + ooms + "\n"
                    + "# TYPE scripted_working_set_bytes gauge\n"
                    + "scripted_working_set_bytes{container=\"app\"} " + (1_000_000 + n) + "\n";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        exporter.start();
        try (PrometheusServer prometheus = PrometheusServer.start("127.0.0.1:" + exporter.getAddress().getPort())) {
            PrometheusClient client = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(5));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (scrapes.get() < 8 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            Thread.sleep(1500);
            Instant end = Instant.now();
            Map<Map<String, String>, Series> raw = client.rangeQuery("scripted_oom_events_total", end.minusSeconds(60), end,
                    Duration.ofSeconds(1));
            assertThat(raw).hasSize(1);
            Series counter = raw.values().iterator().next();
            assertThat(raw.keySet().iterator().next()).containsEntry("container", "app");
            // 1, 2, 3, reset to 0, 1, 2, ...: every increment counts, the reset is not a drop of 3.
            assertThat(counter.counterIncrease()).isGreaterThanOrEqualTo(scrapes.get() - 6);
            Map<Map<String, String>, Series> increase = client.rangeQuery("increase(scripted_oom_events_total[30s])",
                    end.minusSeconds(5), end, Duration.ofSeconds(1));
            assertThat(increase.values().iterator().next().max().orElseThrow()).isGreaterThan(0);
            Series gauge = client.rangeQuery("scripted_working_set_bytes", end.minusSeconds(60), end, Duration.ofSeconds(1))
                    .values().iterator().next();
            assertThat(gauge.max().orElseThrow()).isGreaterThan(1_000_000);

            assertThatThrownBy(() -> client.rangeQuery("rate(", end.minusSeconds(60), end, Duration.ofSeconds(1)))
                    .isInstanceOf(SignalsUnavailableException.class).hasMessageContaining("answered 400");
        } finally {
            exporter.stop(0);
        }
    }

    @Test
    void anUnreachablePrometheusIsSignalsUnavailableNamingTheServerAndQuery() throws Exception {
        int port = PrometheusServer.freePort(); // nothing listens
        PrometheusClient client = new PrometheusClient(URI.create("http://127.0.0.1:" + port), Duration.ofSeconds(1));
        assertThatThrownBy(() -> client.rangeQuery("up", Instant.now().minusSeconds(60), Instant.now(), Duration.ofSeconds(15)))
                .isInstanceOf(SignalsUnavailableException.class)
                .hasMessageContaining("http://127.0.0.1:" + port).hasMessageContaining("did not answer up");
    }
}
