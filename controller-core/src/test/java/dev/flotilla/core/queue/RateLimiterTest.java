package dev.flotilla.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.ratelimit.TokenBucket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTest {

    @Test
    void exponentialBackoffDoublesFromBaseAndCapsAtMax() {
        var b = new ExponentialBackoff<String>(Duration.ofMillis(5), Duration.ofSeconds(1000));
        assertThat(b.when("k")).isEqualTo(Duration.ofMillis(5));
        assertThat(b.when("k")).isEqualTo(Duration.ofMillis(10));
        assertThat(b.when("k")).isEqualTo(Duration.ofMillis(20));
        assertThat(b.when("other")).as("keys back off independently").isEqualTo(Duration.ofMillis(5));
        for (int i = 0; i < 200; i++) {
            b.when("k"); // far past 2^63: must not overflow
        }
        assertThat(b.when("k")).isEqualTo(Duration.ofSeconds(1000));
        assertThat(b.retries("k")).isEqualTo(204);
        b.forget("k");
        assertThat(b.retries("k")).isZero();
        assertThat(b.when("k")).isEqualTo(Duration.ofMillis(5));
    }

    @Test
    void defaultsReachTheCapAfterTheDocumentedNumberOfFailures() {
        var b = new ExponentialBackoff<String>(ExponentialBackoff.DEFAULT_BASE, ExponentialBackoff.DEFAULT_MAX);
        Duration last = Duration.ZERO;
        int failures = 0;
        while (last.compareTo(ExponentialBackoff.DEFAULT_MAX) < 0) {
            last = b.when("k");
            failures++;
        }
        // 5 ms * 2^18 = 1310.72 s is the first step past 1000 s.
        assertThat(failures).isEqualTo(19);
    }

    @Test
    void invalidBackoffIsRejectedWithAClearMessage() {
        assertThatThrownBy(() -> new ExponentialBackoff<String>(Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessageContaining("base must be positive");
        assertThatThrownBy(() -> new ExponentialBackoff<String>(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessageContaining("shorter than its base");
        assertThatThrownBy(() -> new BucketRateLimiter<String>(0, 10)).hasMessageContaining("qps");
        assertThatThrownBy(() -> new BucketRateLimiter<String>(10, 0)).hasMessageContaining("burst");
    }

    @Test
    void theOverallBucketAllowsTheBurstThenSpacesKeysAtItsRate() {
        var now = new AtomicLong();
        var tokens = new TokenBucket(10, 5, now::get);
        var overall = new BucketRateLimiter<String>(tokens);
        for (int i = 0; i < 5; i++) {
            assertThat(overall.when("k" + i)).isEqualTo(Duration.ZERO);
        }
        // Each further failure, whatever its key, goes 100 ms deeper into debt.
        assertThat(overall.when("x")).isEqualTo(Duration.ofMillis(100));
        assertThat(overall.when("y")).isEqualTo(Duration.ofMillis(200));
        now.addAndGet(Duration.ofMillis(300).toNanos());
        // 3 tokens refilled, debt of 2 repaid: one free token left, then debt again.
        assertThat(overall.when("z")).isEqualTo(Duration.ZERO);
        assertThat(overall.when("w")).isEqualTo(Duration.ofMillis(100));
        overall.forget("w");
        assertThat(overall.retries("w")).isZero();
        now.addAndGet(Duration.ofSeconds(60).toNanos());
        assertThat(tokens.tryAcquire()).isTrue();
    }

    @Test
    void theControllerDefaultIsClientGosBucketBehindTheBackoff() {
        RateLimiter<String> limiter = RateLimiter.controllerDefault();
        for (int i = 0; i < BucketRateLimiter.DEFAULT_BURST; i++) {
            assertThat(limiter.when("k" + i)).isEqualTo(ExponentialBackoff.DEFAULT_BASE);
        }
        // The burst is spent: the next failure waits for the bucket (about 1/10 s), not the 5 ms backoff.
        assertThat(limiter.when("one-more")).isGreaterThan(ExponentialBackoff.DEFAULT_BASE);
    }

    @Test
    void maxOfTakesTheLongestDelayAndForgetsEverywhere() {
        var now = new AtomicLong();
        var backoff = new ExponentialBackoff<String>(Duration.ofMillis(5), Duration.ofSeconds(10));
        var bucket = new BucketRateLimiter<String>(new TokenBucket(1, 1, now::get));
        RateLimiter<String> both = RateLimiter.maxOf(List.of(backoff, bucket));
        assertThat(both.when("a")).isEqualTo(Duration.ofMillis(5)); // bucket had a token
        assertThat(both.when("a")).isEqualTo(Duration.ofSeconds(1)); // bucket in debt dominates
        assertThat(both.retries("a")).isEqualTo(2);
        both.forget("a");
        assertThat(both.retries("a")).isZero();
    }
}
