package dev.flotilla.tuning.signals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.flotilla.resilience.guard.GuardConfig.CircuitBreakerSettings;
import dev.flotilla.tuning.controller.ScriptedExporter;
import dev.flotilla.tuning.controller.ScriptedExporter.Profile;
import dev.flotilla.tuning.recommend.ContainerSignals;
import dev.flotilla.tuning.recommend.Sample;
import dev.flotilla.tuning.recommend.Series;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The tuner's Prometheus edges against one real Prometheus scraping a {@link ScriptedExporter}, some calls
 * through a {@link Proxy} in front of it that counts what reaches Prometheus, refuses request lines over 8 KiB
 * with 414 (nginx's default {@code large_client_header_buffers}) and can stand for a Prometheus that is down.
 */
class PrometheusEdgesTest {

    static final Duration WINDOW = Duration.ofSeconds(20);
    static final Duration STEP = Duration.ofSeconds(1);
    static final Duration RATE = Duration.ofSeconds(5);
    static final int PODS = 300;

    static ScriptedExporter exporter;
    static PrometheusServer prometheus;
    static Proxy proxy;
    static List<String> batchPods;

    @BeforeAll
    static void start() throws Exception {
        exporter = new ScriptedExporter();
        // web.1 and webx1: '.' in a regex matches any character, so an unescaped web.1 would select both.
        exporter.register("escape", "web.1", "app", new Profile(0.2, 0.2, 0.0, false, 100L << 20, 0, 0.0, 0));
        exporter.register("escape", "webx1", "app", new Profile(1.5, 1.5, 0.3, true, 900L << 20, 0, 0.2, 0));
        // Pod names as a Deployment makes them (about 45 characters), with four different behaviours.
        batchPods = IntStream.range(0, PODS).mapToObj(i -> "checkout-frontend-7d9f8b6c5d-" + String.format("%05d", i) + "-qx7zt")
                .toList();
        List<Profile> profiles = List.of(Profile.noisyNeighbour(), Profile.selfThrottling(), Profile.slowMemoryLeak(),
                Profile.burstyJvm());
        for (int i = 0; i < PODS; i++) {
            exporter.register("batch", batchPods.get(i), "app", profiles.get(i % profiles.size()));
        }
        prometheus = PrometheusServer.start(exporter.target());
        proxy = new Proxy(prometheus.uri());
        // Until every signal has a rate over the whole rate window (RATE + a few scrapes).
        PrometheusClient direct = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(5));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Instant now = Instant.now();
            var up = direct.rangeQuery("count(rate(container_cpu_usage_seconds_total{namespace=\"batch\"}[5s]))",
                    now.minusSeconds(4), now, STEP);
            if (!up.isEmpty() && up.values().iterator().next().samples().size() >= 4
                    && up.values().iterator().next().max().orElse(0) == PODS) {
                return;
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("Prometheus did not scrape the exporter within 30 s");
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (prometheus != null) {
            prometheus.close();
        }
        if (exporter != null) {
            exporter.close();
        }
    }

    @BeforeEach
    void resetProxy() {
        proxy.reset();
    }

    /** A moment whose samples have all been scraped, so two reads of it see the same data. */
    static Instant settled() {
        return Instant.now().minusSeconds(2);
    }

    static PrometheusSignals signals(PrometheusClient client) {
        return new PrometheusSignals(client, SignalMetrics.defaults(), WINDOW, STEP, RATE);
    }

    @Test
    void aPodNameIsARegexLiteralSoWebDot1SelectsItselfNotWebx1() throws Exception {
        PrometheusClient client = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(5));
        ContainerSignals web1 = signals(client).fetch("escape", List.of("web.1"), "app", settled());
        // webx1's working set is 900 MiB, its CPU 1.5 cores, its run queue noisy: none of it may leak into web.1's.
        assertThat(web1.memoryWorkingSetBytes().max().orElseThrow()).isEqualTo(100L << 20);
        assertThat(web1.cpuUsageCores().max().orElseThrow()).isLessThan(0.5);
        assertThat(web1.runqueueLatencyP99().orElseThrow().max().orElseThrow()).isLessThan(0.002);
        assertThat(web1.memoryPressure().orElseThrow().max().orElseThrow()).isZero();
        // The '.' reaches Prometheus' regex engine as \. (written \\. inside the PromQL string literal).
        assertThat(PrometheusSignals.selector("escape", List.of("web.1", "web-2"), "app"))
                .isEqualTo("{namespace=\"escape\",pod=~\"web\\\\.1|web-2\",container=\"app\"}");
    }

    @Test
    void aPolicysMetricNamesReplaceTheReplicasForItsQueriesOnly() throws Exception {
        PrometheusClient client = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(5));
        PrometheusSignals base = signals(client);
        Instant now = settled();
        // The exporter's CFS period counter grows by 10 a scripted second: read as "CPU usage" it is tens of times web.1's 0.2 cores.
        SignalSource renamed = base.withMetricNames(Map.of(SignalMetric.CPU_USAGE, "container_cpu_cfs_periods_total",
                SignalMetric.RUN_QUEUE_LATENCY_BUCKET, "not_exported_run_queue_seconds_bucket"));
        ContainerSignals theirs = renamed.fetch("escape", List.of("web.1"), "app", now);
        assertThat(theirs.runqueueLatencyP99()).isEmpty();
        ContainerSignals ours = base.fetch("escape", List.of("web.1"), "app", now);
        assertThat(theirs.cpuUsageCores().max().orElseThrow()).isGreaterThan(10 * ours.cpuUsageCores().max().orElseThrow());
        assertThat(ours.runqueueLatencyP99()).isPresent();
        assertThat(base.names()).isEqualTo(SignalMetrics.defaults());
        assertThatThrownBy(() -> base.withMetricNames(Map.of(SignalMetric.OOM_EVENTS, "oom-kills")))
                .hasMessage("metric name for oomEvents must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$ (1-200 characters), got 'oom-kills'");
    }

    @Test
    void hundredsOfPodsAreReadInBoundedBatchesAndMergedAsOneQueryOverAllOfThemWould() throws Exception {
        PrometheusClient viaProxy = new PrometheusClient(proxy.uri(), PrometheusSettings.defaults(), new SimpleMeterRegistry());
        Instant now = settled();
        long started = System.nanoTime();
        ContainerSignals batched = signals(viaProxy).fetch("batch", batchPods, "app", now);
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("batched fetch of %d pods: %d requests in %d ms, longest request line %d B, largest body %d B%n",
                PODS, proxy.requests.get(), tookMillis, proxy.longestTarget.get(), proxy.largestBody.get());
        // 6 batches of 50 pods, 7 queries each: cpu, throttling (both sums in one query), run queue, cpu pressure,
        // memory, memory pressure, OOM events.
        assertThat(proxy.requests.get()).isEqualTo(6 * 7);
        assertThat(proxy.refused.get()).isZero();
        assertThat(proxy.longestTarget.get()).isLessThan(100);
        assertThat(proxy.largestBody.get()).isLessThan(8 << 10);

        // The same signals as one query over all 300 pods (selected by namespace, no pod list), asked directly.
        PrometheusClient direct = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(10));
        String sel = "{namespace=\"batch\",container=\"app\"}";
        String r = "[" + RATE.toSeconds() + "s]";
        assertSameValues(batched.throttledRatio().orElseThrow(), one(direct, "sum(rate(container_cpu_cfs_throttled_periods_total"
                + sel + r + ")) / sum(rate(container_cpu_cfs_periods_total" + sel + r + "))", now));
        assertSameValues(batched.runqueueLatencyP99().orElseThrow(), one(direct, "histogram_quantile(0.99, sum by (le) (rate("
                + dev.flotilla.tuning.signals.SignalMetric.RUN_QUEUE_LATENCY_BUCKET.defaultName() + sel + r + ")))", now));
        assertSameValues(batched.memoryPressure().orElseThrow(), one(direct, "max(rate(container_pressure_memory_stalled_seconds_total"
                + sel + r + "))", now));
        assertThat(batched.cpuPressure()).isEmpty(); // the exporter has no such series, in any batch
        assertThat(batched.cpuUsageCores().samples()).hasSizeGreaterThanOrEqualTo(PODS * 3); // every pod, several points
        assertThat(sortedValues(batched.cpuUsageCores())).isEqualTo(sortedValues(pooled(direct, "sum by (pod) (rate(container_cpu_usage_seconds_total" + sel + r + "))", now)));
        assertThat(sortedValues(batched.memoryWorkingSetBytes()))
                .isEqualTo(sortedValues(pooled(direct, "max by (pod) (container_memory_working_set_bytes" + sel + ")", now)));
        assertThat(batched.oomKills()).isPresent();
    }

    @Test
    void anOpenBreakerSendsNothingAndSaysHowOftenItFailedAndWhenTheNextAttemptGoes() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        PrometheusSettings settings = PrometheusSettings.defaults().withBreaker(new CircuitBreakerSettings(50,
                SlidingWindowType.COUNT_BASED, 10, 5, Duration.ofSeconds(2), 1, Duration.ofSeconds(5), 100));
        PrometheusClient client = new PrometheusClient(proxy.uri(), settings, registry);
        proxy.down.set(true);
        List<String> messages = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            try {
                client.rangeQuery("up", Instant.now().minusSeconds(10), Instant.now(), STEP);
            } catch (SignalsUnavailableException e) {
                messages.add(e.getMessage());
            }
        }
        System.out.printf("Prometheus down, 12 calls: %d reached it; 6th call: %s%n", proxy.requests.get(), messages.get(5));
        assertThat(messages).hasSize(12);
        assertThat(proxy.requests.get()).as("calls that reached Prometheus").isEqualTo(5);
        assertThat(messages.get(4)).contains("answered 503");
        assertThat(messages.get(5)).contains("Prometheus at " + proxy.uri() + " was not asked up: its circuit breaker is open since ")
                .contains("after 5 of the last 5 calls failed (last: answered 503: Prometheus is down)")
                .contains("the next attempt is allowed from ");
        assertThat(messages.get(11)).contains("(refused so far: 7)");
        assertThat(registry.get("resilience4j.circuitbreaker.state").tag("name", PrometheusClient.GUARD_NAME)
                .tag("state", "open").gauge().value()).isEqualTo(1);
        // What the tuner gets, and turns into SignalsMissing with no action: the whole fetch fails, nothing is sent.
        assertThatThrownBy(() -> signals(client).fetch("escape", List.of("web.1"), "app", Instant.now()))
                .isInstanceOf(SignalsUnavailableException.class).hasMessageContaining("circuit breaker is open");
        assertThat(proxy.requests.get()).isEqualTo(5);

        // Back up: after the open wait, one probe goes through, succeeds, and the breaker closes.
        proxy.down.set(false);
        Thread.sleep(2_100);
        assertThat(client.rangeQuery("up", Instant.now().minusSeconds(10), Instant.now(), STEP)).isNotEmpty();
        assertThat(client.circuitBreaker().getState()).isEqualTo(CircuitBreaker.State.CLOSED);
        assertThat(proxy.requests.get()).isEqualTo(6);
    }

    @Test
    void callsPassTheTokenBucket() throws Exception {
        PrometheusClient client = new PrometheusClient(prometheus.uri(), PrometheusSettings.defaults().withRateLimit(20, 1),
                new SimpleMeterRegistry());
        long started = System.nanoTime();
        for (int i = 0; i < 11; i++) {
            client.rangeQuery("up", Instant.now().minusSeconds(5), Instant.now(), STEP);
        }
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("11 calls at 20/s, burst 1: %d ms%n", tookMillis);
        assertThat(tookMillis).isGreaterThanOrEqualTo(450);
    }

    @Test
    void anAnswerOverTheSizeBoundIsRefusedNamingTheQueryAndTheLimit() throws Exception {
        String query = "container_memory_working_set_bytes{namespace=\"batch\"}";
        Instant now = settled();
        HttpResponse<byte[]> full = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(prometheus.uri()
                + "/api/v1/query_range?query=" + java.net.URLEncoder.encode(query, StandardCharsets.UTF_8) + "&start="
                + now.minus(WINDOW).getEpochSecond() + "&end=" + now.getEpochSecond() + "&step=1")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        long limit = 64 << 10;
        PrometheusClient bounded = new PrometheusClient(prometheus.uri(), PrometheusSettings.defaults().withMaxResponseBytes(limit),
                new SimpleMeterRegistry());
        assertThatThrownBy(() -> bounded.rangeQuery(query, now.minus(WINDOW), now, STEP))
                .isInstanceOf(SignalsUnavailableException.class)
                .hasMessageContaining("answered " + query + " with more than 65536 bytes (the response size limit)")
                .satisfies(e -> {
                    System.out.printf("full answer %d B; bounded client: %s%n", full.body().length, e.getMessage());
                    long read = Long.parseLong(e.getMessage().replaceAll(".*refused after reading (\\d+) bytes.*", "$1"));
                    assertThat(read).isLessThanOrEqualTo(limit);
                });
        assertThat(full.body().length).isGreaterThan((int) limit);
        // An oversized answer is the query's fault, not Prometheus' health: the breaker does not count it.
        assertThat(bounded.circuitBreaker().getMetrics().getNumberOfFailedCalls()).isZero();
        assertThat(PrometheusSettings.defaults().maxResponseBytes()).isEqualTo(32L << 20);
    }

    @Test
    void aProbeSaysWhetherPrometheusAnswered() throws Exception {
        PrometheusClient.Probe up = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(5)).probe();
        assertThat(up.answered()).isTrue();
        assertThat(up.detail()).startsWith("version 2.");
        int port = PrometheusServer.freePort();
        PrometheusClient.Probe down = new PrometheusClient(URI.create("http://127.0.0.1:" + port), Duration.ofSeconds(2)).probe();
        assertThat(down.answered()).isFalse();
        assertThat(down.detail()).contains("http://127.0.0.1:" + port).contains("did not answer");
    }

    static Series one(PrometheusClient client, String query, Instant now) throws Exception {
        Map<Map<String, String>, Series> result = client.rangeQuery(query, now.minus(WINDOW), now, STEP);
        assertThat(result).as(query).hasSize(1);
        return result.values().iterator().next();
    }

    static Series pooled(PrometheusClient client, String query, Instant now) throws Exception {
        List<Sample> all = new ArrayList<>();
        client.rangeQuery(query, now.minus(WINDOW), now, STEP).values().forEach(s -> all.addAll(s.samples()));
        return Series.of(all);
    }

    /** Same timestamps, same values up to the order floating-point sums were taken in. */
    static void assertSameValues(Series merged, Series reference) {
        assertThat(merged.samples()).extracting(Sample::epochSecond)
                .isEqualTo(reference.samples().stream().map(Sample::epochSecond).toList());
        for (int i = 0; i < merged.samples().size(); i++) {
            double expected = reference.samples().get(i).value();
            assertThat(merged.samples().get(i).value()).isCloseTo(expected, within(1e-9 * Math.max(1, Math.abs(expected))));
        }
    }

    static List<Double> sortedValues(Series s) {
        return s.samples().stream().map(Sample::value).sorted().map(v -> Math.round(v * 1e9) / 1e9).toList();
    }

    /**
     * Forwards to Prometheus and counts what it forwards; refuses a request line over 8 KiB with 414, as nginx
     * does by default; while {@link #down}, answers 503 as a proxy does whose Prometheus is gone.
     */
    static final class Proxy implements AutoCloseable {
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final AtomicInteger longestTarget = new AtomicInteger();
        final AtomicInteger largestBody = new AtomicInteger();
        final AtomicBoolean down = new AtomicBoolean();
        private final HttpServer server;
        private final HttpClient http = HttpClient.newHttpClient();

        Proxy(URI upstream) throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/", exchange -> {
                try (exchange) {
                    forward(upstream, exchange);
                }
            });
            server.start();
        }

        private void forward(URI upstream, HttpExchange exchange) throws IOException {
            String target = exchange.getRequestURI().toString();
            byte[] body = exchange.getRequestBody().readAllBytes();
            longestTarget.accumulateAndGet(target.length(), Math::max);
            largestBody.accumulateAndGet(body.length, Math::max);
            if (target.length() > 8 << 10) {
                refused.incrementAndGet();
                reply(exchange, 414, "Request-URI Too Large");
                return;
            }
            requests.incrementAndGet();
            if (down.get()) {
                reply(exchange, 503, "Prometheus is down");
                return;
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(upstream + target));
            exchange.getRequestHeaders().getOrDefault("Content-Type", List.of()).forEach(v -> b.header("Content-Type", v));
            b.method(exchange.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
            try {
                HttpResponse<byte[]> answer = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
                exchange.getResponseHeaders().add("Content-Type", answer.headers().firstValue("Content-Type").orElse("text/plain"));
                exchange.sendResponseHeaders(answer.statusCode(), answer.body().length == 0 ? -1 : answer.body().length);
                exchange.getResponseBody().write(answer.body());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                reply(exchange, 502, "interrupted");
            }
        }

        private static void reply(HttpExchange exchange, int status, String text) throws IOException {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        }

        void reset() {
            requests.set(0);
            refused.set(0);
            longestTarget.set(0);
            largestBody.set(0);
            down.set(false);
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
