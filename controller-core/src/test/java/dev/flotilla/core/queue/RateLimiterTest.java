package dev.flotilla.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        assertThatThrownBy(() -> new TokenBucket<String>(0, 10)).hasMessageContaining("qps");
        assertThatThrownBy(() -> new TokenBucket<String>(10, 0)).hasMessageContaining("burst");
    }

    @Test
    void tokenBucketAllowsTheBurstThenSpacesRequestsAtItsRate() {
        var now = new AtomicLong();
        var bucket = new TokenBucket<String>(10, 5, now::get);
        for (int i = 0; i < 5; i++) {
            assertThat(bucket.when("k" + i)).isEqualTo(Duration.ZERO);
        }
        // Each further reservation goes 100 ms deeper into debt.
        assertThat(bucket.when("x")).isEqualTo(Duration.ofMillis(100));
        assertThat(bucket.when("y")).isEqualTo(Duration.ofMillis(200));
        now.addAndGet(Duration.ofMillis(300).toNanos());
        // 3 tokens refilled, debt of 2 repaid: one free token left, then debt again.
        assertThat(bucket.when("z")).isEqualTo(Duration.ZERO);
        assertThat(bucket.when("w")).isEqualTo(Duration.ofMillis(100));
        now.addAndGet(Duration.ofSeconds(60).toNanos());
        assertThat(bucket.tryAcquire()).isTrue();
    }

    @Test
    void tokenBucketNeverSavesMoreThanItsBurst() {
        var now = new AtomicLong();
        var bucket = new TokenBucket<String>(1, 3, now::get);
        now.addAndGet(Duration.ofHours(1).toNanos());
        int free = 0;
        while (bucket.tryAcquire()) {
            free++;
        }
        assertThat(free).isEqualTo(3);
    }

    @Test
    void maxOfTakesTheLongestDelayAndForgetsEverywhere() {
        var now = new AtomicLong();
        var backoff = new ExponentialBackoff<String>(Duration.ofMillis(5), Duration.ofSeconds(10));
        var bucket = new TokenBucket<String>(1, 1, now::get);
        RateLimiter<String> both = RateLimiter.maxOf(List.of(backoff, bucket));
        assertThat(both.when("a")).isEqualTo(Duration.ofMillis(5)); // bucket had a token
        assertThat(both.when("a")).isEqualTo(Duration.ofSeconds(1)); // bucket in debt dominates
        assertThat(both.retries("a")).isEqualTo(2);
        both.forget("a");
        assertThat(both.retries("a")).isZero();
    }
}
