package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How a silent Lease watch is told from a live one ({@link LeaseWatch#silentNanos}). */
class LeaseWatchTest {

    static final long SECOND = 1_000_000_000L;

    @Test
    void aWatchIsSilentForAsLongAsItDeliveredNothingBeforeARenewalThatLanded() {
        long delivered = 100 * SECOND;
        assertThat(LeaseWatch.silentNanos(delivered + 5 * SECOND, delivered)).isEqualTo(5 * SECOND);
        // Delivered after the renewal was sent: live.
        assertThat(LeaseWatch.silentNanos(delivered - SECOND, delivered)).isZero();
        assertThat(LeaseWatch.silentNanos(delivered, delivered)).isZero();
    }

    @Test
    void beforeTheFirstRenewalOrTheFirstDeliveryThereIsNothingToJudge() {
        // ShardOwnership reports Long.MIN_VALUE before its first renewal: MIN_VALUE - t overflowed to a huge silence
        // (the CI run of abd4a1e restarted a joining replica's watch every second for a minute).
        assertThat(LeaseWatch.silentNanos(Long.MIN_VALUE, 100 * SECOND)).isZero();
        assertThat(LeaseWatch.silentNanos(Long.MIN_VALUE, 3)).isZero();
        assertThat(LeaseWatch.silentNanos(100 * SECOND, Long.MIN_VALUE)).isZero();
        // Monotonic nanos may be negative: still compared as times.
        assertThat(LeaseWatch.silentNanos(-10 * SECOND, -15 * SECOND)).isEqualTo(5 * SECOND);
    }
}
