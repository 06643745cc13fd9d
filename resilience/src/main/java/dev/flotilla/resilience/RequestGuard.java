package dev.flotilla.resilience;

import dev.flotilla.core.metrics.RestClientMetrics;
import dev.flotilla.resilience.RequestClassifier.Classification;
import dev.flotilla.resilience.RequestKind.Budget;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.core.IntervalBiFunction;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedRateLimiterMetricsPublisher;
import io.github.resilience4j.micrometer.tagged.TaggedRetryMetrics;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.github.resilience4j.retry.RetryRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/**
 * The guard every request of a guarded client passes, with its state per API server ({@code host:port}, the
 * port defaulted from the scheme): a token bucket for requests and one for leases, a circuit breaker, a retry.
 * One instance is shared by a client and every client derived from it; the Resilience4j instances and the
 * metrics are created on the first request to an API server.
 *
 * <pre>{@code
 * RequestGuard guard = RequestGuard.create(GuardConfig.defaults(), meterRegistry);
 * CircuitBreaker.State state = guard.circuitBreaker("10.0.0.1:6443").getState();
 * }</pre>
 */
public final class RequestGuard {

    private final GuardConfig config;
    private final MeterRegistry registry;
    private final CircuitBreakerRegistry breakers;
    private final RetryRegistry retries;
    /**
     * resilience4j-micrometer's rate limiter binder, driven directly: a {@code RateLimiterRegistry} can only
     * create Resilience4j's own limiter, not the token bucket.
     */
    private final TaggedRateLimiterMetricsPublisher limiterMetrics;
    private final FullJitterBackoff backoff;
    private final ConcurrentMap<String, ApiServerGuard> servers = new ConcurrentHashMap<>();
    private final RestClientMetrics restClientMetrics;
    private volatile boolean countFailedAttempts;

    private RequestGuard(GuardConfig config, MeterRegistry registry) {
        this.config = Objects.requireNonNull(config, "config");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.backoff = new FullJitterBackoff(config.retryBaseBackoff(), config.retryMaxBackoff());
        this.breakers = CircuitBreakerRegistry.of(breakerConfig(config));
        this.retries = RetryRegistry.of(retryConfig(config, backoff));
        this.limiterMetrics = new TaggedRateLimiterMetricsPublisher(registry);
        this.restClientMetrics = new RestClientMetrics(registry);
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers).bindTo(registry);
        TaggedRetryMetrics.ofRetryRegistry(retries).bindTo(registry);
    }

    /** A guard with its metrics in {@code registry}. */
    public static RequestGuard create(GuardConfig config, MeterRegistry registry) {
        return new RequestGuard(config, registry);
    }

    public GuardConfig config() {
        return config;
    }

    /**
     * Installs core's {@code rest_client_requests_total{code,method,host}} on a fabric8 HTTP client builder and
     * makes the guard count the attempts that got no answer ({@code code="<error>"}): fabric8 8 reports a
     * connection failure to interceptors only from inside its own retry decision, which the guard switches off.
     */
    public void installRestClientMetrics(HttpClient.Builder builder) {
        builder.addOrReplaceInterceptor(RestClientMetrics.INTERCEPTOR_NAME, restClientMetrics);
        countFailedAttempts = true;
    }

    /** Called for every attempt that failed without an HTTP answer. */
    void attemptFailed(HttpRequest request, Throwable error) {
        if (countFailedAttempts && request != null) {
            restClientMetrics.afterConnectionFailure(request, error);
        }
    }

    /** The breaker of an API server ({@code host:port}), created if this guard has not talked to it yet. */
    public CircuitBreaker circuitBreaker(String apiServer) {
        return server(apiServer).breaker;
    }

    /** A token bucket of an API server. */
    public RateLimiter rateLimiter(String apiServer, Budget budget) {
        return server(apiServer).limiter(budget);
    }

    /** The retry of an API server. */
    public Retry retry(String apiServer) {
        return server(apiServer).retry;
    }

    /** {@code host:port} of a URI, the port defaulted from the scheme; the key of every per-server instance. */
    public static String apiServer(URI uri) {
        String host = uri.getHost() == null ? String.valueOf(uri.getAuthority()) : uri.getHost();
        int port = uri.getPort();
        if (port < 0) {
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            port = scheme.equals("http") || scheme.equals("ws") ? 80 : 443;
        }
        return host + ":" + port;
    }

    /** Runs one request through the guard. {@code request} may be null (WebSocket), it only feeds exceptions. */
    <T> CompletableFuture<T> execute(URI uri, Classification classification, HttpRequest request, String verb,
            Supplier<CompletableFuture<T>> send, GuardedCall.Responses<T> responses) {
        return new GuardedCall<>(this, server(apiServer(uri)), classification, request, verb, send, responses).start();
    }

    private ApiServerGuard server(String apiServer) {
        ApiServerGuard existing = servers.get(apiServer);
        return existing != null ? existing : servers.computeIfAbsent(apiServer, this::newServer);
    }

    private ApiServerGuard newServer(String apiServer) {
        Map<String, String> tags = Map.of(GuardMetricNames.LABEL_HOST, apiServer);
        var requests = new TokenBucketRateLimiter(apiServer + "/" + Budget.REQUESTS.label(), config.qps(),
                config.burst(), config.maxPermitWait(),
                Map.of(GuardMetricNames.LABEL_HOST, apiServer, GuardMetricNames.LABEL_BUDGET, Budget.REQUESTS.label()));
        var leases = new TokenBucketRateLimiter(apiServer + "/" + Budget.LEASES.label(), config.leaseQps(),
                config.leaseBurst(), config.maxPermitWait(),
                Map.of(GuardMetricNames.LABEL_HOST, apiServer, GuardMetricNames.LABEL_BUDGET, Budget.LEASES.label()));
        limiterMetrics.publishMetrics(requests);
        limiterMetrics.publishMetrics(leases);
        CircuitBreaker breaker = breakers.circuitBreaker(apiServer, tags);
        Retry retry = retries.retry(apiServer, tags);
        return new ApiServerGuard(apiServer, config, requests, leases, breaker, retry, registry);
    }

    static CircuitBreakerConfig breakerConfig(GuardConfig c) {
        return CircuitBreakerConfig.custom()
                .failureRateThreshold((float) c.failureRateThreshold())
                .slidingWindow(c.slidingWindowSize(), c.minimumCalls(), c.slidingWindowType())
                .waitDurationInOpenState(c.waitInOpenState())
                .permittedNumberOfCallsInHalfOpenState(c.halfOpenCalls())
                .slowCallDurationThreshold(c.slowCallDuration())
                .slowCallRateThreshold((float) c.slowCallRateThreshold())
                // A probe that hangs (a server that accepts connections but never answers) must not keep the
                // breaker half-open, failing everything else fast, for ever: past the slow-call duration the
                // breaker opens again and the next probe goes after the open wait.
                .maxWaitDurationInHalfOpenState(c.slowCallDuration())
                // Probes are let through lazily, by the next request after the wait: no timer per server.
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .writableStackTraceEnabled(false)
                .build();
    }

    static RetryConfig retryConfig(GuardConfig c, FullJitterBackoff backoff) {
        IntervalBiFunction<AttemptOutcome> interval = (attempts, either) -> {
            if (either.isRight() && either.get().retryAfter() != null) {
                return either.get().retryAfter().toMillis();
            }
            return backoff.delay(attempts).toMillis();
        };
        return RetryConfig.<AttemptOutcome>custom()
                .maxAttempts(c.retryMaxAttempts())
                .retryOnResult(AttemptOutcome::retryable)
                .retryOnException(t -> t instanceof GuardedCall.RetryableFailure)
                .intervalBiFunction(interval)
                .failAfterMaxAttempts(false)
                .writableStackTraceEnabled(false)
                .build();
    }

    /** For tests: the backoff this guard uses. */
    FullJitterBackoff backoff() {
        return backoff;
    }

    @Override
    public String toString() {
        return "RequestGuard" + config.toMap();
    }
}
