package dev.flotilla.resilience.guard;

import java.time.Duration;
import java.util.stream.DoubleStream;

/**
 * The names of the metrics the guard adds besides Resilience4j's own ({@code resilience4j_ratelimiter_*},
 * {@code resilience4j_circuitbreaker_*}, {@code resilience4j_retry_*}, tagged {@code name} and {@code host}).
 * client-go's names and labels, so its dashboards work. Labels never carry paths or object names.
 */
public final class GuardMetricNames {

    private GuardMetricNames() {
    }

    /** client-go: request latency per attempt (time to the full response), by HTTP verb and API server. */
    public static final String REST_CLIENT_REQUEST_DURATION_SECONDS = "rest_client_request_duration_seconds";
    /** client-go: how long requests waited for the client-side rate limiter. */
    public static final String REST_CLIENT_RATE_LIMITER_DURATION_SECONDS = "rest_client_rate_limiter_duration_seconds";

    /** Writes the write fence refused right before sending (the replica no longer safely held their shard). */
    public static final String FENCED_WRITES_TOTAL = "flotilla_fenced_writes_total";

    /** The HTTP method, upper case, as client-go's {@code verb} label. */
    public static final String LABEL_VERB = "verb";
    /** The API server as {@code host:port}; same key as core's {@code rest_client_requests_total}. */
    public static final String LABEL_HOST = dev.flotilla.core.metrics.MetricNames.LABEL_HOST;
    /** Tag on the rate limiter gauges: {@code requests} or {@code leases}. */
    public static final String LABEL_BUDGET = "budget";

    /** client-go's buckets for both histograms (k8s.io/component-base restclient metrics). */
    static Duration[] latencyBuckets() {
        return DoubleStream.of(0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
                .mapToObj(s -> Duration.ofNanos(Math.round(s * 1e9)))
                .toArray(Duration[]::new);
    }
}
