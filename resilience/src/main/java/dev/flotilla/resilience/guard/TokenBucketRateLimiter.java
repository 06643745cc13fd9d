package dev.flotilla.resilience.guard;

import dev.flotilla.core.ratelimit.TokenBucket;
import io.github.resilience4j.core.EventConsumer;
import io.github.resilience4j.core.EventProcessor;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.ratelimiter.event.RateLimiterEvent;
import io.github.resilience4j.ratelimiter.event.RateLimiterOnFailureEvent;
import io.github.resilience4j.ratelimiter.event.RateLimiterOnSuccessEvent;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;

/**
 * A Resilience4j {@link RateLimiter} over core's {@link TokenBucket} (client-go's semantics: {@code qps} tokens per
 * second refill it continuously, at most {@code burst} are saved up, and a caller may reserve a token ahead of
 * time), adding what Resilience4j expects of a limiter: a timeout ({@link #reservePermission(int)} returns how long
 * to wait, without blocking, as long as the wait stays within it), events, metrics and tags.
 *
 * <p>Resilience4j's own {@code AtomicRateLimiter} refills all of its permits at once at each period boundary,
 * which turns a steady load into bursts of {@code limitForPeriod} requests; a token bucket spaces them
 * {@code 1/qps} apart. {@link #getRateLimiterConfig()} describes the same average rate and burst in
 * Resilience4j's terms (a period of {@code burst/qps} seconds).
 *
 * <pre>{@code
 * var limiter = new TokenBucketRateLimiter("api:6443", 20, 30, Duration.ofSeconds(30), Map.of("host", "api:6443"));
 * long waitNanos = limiter.reservePermission(); // 0: go now; > 0: go after waitNanos; -1: rejected
 * }</pre>
 */
public final class TokenBucketRateLimiter implements RateLimiter {

    private final String name;
    private final TokenBucket bucket;
    private final Map<String, String> tags;
    private final Events events = new Events();
    private final Metrics metrics = new BucketMetrics();
    private volatile Duration timeout;

    /** A limiter over a new full bucket of {@code qps} and {@code burst}. */
    public TokenBucketRateLimiter(String name, double qps, int burst, Duration timeout, Map<String, String> tags) {
        this(name, new TokenBucket(qps, burst), timeout, tags);
    }

    /** A limiter that reserves from {@code bucket}. */
    public TokenBucketRateLimiter(String name, TokenBucket bucket, Duration timeout, Map<String, String> tags) {
        this.name = Objects.requireNonNull(name, "name");
        this.bucket = Objects.requireNonNull(bucket, "bucket");
        this.timeout = requireNonNegative(timeout);
        this.tags = Map.copyOf(tags);
    }

    public double qps() {
        return bucket.qps();
    }

    public int burst() {
        return bucket.burst();
    }

    /**
     * Reserves {@code permits} tokens. Returns 0 if they are available now, the nanoseconds until they will be
     * if that is within the timeout (the caller must wait that long before acting), or -1 without reserving
     * anything if the wait would exceed the timeout.
     */
    @Override
    public long reservePermission(int permits) {
        long waitNanos = bucket.reserveNanos(permits, timeout.toNanos());
        publish(waitNanos >= 0, permits);
        return waitNanos;
    }

    /** Blocks the calling thread until the permits are available; false if that would exceed the timeout. */
    @Override
    public boolean acquirePermission(int permits) {
        long wait = reservePermission(permits);
        if (wait < 0) {
            return false;
        }
        long deadline = System.nanoTime() + wait;
        for (long left = wait; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
            if (Thread.currentThread().isInterrupted()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void drainPermissions() {
        bucket.drain();
    }

    @Override
    public void changeTimeoutDuration(Duration timeoutDuration) {
        this.timeout = requireNonNegative(timeoutDuration);
    }

    /** Not supported: the bucket's rate and size are fixed by {@link GuardConfig}. */
    @Override
    public void changeLimitForPeriod(int limitForPeriod) {
        throw new UnsupportedOperationException("a token bucket's qps and burst are fixed; build a new guard");
    }

    @Override
    public String getName() {
        return name;
    }

    /** The same average rate and burst in Resilience4j's terms: {@code burst} permits per {@code burst/qps}. */
    @Override
    public RateLimiterConfig getRateLimiterConfig() {
        return RateLimiterConfig.custom()
                .limitForPeriod(bucket.burst())
                .limitRefreshPeriod(Duration.ofNanos(Math.max(1, Math.round(bucket.burst() / bucket.qps() * 1e9))))
                .timeoutDuration(timeout)
                .build();
    }

    @Override
    public Map<String, String> getTags() {
        return tags;
    }

    @Override
    public Metrics getMetrics() {
        return metrics;
    }

    @Override
    public EventPublisher getEventPublisher() {
        return events;
    }

    private void publish(boolean success, int permits) {
        if (events.hasConsumers()) {
            events.processEvent(success
                    ? new RateLimiterOnSuccessEvent(name, permits)
                    : new RateLimiterOnFailureEvent(name, permits));
        }
    }

    private static Duration requireNonNegative(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
        }
        return timeout;
    }

    private final class BucketMetrics implements Metrics {
        /** Reservations whose token has not been earned yet: the debt, rounded up. */
        @Override
        public int getNumberOfWaitingThreads() {
            double t = bucket.available();
            return t >= 0 ? 0 : (int) Math.ceil(-t);
        }

        /** Whole tokens available now; negative while reservations wait. */
        @Override
        public int getAvailablePermissions() {
            return (int) Math.floor(bucket.available());
        }
    }
    private static final class Events extends EventProcessor<RateLimiterEvent> implements EventPublisher {
        @Override
        public EventPublisher onSuccess(EventConsumer<RateLimiterOnSuccessEvent> consumer) {
            registerConsumer(RateLimiterOnSuccessEvent.class.getName(), consumer);
            return this;
        }

        @Override
        public EventPublisher onFailure(EventConsumer<RateLimiterOnFailureEvent> consumer) {
            registerConsumer(RateLimiterOnFailureEvent.class.getName(), consumer);
            return this;
        }
    }
}
