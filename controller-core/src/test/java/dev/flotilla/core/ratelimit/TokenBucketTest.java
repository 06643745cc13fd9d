package dev.flotilla.core.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class TokenBucketTest {

    private static final long SECOND = 1_000_000_000L;

    private final AtomicLong now = new AtomicLong(1_000 * SECOND);

    private TokenBucket bucket(double qps, int burst) {
        return new TokenBucket(qps, burst, now::get);
    }

    @Test
    void theJavadocExampleWorks() {
        var bucket = new TokenBucket(10, 100);
        Duration wait = bucket.reserve();
        long nanos = bucket.reserveNanos(1, 30_000_000_000L);
        boolean now = bucket.tryAcquire();
        assertThat(wait).isZero();
        assertThat(nanos).isZero();
        assertThat(now).isTrue();
    }

    @Test
    void rejectsARateOrBurstThatCannotWork() {
        assertThatThrownBy(() -> new TokenBucket(0, 10)).hasMessage("token bucket qps must be a positive finite number, got 0.0");
        assertThatThrownBy(() -> new TokenBucket(Double.NaN, 10)).hasMessageContaining("qps");
        assertThatThrownBy(() -> new TokenBucket(Double.POSITIVE_INFINITY, 10)).hasMessageContaining("qps");
        assertThatThrownBy(() -> new TokenBucket(10, 0)).hasMessage("token bucket burst must be at least 1, got 0");
        assertThatThrownBy(() -> bucket(1, 1).reserveNanos(0, 0)).hasMessageContaining("permits");
        assertThatThrownBy(() -> bucket(1, 1).reserveNanos(1, -1)).hasMessageContaining("maxWaitNanos");
    }

    @Test
    void theBurstIsAvailableAtOnceThenReservationsQueueOneOverQpsApart() {
        var bucket = bucket(10, 3);
        for (int i = 0; i < 3; i++) {
            assertThat(bucket.reserve()).isEqualTo(Duration.ZERO);
        }
        assertThat(bucket.reserve()).isEqualTo(Duration.ofMillis(100));
        assertThat(bucket.reserve()).isEqualTo(Duration.ofMillis(200));
        assertThat(bucket.available()).isCloseTo(-2, within(1e-9));
        now.addAndGet(300_000_000L);
        // 3 tokens earned, the debt of 2 repaid: one token left, then debt again.
        assertThat(bucket.reserve()).isEqualTo(Duration.ZERO);
        assertThat(bucket.reserve()).isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void neverSavesMoreThanItsBurst() {
        var bucket = bucket(1, 3);
        now.addAndGet(3600 * SECOND);
        assertThat(bucket.available()).isEqualTo(3);
        int free = 0;
        while (bucket.tryAcquire()) {
            free++;
        }
        assertThat(free).isEqualTo(3);
        assertThat(bucket.available()).as("tryAcquire never goes into debt").isZero();
    }

    @Test
    void aReservationBeyondTheLongestWaitIsRefusedWithoutTakingAToken() {
        var bucket = bucket(1, 1);
        long limit = 1_500_000_000L;
        assertThat(bucket.reserveNanos(1, limit)).isZero();
        assertThat(bucket.reserveNanos(1, limit)).isEqualTo(SECOND);
        assertThat(bucket.reserveNanos(1, limit)).isEqualTo(-1);
        assertThat(bucket.available()).isCloseTo(-1, within(1e-9));
        now.addAndGet(SECOND);
        assertThat(bucket.reserveNanos(1, limit)).isEqualTo(SECOND);
        assertThat(bucket.reserveNanos(2, Long.MAX_VALUE)).as("several permits at once").isEqualTo(3 * SECOND);
    }

    @Test
    void aZeroWaitOnlyTakesWhatIsThere() {
        var bucket = bucket(5, 2);
        assertThat(bucket.reserveNanos(2, 0)).isZero();
        assertThat(bucket.reserveNanos(1, 0)).isEqualTo(-1);
        now.addAndGet(200_000_000L);
        assertThat(bucket.tryAcquire()).isTrue();
        assertThat(bucket.tryAcquire()).isFalse();
    }

    @Test
    void drainEmptiesTheBucketButKeepsItsDebt() {
        var bucket = bucket(5, 2);
        bucket.drain();
        assertThat(bucket.tryAcquire()).isFalse();
        assertThat(bucket.reserve()).isEqualTo(Duration.ofMillis(200));
        bucket.drain();
        assertThat(bucket.available()).isCloseTo(-1, within(1e-9));
    }

    @Test
    void aClockThatStepsBackEarnsNothing() {
        var bucket = bucket(10, 1);
        assertThat(bucket.tryAcquire()).isTrue();
        now.addAndGet(-5 * SECOND);
        assertThat(bucket.available()).isZero();
        now.addAndGet(5 * SECOND + 100_000_000L);
        assertThat(bucket.available()).isCloseTo(1, within(1e-9));
    }

    /**
     * Properties of the refill arithmetic over random runs (a seed per run, so a failure is
     * reproducible): whatever callers do, (1) the bucket never holds more than its burst, (2) the
     * tokens granted in any window of length L, counted at the time their holders may act, never
     * exceed burst + qps * L, (3) a wait is as long as needed and no longer (to the clock's grain of
     * a nanosecond), and (4) a refused reservation changes nothing.
     */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 42, 1234, 99_991, 7_777_777})
    void refillArithmeticHoldsItsPropertiesOnRandomRuns(long seed) {
        Random random = new Random(seed);
        for (int run = 0; run < 40; run++) {
            double qps = switch (random.nextInt(3)) {
                case 0 -> 0.1 + random.nextDouble() * 2;
                case 1 -> 1 + random.nextInt(100);
                default -> 50 + random.nextDouble() * 5_000;
            };
            int burst = 1 + random.nextInt(random.nextBoolean() ? 3 : 50);
            checkRun(random, qps, burst, "seed " + seed + " run " + run + " qps " + qps + " burst " + burst);
        }
    }

    private void checkRun(Random random, double qps, int burst, String label) {
        var bucket = bucket(qps, burst);
        long periodNanos = (long) (SECOND / qps);
        List<long[]> granted = new ArrayList<>(); // {time the holder may act, permits}
        for (int op = 0; op < 150; op++) {
            now.addAndGet(random.nextInt(4) == 0 ? 0 : (long) (random.nextDouble() * 2 * periodNanos));
            double before = bucket.available();
            assertThat(before).as(label).isLessThanOrEqualTo(burst);
            switch (random.nextInt(5)) {
                case 0 -> {
                    if (bucket.tryAcquire()) {
                        granted.add(new long[] {now.get(), 1});
                    }
                }
                case 1 -> bucket.drain();
                default -> {
                    int permits = 1 + random.nextInt(Math.min(3, burst));
                    long maxWait = switch (random.nextInt(3)) {
                        case 0 -> 0;
                        case 1 -> Long.MAX_VALUE;
                        default -> (long) (random.nextDouble() * 5 * periodNanos);
                    };
                    long wait = bucket.reserveNanos(permits, maxWait);
                    if (wait < 0) {
                        assertThat(bucket.available()).as(label + ": a refusal takes nothing").isEqualTo(before);
                        assertThat(before - permits).as(label).isLessThan(0);
                        continue;
                    }
                    assertThat(wait).as(label).isLessThanOrEqualTo(maxWait);
                    granted.add(new long[] {now.get() + wait, permits});
                    // (3) Probe the wait on a copy of the state: the same bucket, fast-forwarded.
                    double debt = before - permits;
                    if (wait == 0) {
                        assertThat(debt).as(label + ": no wait only when covered").isGreaterThanOrEqualTo(0);
                    } else {
                        // Waits are whole nanoseconds rounded up, and the double arithmetic may round the
                        // exact time up by one more: two nanoseconds before the wait it was not covered.
                        assertThat(debt + (wait - 2) / 1e9 * qps).as(label + ": not covered before the wait").isLessThan(0);
                        assertThat(debt + wait / 1e9 * qps).as(label + ": covered at the wait").isGreaterThanOrEqualTo(-1e-9);
                    }
                }
            }
        }
        // (2) Conformance of every window between two grants.
        granted.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 0; i < granted.size(); i++) {
            long count = 0;
            for (int j = i; j < granted.size(); j++) {
                count += granted.get(j)[1];
                double allowed = burst + qps * (granted.get(j)[0] - granted.get(i)[0]) / 1e9;
                // Grant times are whole nanoseconds, the window's start rounded up by up to two of them
                // (the wait's rounding above): the tokens earned in 2 ns are the tolerance.
                double grain = qps * 2e-9 + 1e-9;
                assertThat((double) count).as(label + ": grants %d..%d", i, j).isLessThanOrEqualTo(allowed + grain);
            }
        }
    }

    @Test
    void aSaturatingCallerGetsTheBurstPlusTheRate() {
        var bucket = bucket(20, 30);
        long start = now.get();
        int granted = 0;
        // Ask every millisecond for ten seconds, waiting for nothing.
        for (int ms = 0; ms <= 10_000; ms++) {
            now.set(start + ms * 1_000_000L);
            while (bucket.tryAcquire()) {
                granted++;
            }
        }
        assertThat(granted).isEqualTo(30 + 20 * 10);
    }
}
