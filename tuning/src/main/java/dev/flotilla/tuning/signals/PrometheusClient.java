package dev.flotilla.tuning.signals;

import dev.flotilla.resilience.guard.GuardConfig.CircuitBreakerSettings;
import dev.flotilla.resilience.guard.GuardMetricNames;
import dev.flotilla.resilience.guard.RequestGuard;
import dev.flotilla.resilience.guard.TokenBucketRateLimiter;
import dev.flotilla.tuning.recommend.Sample;
import dev.flotilla.tuning.recommend.Series;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedRateLimiterMetricsPublisher;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A small client for Prometheus' HTTP API ({@code /api/v1/query_range}). Every call passes a token bucket
 * and a circuit breaker (Resilience4j's, with the API guard's settings record and metrics), is sent as a
 * POST form (so a long selector never makes a long URL), is bounded in time and in the bytes it reads, and
 * every failure becomes a {@link SignalsUnavailableException} that names the query and the reason, so the
 * tuner reports "signals missing" instead of acting. While the breaker is open no call is sent; each fails
 * at once saying how many calls failed and when the next attempt is allowed.
 *
 * <p>Only an unreachable Prometheus, a timeout, a 5xx or a 429 count as failures for the breaker: a
 * query Prometheus refuses (400, 422) or an answer over the size bound says nothing about its health.
 *
 * <pre>{@code
 * MeterRegistry registry = new SimpleMeterRegistry();
 * var prometheus = new PrometheusClient(URI.create("http://prometheus:9090"), PrometheusSettings.defaults(), registry);
 * Instant to = Instant.now();
 * Map<Map<String, String>, Series> usage = prometheus.rangeQuery(
 *         "rate(container_cpu_usage_seconds_total{namespace=\"shop\"}[5m])", to.minus(Duration.ofHours(1)), to,
 *         Duration.ofMinutes(1));
 * }</pre>
 */
public final class PrometheusClient {

    /** The name of the breaker and the rate limiter in their metrics ({@code name} tag); {@code host} tells servers apart. */
    public static final String GUARD_NAME = "prometheus";

    /** What a query is shortened to in messages: a batch's selector lists up to 50 pod names. */
    private static final int QUERY_IN_MESSAGES = 200;

    private final URI base;
    private final String endpoint;
    private final PrometheusSettings settings;
    private final HttpClient http;
    private final CircuitBreaker breaker;
    private final TokenBucketRateLimiter limiter;
    /** Why the breaker last opened, for the messages of the calls it then refuses. */
    private volatile Opened opened;
    private volatile String lastFailure = "none";

    private record Opened(Instant at, int failed, int calls, String lastFailure) {
    }

    /** Whether Prometheus answered a start-up probe, and what it said (its version) or why not. */
    public record Probe(boolean answered, String detail) {
        public Probe {
            Objects.requireNonNull(detail, "detail");
        }
    }

    /** A client with the default settings and {@code timeout}, its guard's metrics in a registry of its own. */
    public PrometheusClient(URI base, Duration timeout) {
        this(base, PrometheusSettings.defaults().withTimeout(timeout), new SimpleMeterRegistry());
    }

    /**
     * @param base     Prometheus' base URL, e.g. {@code http://prometheus:9090} or {@code https://host/prometheus}
     *                 (a path prefix is kept); see {@link #problemWith(URI)}
     * @param registry where the breaker's and the rate limiter's metrics go ({@code resilience4j_*}, tagged
     *                 {@code name="prometheus"} and {@code host})
     */
    public PrometheusClient(URI base, PrometheusSettings settings, MeterRegistry registry) {
        Objects.requireNonNull(base, "base");
        this.settings = Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(registry, "registry");
        Optional<String> problem = problemWith(base);
        if (problem.isPresent()) {
            throw new IllegalArgumentException("Prometheus URL " + base + ": " + problem.get());
        }
        this.base = base;
        this.endpoint = RequestGuard.apiServer(base);
        this.http = HttpClient.newBuilder().connectTimeout(settings.timeout()).build();
        Map<String, String> tags = Map.of(GuardMetricNames.LABEL_HOST, endpoint);
        CircuitBreakerRegistry breakers = CircuitBreakerRegistry.of(breakerConfig(settings.breaker()));
        this.breaker = breakers.circuitBreaker(GUARD_NAME, tags);
        this.breaker.getEventPublisher().onStateTransition(e -> {
            if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                CircuitBreaker.Metrics m = breaker.getMetrics();
                opened = new Opened(Instant.now(), m.getNumberOfFailedCalls(), m.getNumberOfBufferedCalls(), lastFailure);
            }
        });
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers).bindTo(registry);
        this.limiter = new TokenBucketRateLimiter(GUARD_NAME, settings.qps(), settings.burst(), settings.maxPermitWait(), tags);
        new TaggedRateLimiterMetricsPublisher(registry).publishMetrics(limiter);
    }

    /**
     * What is wrong with {@code base} as Prometheus' base URL, if anything: it must be an absolute
     * {@code http} or {@code https} URL with a host and a valid port, without credentials (they would not be
     * sent), a query or a fragment (the client appends its own path and sends a form), and not an API path.
     */
    public static Optional<String> problemWith(URI base) {
        String scheme = base.getScheme() == null ? "" : base.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.isEmpty()) {
            return Optional.of("needs a scheme: http:// or https://");
        }
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return Optional.of("the scheme must be http or https, not '" + base.getScheme() + "'"
                    + (base.isOpaque() ? " (is 'http://' missing?)" : ""));
        }
        if (base.isOpaque() || base.getRawAuthority() == null || base.getRawAuthority().isEmpty()) {
            return Optional.of("has no host");
        }
        if (base.getRawUserInfo() != null) {
            return Optional.of("must not carry credentials: they would not be sent");
        }
        if (base.getHost() == null) {
            return Optional.of("'" + base.getRawAuthority() + "' is not a host name or host:port");
        }
        if (base.getPort() > 65535) {
            return Optional.of("port " + base.getPort() + " is out of range (1-65535)");
        }
        if (base.getRawQuery() != null) {
            return Optional.of("must not have a query ('?" + base.getRawQuery() + "'): the tuner sends its own");
        }
        if (base.getRawFragment() != null) {
            return Optional.of("must not have a fragment ('#" + base.getRawFragment() + "')");
        }
        String path = base.getRawPath() == null ? "" : base.getRawPath();
        if (path.contains("/api/v1")) {
            return Optional.of("give Prometheus' base URL, not an API path ('" + path + "')");
        }
        return Optional.empty();
    }

    public URI base() {
        return base;
    }

    public PrometheusSettings settings() {
        return settings;
    }

    /** The breaker every call passes (for metrics and tests). */
    public CircuitBreaker circuitBreaker() {
        return breaker;
    }

    /** Every series the query returns over [start, end] at {@code step}, keyed by its labels; NaN samples dropped. */
    public Map<Map<String, String>, Series> rangeQuery(String promql, Instant start, Instant end, Duration step)
            throws SignalsUnavailableException, InterruptedException {
        String form = "query=" + enc(promql) + "&start=" + start.getEpochSecond() + "&end=" + end.getEpochSecond()
                + "&step=" + Math.max(1, step.toSeconds());
        HttpRequest request = HttpRequest.newBuilder(uri("/api/v1/query_range")).timeout(settings.timeout())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build();
        return parse(promql, send(promql, request));
    }

    /**
     * Asks Prometheus for its build information, through the same guard as the queries; never throws for a
     * Prometheus that does not answer (it may start after the tuner).
     */
    public Probe probe() throws InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri("/api/v1/status/buildinfo")).timeout(settings.timeout()).GET().build();
        try {
            String body = send("the build information", request);
            Object data = Serialization.unmarshal(body, Map.class).get("data");
            Object version = data instanceof Map<?, ?> d ? d.get("version") : null;
            return new Probe(true, "version " + (version == null ? "unknown" : version));
        } catch (SignalsUnavailableException | RuntimeException e) {
            return new Probe(false, String.valueOf(e.getMessage()));
        }
    }

    private URI uri(String path) {
        // Appended, not resolved: a Prometheus behind a path prefix (http://host/prometheus) keeps it.
        return URI.create(base.toString().replaceAll("/+$", "") + path);
    }

    /** One call through the breaker and the rate limiter; the answer's body if Prometheus answered 2xx. */
    private String send(String what, HttpRequest request) throws SignalsUnavailableException, InterruptedException {
        String query = abbreviate(what, QUERY_IN_MESSAGES);
        // The breaker's permission is taken after the wait for a token: a half-open probe must not sit out the wait
        // holding one of the few permissions (an open breaker is checked first, so a refused call costs no token).
        if (!breaker.tryAcquirePermission()) {
            throw new SignalsUnavailableException(refusal(query));
        }
        breaker.releasePermission();
        long waitNanos = limiter.reservePermission();
        if (waitNanos < 0) {
            throw new SignalsUnavailableException("Prometheus at " + base + " was not asked " + query + ": the client-side rate "
                    + "limit (" + settings.qps() + "/s, burst " + settings.burst() + ") would make it wait over "
                    + settings.maxPermitWait().toSeconds() + " s");
        }
        if (waitNanos > 0) {
            Thread.sleep(Duration.ofNanos(waitNanos));
        }
        if (!breaker.tryAcquirePermission()) {
            throw new SignalsUnavailableException(refusal(query));
        }
        long limit = settings.maxResponseBytes();
        long started = System.nanoTime();
        CompletableFuture<HttpResponse<byte[]>> pending = http.sendAsync(request, info -> new BoundedBody(
                info.headers().firstValueAsLong("Content-Length").orElse(-1), limit));
        HttpResponse<byte[]> response;
        try {
            // The request's own timeout ends at the headers; this one includes reading the body.
            response = pending.get(settings.timeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            pending.cancel(true);
            breaker.releasePermission();
            throw e;
        } catch (TimeoutException e) {
            pending.cancel(true);
            String reason = "no complete answer within " + settings.timeout().toMillis() + " ms";
            failed(started, reason, e);
            throw new SignalsUnavailableException("Prometheus at " + base + " did not answer " + query + ": " + reason, e);
        } catch (ExecutionException e) {
            Optional<TooLarge> tooLarge = causeOf(e, TooLarge.class);
            if (tooLarge.isPresent()) {
                // Prometheus answered: the query selected too much, which says nothing about Prometheus' health.
                breaker.onSuccess(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                throw new SignalsUnavailableException("Prometheus at " + base + " answered " + query + " with more than "
                        + limit + " bytes (the response size limit" + tooLarge.get().declared() + "); refused after reading "
                        + tooLarge.get().read() + " bytes", e.getCause());
            }
            Throwable cause = e.getCause() == null ? e : e.getCause();
            failed(started, String.valueOf(cause), cause);
            throw new SignalsUnavailableException("Prometheus at " + base + " did not answer " + query + ": " + cause, cause);
        }
        int status = response.statusCode();
        String body = new String(response.body(), StandardCharsets.UTF_8);
        if (status / 100 != 2) {
            if (status >= 500 || status == 429) {
                failed(started, "answered " + status + ": " + abbreviate(body, 200), new ServerFailure(status));
            } else {
                breaker.onSuccess(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            }
            throw new SignalsUnavailableException("Prometheus at " + base + " answered " + status + " to " + query + ": "
                    + abbreviate(body, 300));
        }
        breaker.onSuccess(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        return body;
    }

    private void failed(long startedNanos, String reason, Throwable failure) {
        lastFailure = reason;
        breaker.onError(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS, failure);
    }

    /** Why the breaker refused a call: how many calls failed, the last failure, and when the next attempt goes. */
    private String refusal(String query) {
        Opened o = opened;
        CircuitBreakerSettings b = settings.breaker();
        String since = o == null ? "" : " since " + o.at().truncatedTo(ChronoUnit.SECONDS) + ", after " + o.failed() + " of the last "
                + o.calls() + " calls failed (last: " + abbreviate(o.lastFailure(), 200) + ")";
        String next = breaker.getState() == CircuitBreaker.State.HALF_OPEN
                ? "it is probing Prometheus with " + b.halfOpenCalls() + " calls now; the next attempt is allowed when they succeed"
                : "the next attempt is allowed from "
                        + (o == null ? "after " + b.waitInOpenState().toSeconds() + " s"
                                : o.at().plus(b.waitInOpenState()).truncatedTo(ChronoUnit.SECONDS).toString());
        return "Prometheus at " + base + " was not asked " + query + ": its circuit breaker is "
                + breaker.getState().name().toLowerCase(Locale.ROOT).replace('_', '-') + since + "; " + next + " (refused so far: "
                + breaker.getMetrics().getNumberOfNotPermittedCalls() + ")";
    }

    static CircuitBreakerConfig breakerConfig(CircuitBreakerSettings b) {
        return CircuitBreakerConfig.custom()
                .failureRateThreshold((float) b.failureRateThreshold())
                .slidingWindow(b.slidingWindowSize(), b.minimumCalls(), b.slidingWindowType())
                .waitDurationInOpenState(b.waitInOpenState())
                .permittedNumberOfCallsInHalfOpenState(b.halfOpenCalls())
                .slowCallDurationThreshold(b.slowCallDuration())
                .slowCallRateThreshold((float) b.slowCallRateThreshold())
                // A probe that hangs must not keep the breaker half-open for ever (as in the API guard).
                .maxWaitDurationInHalfOpenState(b.slowCallDuration())
                // Probes go lazily, with the next call after the wait: no timer thread.
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .writableStackTraceEnabled(false)
                .build();
    }

    @SuppressWarnings("unchecked")
    static Map<Map<String, String>, Series> parse(String promql, String body) throws SignalsUnavailableException {
        String query = abbreviate(promql, QUERY_IN_MESSAGES);
        Map<String, Object> json;
        try {
            json = Serialization.unmarshal(body, Map.class);
        } catch (RuntimeException e) {
            throw new SignalsUnavailableException("Prometheus returned something that is not JSON for " + query, e);
        }
        if (json == null || !"success".equals(json.get("status")) || !(json.get("data") instanceof Map<?, ?> data)) {
            throw new SignalsUnavailableException("Prometheus query failed for " + query + ": "
                    + (json == null ? "empty answer" : json.getOrDefault("error", json.get("status"))));
        }
        if (!"matrix".equals(data.get("resultType")) || !(data.get("result") instanceof List<?> result)) {
            throw new SignalsUnavailableException("Prometheus answered " + data.get("resultType") + ", not a matrix, for " + query);
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

    private static <T extends Throwable> Optional<T> causeOf(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return Optional.of(type.cast(c));
            }
        }
        return Optional.empty();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "... (" + s.length() + " chars)";
    }

    /** A 5xx or 429 answer, as the failure the breaker records. */
    private static final class ServerFailure extends Exception {
        ServerFailure(int status) {
            super("HTTP " + status, null, false, false);
        }
    }

    /** The answer exceeded the size bound; {@code read} bytes were taken before giving up. */
    private static final class TooLarge extends IOException {
        private final long read;
        private final long declaredLength;

        TooLarge(long read, long declaredLength) {
            super("response larger than the limit", null);
            this.read = read;
            this.declaredLength = declaredLength;
        }

        long read() {
            return read;
        }

        String declared() {
            return declaredLength >= 0 ? "; it declared " + declaredLength : "";
        }
    }

    /**
     * Collects a body of at most {@code limit} bytes. A declared length over the limit is refused before
     * reading anything; otherwise the body is read a buffer at a time and the exchange is cancelled as soon as
     * it would pass the limit, so no more than the limit is ever held.
     */
    private static final class BoundedBody implements BodySubscriber<byte[]> {
        private final long declared;
        private final long limit;
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        BoundedBody(long declared, long limit) {
            this.declared = declared;
            this.limit = limit;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (declared > limit) {
                s.cancel();
                result.completeExceptionally(new TooLarge(0, declared));
                return;
            }
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            if (result.isDone()) {
                return; // refused already: buffers still in flight after the cancel are dropped
            }
            for (ByteBuffer b : buffers) {
                if (out.size() + (long) b.remaining() > limit) {
                    subscription.cancel();
                    result.completeExceptionally(new TooLarge(out.size(), declared));
                    return;
                }
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                out.writeBytes(bytes);
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(out.toByteArray());
        }
    }
}
