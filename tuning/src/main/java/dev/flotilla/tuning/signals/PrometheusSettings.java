package dev.flotilla.tuning.signals;

import dev.flotilla.resilience.guard.GuardConfig.CircuitBreakerSettings;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link PrometheusClient} talks to Prometheus: the timeout of each call, the largest answer it
 * reads, the client-side rate limit (a token bucket, as for API calls) and the circuit breaker. The
 * {@code DEFAULT_*} constants are the one source of these defaults.
 *
 * <pre>{@code
 * PrometheusSettings settings = PrometheusSettings.defaults()
 *         .withTimeout(Duration.ofSeconds(5))
 *         .withMaxResponseBytes(8L << 20);
 * }</pre>
 *
 * @param timeout          the longest one call may take, from sending to the last byte of the answer
 * @param maxResponseBytes the largest answer read; a larger one is refused after reading this many bytes
 * @param qps              calls per second the token bucket refills
 * @param burst            calls the token bucket saves up
 * @param maxPermitWait    the longest a call waits for a token; a longer wait fails the call instead
 * @param breaker          when the breaker opens and how long it then fails fast (the API guard's record;
 *                         only unreachable, timed-out and 5xx/429 answers count as failures)
 */
public record PrometheusSettings(Duration timeout, long maxResponseBytes, double qps, int burst, Duration maxPermitWait,
        CircuitBreakerSettings breaker) {

    /** A 24 h range query at a 1-minute step with one pooled series per pod answers in well under a second. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /**
     * 32 MiB: a 24 h window at a 1-minute step is 1,440 points, about 40 KB of JSON per series, so a batch of
     * {@link PrometheusSignals#DEFAULT_PODS_PER_QUERY} pods answers about 2 MB; a selector that matched far more
     * than it should (e.g. a whole cluster) is refused rather than held in memory.
     */
    public static final long DEFAULT_MAX_RESPONSE_BYTES = 32L << 20;
    /** A policy's fetch is 7 or 8 queries per pod batch; the tuner's workers share the bucket. */
    public static final double DEFAULT_QPS = 10;
    public static final int DEFAULT_BURST = 40;
    public static final Duration DEFAULT_MAX_PERMIT_WAIT = Duration.ofSeconds(30);
    /**
     * Opens when half of the last 10 calls (at least 5) failed, then fails fast for 30 s: a Prometheus that is
     * down or overloaded is not asked again by every reconcile of every policy.
     */
    public static final CircuitBreakerSettings DEFAULT_BREAKER = new CircuitBreakerSettings(50, SlidingWindowType.COUNT_BASED,
            10, 5, Duration.ofSeconds(30), 2, DEFAULT_TIMEOUT, 100);

    public PrometheusSettings {
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(maxPermitWait, "maxPermitWait");
        Objects.requireNonNull(breaker, "breaker");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        if (maxResponseBytes < 1) {
            throw new IllegalArgumentException("maxResponseBytes must be positive, got " + maxResponseBytes);
        }
        if (!(qps > 0) || burst < 1) {
            throw new IllegalArgumentException("qps and burst must be positive, got " + qps + " and " + burst);
        }
        if (maxPermitWait.isNegative()) {
            throw new IllegalArgumentException("maxPermitWait must not be negative, got " + maxPermitWait);
        }
    }

    public static PrometheusSettings defaults() {
        return new PrometheusSettings(DEFAULT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_QPS, DEFAULT_BURST,
                DEFAULT_MAX_PERMIT_WAIT, DEFAULT_BREAKER);
    }

    public PrometheusSettings withTimeout(Duration timeout) {
        return new PrometheusSettings(timeout, maxResponseBytes, qps, burst, maxPermitWait, breaker);
    }

    public PrometheusSettings withMaxResponseBytes(long maxResponseBytes) {
        return new PrometheusSettings(timeout, maxResponseBytes, qps, burst, maxPermitWait, breaker);
    }

    public PrometheusSettings withRateLimit(double qps, int burst) {
        return new PrometheusSettings(timeout, maxResponseBytes, qps, burst, maxPermitWait, breaker);
    }

    public PrometheusSettings withBreaker(CircuitBreakerSettings breaker) {
        return new PrometheusSettings(timeout, maxResponseBytes, qps, burst, maxPermitWait, breaker);
    }
}
