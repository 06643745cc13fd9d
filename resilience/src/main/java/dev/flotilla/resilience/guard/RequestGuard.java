package dev.flotilla.resilience.guard;

import dev.flotilla.core.fence.WriteFence;
import dev.flotilla.core.fence.WriteTarget;
import dev.flotilla.resilience.guard.RequestClassifier.Classification;
import dev.flotilla.resilience.guard.RequestKind.Budget;
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
 * metrics are created on the first request to an API server. It knows no HTTP client: an adapter (fabric8's is
 * {@code dev.flotilla.resilience.fabric8}) runs each request through {@link #execute}.
 *
 * <pre>{@code
 * RequestGuard guard = RequestGuard.create(GuardConfig.defaults(), registry);
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
    private volatile WriteFence fence = WriteFence.OPEN;

    private RequestGuard(GuardConfig config, MeterRegistry registry) {
        this.config = Objects.requireNonNull(config, "config");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.backoff = new FullJitterBackoff(config.retry().baseBackoff(), config.retry().maxBackoff());
        this.breakers = CircuitBreakerRegistry.of(breakerConfig(config));
        this.retries = RetryRegistry.of(retryConfig(config, backoff));
        this.limiterMetrics = new TaggedRateLimiterMetricsPublisher(registry);
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

    /** Where the guard's metrics are; an adapter adds its request metrics here too. */
    public MeterRegistry meterRegistry() {
        return registry;
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

    /**
     * Runs one request through the guard: breaker, rate limit, {@code send} per attempt, retry. The returned
     * future completes with the last attempt's answer (an error status included), the last attempt's error, or
     * {@link Transport#notSent}'s exception when the guard sent nothing; cancelling it cancels the attempt in
     * flight. Nothing blocks the calling thread: waits run on a timer that hands the send to a virtual thread.
     *
     * @param uri            the request's URI; its {@code host:port} selects the API server's breaker and budgets
     * @param classification what the request is ({@link RequestClassifier})
     * @param verb           the HTTP method, for the latency metrics' {@code verb} label
     * @param send           sends one attempt
     * @param transport      reads the attempts' answers and makes the not-sent exception
     */
    public <T> CompletableFuture<T> execute(URI uri, Classification classification, String verb,
            Supplier<CompletableFuture<T>> send, Transport<T> transport) {
        Objects.requireNonNull(classification, "classification");
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(send, "send");
        Objects.requireNonNull(transport, "transport");
        WriteTarget target = null;
        WriteFence fence = this.fence;
        if (classification.isWrite()) {
            // Every write passes the fence; a review stores nothing and has nothing to fence.
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            target = WriteTarget.fromPath(verb, path).orElse(null);
            if (target == null && fence != WriteFence.OPEN && !WriteTarget.storesNothing(path)) {
                // Fail closed: a write the fence cannot place could be to anyone's shard.
                ApiServerGuard server = server(apiServer(uri));
                server.recordFenced(verb);
                return CompletableFuture.failedFuture(transport.notSent(new NotSent.Fenced(server.apiServer,
                        new WriteTarget(verb, "", path.isEmpty() ? "/" : path, ""), "the write fence cannot read what this path changes")));
            }
        }
        return new GuardedCall<>(server(apiServer(uri)), classification, verb, send, transport, target, fence).start();
    }

    /**
     * From now on every write attempt asks {@code fence} right before it is sent (after any permit wait
     * and retry backoff). Until this is called, the fence is {@link WriteFence#OPEN}. Sharding installs
     * its fence here once it knows its shards; a program without sharding never calls it.
     */
    public void fenceWrites(WriteFence fence) {
        this.fence = Objects.requireNonNull(fence, "fence");
    }

    /** The fence writes pass now. */
    public WriteFence writeFence() {
        return fence;
    }

    private ApiServerGuard server(String apiServer) {
        ApiServerGuard existing = servers.get(apiServer);
        return existing != null ? existing : servers.computeIfAbsent(apiServer, this::newServer);
    }

    private ApiServerGuard newServer(String apiServer) {
        Map<String, String> tags = Map.of(GuardMetricNames.LABEL_HOST, apiServer);
        var requests = new TokenBucketRateLimiter(apiServer + "/" + Budget.REQUESTS.label(), config.rateLimits().qps(),
                config.rateLimits().burst(), config.rateLimits().maxPermitWait(),
                Map.of(GuardMetricNames.LABEL_HOST, apiServer, GuardMetricNames.LABEL_BUDGET, Budget.REQUESTS.label()));
        var leases = new TokenBucketRateLimiter(apiServer + "/" + Budget.LEASES.label(), config.rateLimits().leaseQps(),
                config.rateLimits().leaseBurst(), config.rateLimits().maxPermitWait(),
                Map.of(GuardMetricNames.LABEL_HOST, apiServer, GuardMetricNames.LABEL_BUDGET, Budget.LEASES.label()));
        limiterMetrics.publishMetrics(requests);
        limiterMetrics.publishMetrics(leases);
        CircuitBreaker breaker = breakers.circuitBreaker(apiServer, tags);
        Retry retry = retries.retry(apiServer, tags);
        return new ApiServerGuard(apiServer, config, requests, leases, breaker, retry, registry);
    }

    static CircuitBreakerConfig breakerConfig(GuardConfig c) {
        return CircuitBreakerConfig.custom()
                .failureRateThreshold((float) c.breaker().failureRateThreshold())
                .slidingWindow(c.breaker().slidingWindowSize(), c.breaker().minimumCalls(), c.breaker().slidingWindowType())
                .waitDurationInOpenState(c.breaker().waitInOpenState())
                .permittedNumberOfCallsInHalfOpenState(c.breaker().halfOpenCalls())
                .slowCallDurationThreshold(c.breaker().slowCallDuration())
                .slowCallRateThreshold((float) c.breaker().slowCallRateThreshold())
                // A probe that hangs (a server that accepts connections but never answers) must not keep the
                // breaker half-open, failing everything else fast, for ever: past the slow-call duration the
                // breaker opens again and the next probe goes after the open wait.
                .maxWaitDurationInHalfOpenState(c.breaker().slowCallDuration())
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
                .maxAttempts(c.retry().maxAttempts())
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
