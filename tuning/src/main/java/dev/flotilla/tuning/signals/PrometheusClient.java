package dev.flotilla.tuning.signals;

import dev.flotilla.tuning.recommend.Sample;
import dev.flotilla.tuning.recommend.Series;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A small client for Prometheus' HTTP API ({@code /api/v1/query_range}): one call per signal,
 * a timeout on each, and every failure turned into a {@link SignalsUnavailableException} that
 * names the query and the reason, so the tuner reports "signals missing" instead of acting.
 *
 * <pre>{@code
 * var prometheus = new PrometheusClient(URI.create("http://prometheus:9090"), Duration.ofSeconds(5));
 * Instant to = Instant.now();
 * Map<Map<String, String>, Series> usage = prometheus.rangeQuery(
 *         "rate(container_cpu_usage_seconds_total{namespace=\"shop\"}[5m])", to.minus(Duration.ofHours(1)), to,
 *         Duration.ofMinutes(1));
 * }</pre>
 */
public final class PrometheusClient {

    private final URI base;
    private final Duration timeout;
    private final HttpClient http;

    public PrometheusClient(URI base, Duration timeout) {
        this.base = Objects.requireNonNull(base, "base");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** Every series the query returns over [start, end] at {@code step}, keyed by its labels; NaN samples dropped. */
    public Map<Map<String, String>, Series> rangeQuery(String promql, Instant start, Instant end, Duration step)
            throws SignalsUnavailableException, InterruptedException {
        String query = "query=" + enc(promql) + "&start=" + start.getEpochSecond() + "&end=" + end.getEpochSecond()
                + "&step=" + Math.max(1, step.toSeconds());
        // Appended, not resolved: a Prometheus behind a path prefix (http://host/prometheus) keeps it.
        URI uri = URI.create(base.toString().replaceAll("/+$", "") + "/api/v1/query_range?" + query);
        HttpResponse<String> response;
        try {
            response = http.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new SignalsUnavailableException("Prometheus at " + base + " did not answer " + promql + ": " + e, e);
        }
        if (response.statusCode() / 100 != 2) {
            throw new SignalsUnavailableException("Prometheus at " + base + " answered " + response.statusCode() + " to "
                    + promql + ": " + abbreviate(response.body()));
        }
        return parse(promql, response.body());
    }

    @SuppressWarnings("unchecked")
    static Map<Map<String, String>, Series> parse(String promql, String body) throws SignalsUnavailableException {
        Map<String, Object> json;
        try {
            json = Serialization.unmarshal(body, Map.class);
        } catch (RuntimeException e) {
            throw new SignalsUnavailableException("Prometheus returned something that is not JSON for " + promql, e);
        }
        if (json == null || !"success".equals(json.get("status")) || !(json.get("data") instanceof Map<?, ?> data)) {
            throw new SignalsUnavailableException("Prometheus query failed for " + promql + ": "
                    + (json == null ? "empty answer" : json.getOrDefault("error", json.get("status"))));
        }
        if (!"matrix".equals(data.get("resultType")) || !(data.get("result") instanceof List<?> result)) {
            throw new SignalsUnavailableException("Prometheus answered " + data.get("resultType") + ", not a matrix, for " + promql);
        }
        Map<Map<String, String>, Series> out = new LinkedHashMap<>();
        for (Object item : result) {
            if (!(item instanceof Map<?, ?> entry)) {
                continue;
            }
            Map<String, String> labels = new TreeMap<>();
            if (entry.get("metric") instanceof Map<?, ?> metric) {
                metric.forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
            }
            List<Sample> samples = new ArrayList<>();
            if (entry.get("values") instanceof List<?> values) {
                for (Object v : values) {
                    if (v instanceof List<?> pair && pair.size() == 2) {
                        try {
                            long at = (long) Double.parseDouble(String.valueOf(pair.get(0)));
                            samples.add(new Sample(at, Double.parseDouble(String.valueOf(pair.get(1)))));
                        } catch (NumberFormatException ignored) {
                            // A malformed point is dropped like a NaN one.
                        }
                    }
                }
            }
            out.put(Map.copyOf(labels), Series.of(samples));
        }
        return out;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }
}
