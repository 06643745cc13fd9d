package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.ratelimit.TokenBucket;
import io.github.resilience4j.ratelimiter.event.RateLimiterEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketRateLimiterTest {

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    private TokenBucketRateLimiter bucket(double qps, int burst, Duration timeout) {
        return new TokenBucketRateLimiter("test", new TokenBucket(qps, burst, clock::get), timeout, Map.of("host", "h:1"));
    }

    @Test
    void burstIsAvailableAtOnceThenPermitsAreSpacedByOneOverQps() {
        var limiter = bucket(10, 3, Duration.ofSeconds(10));
        assertThat(limiter.reservePermission()).isZero();
        assertThat(limiter.reservePermission()).isZero();
        assertThat(limiter.reservePermission()).isZero();
        // Reservations queue up 100 ms apart; nothing blocks.
        assertThat(limiter.reservePermission()).isEqualTo(100_000_000L);
        assertThat(limiter.reservePermission()).isEqualTo(200_000_000L);
        assertThat(limiter.getMetrics().getNumberOfWaitingThreads()).isEqualTo(2);
        assertThat(limiter.getMetrics().getAvailablePermissions()).isEqualTo(-2);
        clock.addAndGet(250_000_000L);
        assertThat(limiter.getMetrics().getNumberOfWaitingThreads()).isZero();
        assertThat(limiter.reservePermission()).isEqualTo(50_000_000L);
        clock.addAndGet(10_000_000_000L);
        assertThat(limiter.getMetrics().getAvailablePermissions()).isEqualTo(3); // never more than burst
    }

    @Test
    void aReservationBeyondTheTimeoutIsRefusedWithoutTakingATokenAndPublished() {
        var limiter = bucket(1, 1, Duration.ofMillis(1500));
        List<RateLimiterEvent.Type> events = new ArrayList<>();
        limiter.getEventPublisher().onEvent(e -> events.add(e.getEventType()));
        assertThat(limiter.reservePermission()).isZero();
        assertThat(limiter.reservePermission()).isEqualTo(1_000_000_000L);
        assertThat(limiter.reservePermission()).isEqualTo(-1);
        assertThat(limiter.reservePermission()).isEqualTo(-1);
        clock.addAndGet(1_000_000_000L);
        assertThat(limiter.reservePermission()).isEqualTo(1_000_000_000L);
        assertThat(events).containsExactly(RateLimiterEvent.Type.SUCCESSFUL_ACQUIRE,
                RateLimiterEvent.Type.SUCCESSFUL_ACQUIRE, RateLimiterEvent.Type.FAILED_ACQUIRE,
                RateLimiterEvent.Type.FAILED_ACQUIRE, RateLimiterEvent.Type.SUCCESSFUL_ACQUIRE);
    }

    @Test
    void zeroTimeoutNeverWaitsAndDrainEmptiesTheBucket() {
        var limiter = bucket(5, 2, Duration.ZERO);
        assertThat(limiter.acquirePermission()).isTrue();
        limiter.drainPermissions();
        assertThat(limiter.acquirePermission()).isFalse();
        assertThat(limiter.getRateLimiterConfig().getLimitForPeriod()).isEqualTo(2);
        assertThat(limiter.getRateLimiterConfig().getLimitRefreshPeriod()).isEqualTo(Duration.ofMillis(400));
        assertThat(limiter.getTags()).containsEntry("host", "h:1");
    }
}
