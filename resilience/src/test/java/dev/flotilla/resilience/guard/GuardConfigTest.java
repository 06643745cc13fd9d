package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.resilience.guard.GuardConfig.InvalidGuardConfigException;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class GuardConfigTest {

    @Test
    void defaultsAreValidAndDefinedByTheConstants() {
        GuardConfig c = GuardConfig.defaults();
        assertThat(c.qps()).isEqualTo(GuardConfig.DEFAULT_QPS).isEqualTo(20);
        assertThat(c.burst()).isEqualTo(GuardConfig.DEFAULT_BURST).isEqualTo(30);
        assertThat(c.leaseQps()).isEqualTo(GuardConfig.DEFAULT_LEASE_QPS);
        assertThat(c.slidingWindowType()).isEqualTo(SlidingWindowType.TIME_BASED);
        assertThat(c.retryMaxAttempts()).isEqualTo(GuardConfig.DEFAULT_RETRY_MAX_ATTEMPTS);
        assertThat(c.maxRetryAfter()).isEqualTo(GuardConfig.DEFAULT_MAX_RETRY_AFTER);
    }

    @Test
    void roundTripsThroughItsMap() {
        GuardConfig custom = GuardConfig.builder().qps(7.5).burst(12).waitInOpenState(Duration.ofMillis(1500))
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(20).minimumCalls(20)
                .retryBaseBackoff(Duration.ofNanos(1500)).build();
        Map<String, String> map = custom.toMap();
        assertThat(map).containsEntry("resilience.qps", "7.5").containsEntry("resilience.breaker.wait-in-open-state",
                "1500ms").containsEntry("resilience.breaker.sliding-window-type", "count");
        assertThat(GuardConfig.fromMap(map)).isEqualTo(custom);
    }

    @Test
    void readsDurationsInEveryAcceptedForm() {
        assertThat(GuardConfig.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(GuardConfig.parseDuration("5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(GuardConfig.parseDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(GuardConfig.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(GuardConfig.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(GuardConfig.parseDuration("PT5S")).isEqualTo(Duration.ofSeconds(5));
        assertThat(GuardConfig.parseDuration("pt0.25s")).isEqualTo(Duration.ofMillis(250));
    }

    @Test
    void ignoresKeysOutsideItsPrefixAndReadsProperties() {
        Properties p = new Properties();
        p.setProperty("resilience.qps", " 50 ");
        p.setProperty("resilience.burst", "100");
        p.setProperty("manager.workers", "4");
        GuardConfig c = GuardConfig.fromProperties(p);
        assertThat(c.qps()).isEqualTo(50);
        assertThat(c.burst()).isEqualTo(100);
        assertThat(c.leaseBurst()).isEqualTo(GuardConfig.DEFAULT_LEASE_BURST);
    }

    @Test
    void namesTheKeyAndValueOfEveryBadSetting() {
        Map<String, String> bad = new HashMap<>();
        bad.put("resilience.qps", "abc");
        bad.put("resilience.burst", "1.5");
        bad.put("resilience.retry.max-backoff", "soon");
        bad.put("resilience.breaker.sliding-window-type", "sometimes");
        bad.put("resilience.qsp", "5");
        assertThatThrownBy(() -> GuardConfig.fromMap(bad))
                .isInstanceOf(InvalidGuardConfigException.class)
                .satisfies(e -> assertThat(((InvalidGuardConfigException) e).problems()).containsExactlyInAnyOrder(
                        "resilience.qps=abc: not a number",
                        "resilience.burst=1.5: not a whole number",
                        "resilience.retry.max-backoff=soon: not a duration (expected a number with a unit: ns, us,"
                                + " ms, s, m, h; e.g. 500ms, 5s, 2m, or ISO-8601 such as PT5S)",
                        "resilience.breaker.sliding-window-type=sometimes: not a sliding window type (expected count"
                                + " or time)",
                        "resilience.qsp: unknown key (known: " + String.join(", ", GuardConfig.defaults().toMap().keySet())
                                + ")"))
                .hasMessageStartingWith("invalid API guard configuration: ");
    }

    @Test
    void rejectsOutOfRangeValuesWithThePreciseRule() {
        assertThatThrownBy(() -> GuardConfig.fromMap(Map.of("resilience.qps", "0")))
                .hasMessage("invalid API guard configuration: resilience.qps must be a positive number of requests per"
                        + " second up to 100000, got 0.0");
        assertThatThrownBy(() -> GuardConfig.fromMap(Map.of("resilience.retry.base-backoff", "-5s")))
                .hasMessage("invalid API guard configuration: resilience.retry.base-backoff=-5s: must not be negative");
        assertThatThrownBy(() -> GuardConfig.builder().burst(0).failureRateThreshold(150).build())
                .isInstanceOf(InvalidGuardConfigException.class)
                .satisfies(e -> assertThat(((InvalidGuardConfigException) e).problems()).containsExactly(
                        "resilience.burst must be between 1 and 1000000, got 0",
                        "resilience.breaker.failure-rate-threshold must be a percentage in (0, 100], got 150.0"));
        assertThatThrownBy(() -> GuardConfig.builder().retryBaseBackoff(Duration.ofSeconds(2))
                .retryMaxBackoff(Duration.ofSeconds(1)).build())
                .hasMessageContaining("resilience.retry.max-backoff (1s) must not be less than"
                        + " resilience.retry.base-backoff (2s)");
        assertThatThrownBy(() -> GuardConfig.builder().slidingWindowType(SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(5).minimumCalls(10).build())
                .hasMessageContaining("resilience.breaker.minimum-calls (10) must not exceed"
                        + " resilience.breaker.sliding-window-size (5) for a count-based window");
        assertThatThrownBy(() -> GuardConfig.builder().retryMaxAttempts(0).build())
                .hasMessageContaining("resilience.retry.max-attempts must be between 1 and 100, got 0");
        assertThatThrownBy(() -> GuardConfig.builder().maxRetryAfter(Duration.ZERO).build())
                .hasMessageContaining("resilience.retry.max-retry-after must be positive and at most 1h, got 0s");
        assertThatThrownBy(() -> GuardConfig.fromMap(Map.of("resilience.burst", "99999999999")))
                .hasMessage("invalid API guard configuration: resilience.burst=99999999999: out of range");
    }

    @Test
    void zeroPermitWaitMeansNeverWait() {
        assertThat(GuardConfig.builder().maxPermitWait(Duration.ZERO).build().maxPermitWait()).isZero();
    }
}
