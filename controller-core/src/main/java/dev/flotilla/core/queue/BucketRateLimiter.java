package dev.flotilla.core.queue;

import dev.flotilla.core.ratelimit.TokenBucket;
import java.time.Duration;
import java.util.Objects;

/**
 * An overall limit shared by all keys (client-go's {@code BucketRateLimiter}): each {@link #when}
 * reserves one token of a {@link TokenBucket} and returns how long the caller must wait for it, so
 * a failure storm across many keys is spread out instead of retried at once.
 *
 * <pre>{@code
 * RateLimiter<String> overall = new BucketRateLimiter<>(BucketRateLimiter.DEFAULT_QPS, BucketRateLimiter.DEFAULT_BURST);
 * Duration wait = overall.when("ns/name"); // ZERO while the burst lasts, then 1/qps apart
 * }</pre>
 */
public final class BucketRateLimiter<K> implements RateLimiter<K> {

    /** client-go's default for the work queue's overall bucket. */
    public static final double DEFAULT_QPS = 10;
    /** client-go's default burst for the work queue's overall bucket. */
    public static final int DEFAULT_BURST = 100;

    private final TokenBucket bucket;

    /** @throws IllegalArgumentException if {@code qps} is not positive and finite or {@code burst} below 1 */
    public BucketRateLimiter(double qps, int burst) {
        this(new TokenBucket(qps, burst));
    }

    /** Reserves from {@code bucket}, which others may share. */
    public BucketRateLimiter(TokenBucket bucket) {
        this.bucket = Objects.requireNonNull(bucket, "bucket");
    }

    @Override
    public Duration when(K key) {
        return bucket.reserve();
    }

    @Override
    public void forget(K key) {
        // The bucket is shared; individual keys leave no trace in it.
    }

    @Override
    public int retries(K key) {
        return 0;
    }
}
