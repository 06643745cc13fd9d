package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FullJitterBackoffTest {

    private final FullJitterBackoff backoff = new FullJitterBackoff(Duration.ofMillis(100), Duration.ofSeconds(1));

    @Test
    void ceilingDoublesFromTheBaseUpToTheMax() {
        assertThat(backoff.ceiling(1)).isEqualTo(Duration.ofMillis(100));
        assertThat(backoff.ceiling(2)).isEqualTo(Duration.ofMillis(200));
        assertThat(backoff.ceiling(3)).isEqualTo(Duration.ofMillis(400));
        assertThat(backoff.ceiling(4)).isEqualTo(Duration.ofMillis(800));
        assertThat(backoff.ceiling(5)).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.ceiling(64)).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.ceiling(Integer.MAX_VALUE)).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void delaysAreUniformOverTheWholeInterval() {
        var seeded = new FullJitterBackoff(Duration.ofMillis(100), Duration.ofSeconds(1), () -> new Random(42));
        for (int retry = 1; retry <= 6; retry++) {
            Set<Long> distinct = new HashSet<>();
            long min = Long.MAX_VALUE;
            long max = 0;
            for (int i = 0; i < 2_000; i++) {
                long d = backoff.delay(retry).toNanos();
                assertThat(d).isBetween(0L, backoff.ceiling(retry).toNanos());
                distinct.add(d);
                min = Math.min(min, d);
                max = Math.max(max, d);
            }
            long ceiling = backoff.ceiling(retry).toNanos();
            // Full jitter: both ends of [0, ceiling] are reached, not a band around the ceiling.
            assertThat(min).isLessThan(ceiling / 10);
            assertThat(max).isGreaterThan(ceiling * 9 / 10);
            assertThat(distinct).hasSizeGreaterThan(1_900);
            assertThat(seeded.delay(retry)).isBetween(Duration.ZERO, seeded.ceiling(retry));
        }
    }
}
