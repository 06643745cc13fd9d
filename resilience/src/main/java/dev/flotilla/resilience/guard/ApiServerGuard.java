package dev.flotilla.resilience.guard;

import dev.flotilla.resilience.guard.RequestKind.Budget;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.retry.Retry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The guard's state for one API server ({@code host:port}): two token buckets, a breaker, a retry, timers. */
final class ApiServerGuard {

    private static final Logger log = LoggerFactory.getLogger(ApiServerGuard.class);

    /** While half-open probes are in flight, callers are told to come back after this long (or the open wait). */
    static final Duration HALF_OPEN_HINT = Duration.ofSeconds(1);

    final String apiServer;
    final GuardConfig config;
    final TokenBucketRateLimiter requests;
    final TokenBucketRateLimiter leases;
    final CircuitBreaker breaker;
    final Retry retry;
    private final MeterRegistry registry;
    private final Map<String, Timer> latency = new ConcurrentHashMap<>();
    private final Map<String, Timer> permitWait = new ConcurrentHashMap<>();
    private final Map<String, Counter> fenced = new ConcurrentHashMap<>();
    /** System.nanoTime() at which the breaker lets the next probe through; valid while OPEN. */
    private volatile long openUntilNanos;

    ApiServerGuard(String apiServer, GuardConfig config, TokenBucketRateLimiter requests,
            TokenBucketRateLimiter leases, CircuitBreaker breaker, Retry retry, MeterRegistry registry) {
        this.apiServer = apiServer;
        this.config = config;
        this.requests = requests;
        this.leases = leases;
        this.breaker = breaker;
        this.retry = retry;
        this.registry = registry;
        breaker.getEventPublisher().onStateTransition(event -> {
            var transition = event.getStateTransition();
            if (transition.getToState() == CircuitBreaker.State.OPEN) {
                openUntilNanos = System.nanoTime() + config.breaker().waitInOpenState().toNanos();
                log.atWarn().addKeyValue("apiServer", apiServer).addKeyValue("from", transition.getFromState())
                        .addKeyValue("failureRate", breaker.getMetrics().getFailureRate())
                        .addKeyValue("slowCallRate", breaker.getMetrics().getSlowCallRate())
                        .addKeyValue("waitInOpenState", config.breaker().waitInOpenState())
                        .log("circuit breaker opened: requests fail fast until the next probe");
            } else {
                log.atInfo().addKeyValue("apiServer", apiServer).addKeyValue("from", transition.getFromState())
                        .addKeyValue("to", transition.getToState()).log("circuit breaker state changed");
            }
        });
    }

    /**
     * A request the breaker does not gate (a Lease's) got the server's answer: the server is back, so an open breaker
     * lets its probes through now instead of waiting out the rest of its open interval. After an outage every replica
     * renews its leases at once and would otherwise see its informers and reconciles wait up to that interval more
     * (measured: 7 s after a 20 s partition, the last probe having reopened the breaker as the partition ended).
     */
    void answeredOutsideTheBreaker() {
        if (breaker.getState() == CircuitBreaker.State.OPEN) {
            try {
                breaker.transitionToHalfOpenState();
            } catch (IllegalStateException raced) {
                // Another thread moved it first (the open interval ran out, or another answer): nothing to do.
            }
        }
    }

    TokenBucketRateLimiter limiter(Budget budget) {
        return budget == Budget.LEASES ? leases : requests;
    }

    /** Why the breaker did not let a request through, and when to come back. */
    NotSent.BreakerOpen unavailable() {
        CircuitBreaker.State state = breaker.getState();
        Duration retryAfter = switch (state) {
            case OPEN -> Duration.ofNanos(Math.max(0, openUntilNanos - System.nanoTime()));
            case HALF_OPEN -> HALF_OPEN_HINT.compareTo(config.breaker().waitInOpenState()) < 0
                    ? HALF_OPEN_HINT : config.breaker().waitInOpenState();
            default -> config.breaker().waitInOpenState();
        };
        return new NotSent.BreakerOpen(apiServer, retryAfter, state.name());
    }

    void recordLatency(String verb, long nanos) {
        latency.computeIfAbsent(verb, v -> Timer.builder(GuardMetricNames.REST_CLIENT_REQUEST_DURATION_SECONDS)
                .description("Request latency in seconds. Broken down by verb, and host.")
                .tags(GuardMetricNames.LABEL_VERB, v, GuardMetricNames.LABEL_HOST, apiServer)
                .serviceLevelObjectives(GuardMetricNames.latencyBuckets())
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    void recordFenced(String verb) {
        fenced.computeIfAbsent(verb, v -> Counter.builder(GuardMetricNames.FENCED_WRITES_TOTAL)
                .description("Writes the write fence refused right before sending, or struck in flight, by verb and host.")
                .tags(GuardMetricNames.LABEL_VERB, v, GuardMetricNames.LABEL_HOST, apiServer)
                .register(registry)).increment();
    }

    void recordPermitWait(String verb, long nanos) {
        permitWait.computeIfAbsent(verb, v -> Timer.builder(GuardMetricNames.REST_CLIENT_RATE_LIMITER_DURATION_SECONDS)
                .description("Client side rate limiter latency in seconds. Broken down by verb, and host.")
                .tags(GuardMetricNames.LABEL_VERB, v, GuardMetricNames.LABEL_HOST, apiServer)
                .serviceLevelObjectives(GuardMetricNames.latencyBuckets())
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }
}
