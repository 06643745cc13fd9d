package dev.flotilla.testing.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The network fault models' arithmetic and draws, without a proxy. */
class NetworkFaultModelTest {

    @Test
    void correlationMakesConsecutiveDrawsCloseAndASeedRepeatsThem() {
        assertThat(meanStep(new FaultRandom(1), 0)).isCloseTo(1 / 3.0, within(0.02)); // E|U1 - U2|
        assertThat(meanStep(new FaultRandom(1), 90)).isLessThan(0.1);
        FaultRandom a = new FaultRandom(42);
        FaultRandom b = new FaultRandom(42);
        for (int i = 0; i < 100; i++) {
            assertThat(a.correlated(50)).isEqualTo(b.correlated(50));
        }
        assertThat(new FaultRandom(42).uniform()).isNotEqualTo(new FaultRandom(43).uniform());
    }

    private static double meanStep(FaultRandom random, int correlation) {
        double previous = random.correlated(correlation);
        double sum = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            double next = random.correlated(correlation);
            assertThat(next).isBetween(0.0, 1.0);
            sum += Math.abs(next - previous);
            previous = next;
        }
        return sum / n;
    }

    @Test
    void jitteredDelaysAreUniformAroundTheLatencyAndNeverNegative() {
        Fault.JitteredDelay j = Fault.delay(Duration.ofMillis(100), Duration.ofMillis(30));
        assertThat(j.sample(0)).isEqualTo(Duration.ofMillis(70));
        assertThat(j.sample(0.5)).isEqualTo(Duration.ofMillis(100));
        assertThat(j.sample(0.999999)).isBetween(Duration.ofMillis(129), Duration.ofMillis(130));
        assertThat(Fault.delay(Duration.ofMillis(10), Duration.ofMillis(50)).sample(0)).isEqualTo(Duration.ZERO);
        FaultRandom r = new FaultRandom(7);
        double mean = 0;
        for (int i = 0; i < 10_000; i++) {
            mean += j.sample(r.correlated(0)).toNanos() / 1e6 / 10_000;
        }
        assertThat(mean).isCloseTo(100, within(1.0));
        assertThatThrownBy(() -> new Fault.JitteredDelay(Duration.ofMillis(-1), Duration.ZERO, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Fault.JitteredDelay(Duration.ZERO, Duration.ZERO, 101))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void lossRetransmitsAfterDoublingTimeoutsWithGeometricCounts() {
        assertThat(Fault.Loss.retransmissionTimeout(0)).isEqualTo(Duration.ofMillis(200));
        assertThat(Fault.Loss.retransmissionTimeout(3)).isEqualTo(Duration.ofMillis(1_600));
        assertThat(Fault.Loss.retransmissionTimeout(9)).isEqualTo(Duration.ofMillis(102_400));
        assertThat(Fault.Loss.retransmissionTimeout(10)).isEqualTo(Duration.ofSeconds(120));
        assertThat(Fault.Loss.retransmissionTimeout(60)).isEqualTo(Duration.ofSeconds(120));
        assertThat(Fault.Loss.delayAfter(0)).isZero();
        assertThat(Fault.Loss.delayAfter(3)).isEqualTo(Duration.ofMillis(1_400));
        assertThat(Fault.Loss.delayAfter(Fault.Loss.MAX_RETRANSMISSIONS + 1))
                .as("TCP gives up after about 15 minutes").isEqualTo(Duration.ofMillis(924_600));

        // P(k retransmissions) = p^k (1 - p): the loop ProxyConnection runs, without the waits.
        Fault.Loss loss = Fault.loss(30);
        FaultRandom r = new FaultRandom(9);
        int[] counts = new int[4];
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            int k = 0;
            while (loss.lost(r.correlated(loss.correlationPercent()))) {
                k++;
            }
            counts[Math.min(k, 3)]++;
        }
        assertThat(counts[0] / (double) n).isCloseTo(0.70, within(0.01));
        assertThat(counts[1] / (double) n).isCloseTo(0.21, within(0.01));
        assertThat(counts[2] / (double) n).isCloseTo(0.063, within(0.005));
        assertThat(Fault.loss(0).lost(0)).isFalse();
        assertThat(Fault.loss(100).lost(0.99999)).isTrue();
        assertThatThrownBy(() -> new Fault.Loss(101, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void recordsRefuseWhatChaosMeshWouldRefuse() {
        assertThatThrownBy(() -> Fault.bandwidth(0, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Fault.bandwidth(10, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Fault.duplicate(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Fault.ReplaceResponse(OptionalInt.empty(), Optional.empty()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Fault.replaceCode(99)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Fault.replaceResponse(204, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FaultRule.of(Fault.reset()).withProbability(101))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(FaultRule.of(Fault.duplicate(10)).matches("a", "POST", "/api/v1/pods", false))
                .as("writes are never duplicated").isFalse();
        assertThat(FaultRule.of(Fault.duplicate(10)).matches("a", "GET", "/api/v1/pods", true)).isFalse();
        assertThat(FaultRule.of(Fault.replaceCode(500)).matches("a", "GET", "/api/v1/pods", true)).isFalse();
        assertThat(FaultRule.of(Fault.replaceCode(500)).withProbability(20).withSeed(3))
                .hasToString("replace code=500 for every identity probability=20% seed=3");
    }
}
