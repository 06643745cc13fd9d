package dev.flotilla.sharding.auditlog;

import static dev.flotilla.sharding.auditlog.AuditLines.at;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.sharding.HashRange;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shard ownership timelines from hand-written Lease writes: 2 shards, a 6 s lease and a 1 s retry
 * period, so a range may stay unowned 7 s (lease + retry period) after the fault ends.
 */
class RangeOwnershipCheckTest {

    private static final LeaseNaming NAMING = new LeaseNaming("g");
    private static final String NS = "ops";
    private static final RangeOwnershipCheck CHECK = new RangeOwnershipCheck(new ShardSpace(2), NAMING, NS,
            Duration.ofSeconds(6), Duration.ofSeconds(1));

    @TempDir
    Path dir;

    private final AuditLines log = new AuditLines();

    /** {@code holder}'s membership renewed every second in {@code [fromMillis, toMillis]}, with a {@code seconds} lease. */
    private void member(String holder, long fromMillis, long toMillis, int seconds) {
        String identity = LeaseNaming.identityOf(holder);
        for (long t = fromMillis; t <= toMillis; t += 1_000) {
            log.lease(t, identity, NS, NAMING.memberLease(identity), holder, Map.of(), seconds);
        }
    }

    private void take(long millis, String holder, int shard) {
        log.lease(millis, LeaseNaming.identityOf(holder), NS, NAMING.shardLease(shard), holder,
                Map.of(LeaseNaming.ANNOTATION_SHARDS, "2"), 6);
    }

    /** r0 and r1 each hold a shard; r0 stops renewing after 10 s (a SIGKILL), so it is live until 16 s. */
    private void killedAtTen() {
        member("r0_a", 0, 10_000, 6);
        member("r1_b", 0, 40_000, 6);
        take(500, "r0_a", 0);
        take(500, "r1_b", 1);
    }

    private RangeOwnershipCheck.Result check(long fromMillis, long toMillis, long faultEndMillis) throws Exception {
        return CHECK.check(log.read(dir), at(fromMillis), at(toMillis), at(faultEndMillis));
    }

    @Test
    void aShardTakenOverWithinTheBoundHoldsAndItsTimelineShowsTheGap() throws Exception {
        killedAtTen();
        take(16_500, "r1_b", 0);                             // r0's membership expired at 16 s
        RangeOwnershipCheck.Result r = check(0, 40_000, 10_000);
        assertThat(r.holds()).as("%s", r.violations()).isTrue();
        assertThat(r.deadline()).isEqualTo(at(17_000)); // fault end + lease 6 s + retry period 1 s
        RangeOwnershipCheck.ShardTimeline zero = r.shards().getFirst();
        assertThat(zero.spans()).containsExactly(
                new RangeOwnershipCheck.Span(at(0), at(500), List.of()),           // before anyone took it
                new RangeOwnershipCheck.Span(at(500), at(16_000), List.of("r0_a")),
                new RangeOwnershipCheck.Span(at(16_000), at(16_500), List.of()),
                new RangeOwnershipCheck.Span(at(16_500), at(40_000), List.of("r1_b")));
        assertThat(zero.unowned()).isEqualTo(Duration.ofSeconds(1));
        assertThat(zero.longestUnowned()).isEqualTo(Duration.ofMillis(500));
        assertThat(zero.twoOwners()).isZero();
        assertThat(r.shards().get(1).unowned()).isEqualTo(Duration.ofMillis(500));
        assertThat(r.allOwnedAfterFault()).as("every range owned again, after the fault's end").isEqualTo(Duration.ofMillis(6_500));
    }

    /** The gap before the group's first take lies before the judged span: it is neither drawn nor the longest. */
    @Test
    void aGapOverBeforeTheJudgedSpanIsNotItsLongest() throws Exception {
        killedAtTen();
        take(16_500, "r1_b", 0);
        RangeOwnershipCheck.Result r = check(10_000, 40_000, 10_000);
        assertThat(r.shards().get(1).longestUnowned()).isZero();
        assertThat(r.shards().get(1).unowned()).isZero();
        assertThat(r.shards().getFirst().longestUnowned()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void aShardUnownedPastTheDeadlineIsAViolation() throws Exception {
        killedAtTen();
        take(30_000, "r1_b", 0);
        RangeOwnershipCheck.Result r = check(0, 40_000, 10_000);
        assertThat(r.violations()).singleElement().isEqualTo(
                new RangeOwnershipCheck.UnownedTooLong(0, at(16_000), at(30_000), at(17_000)));
        assertThat(r.violations().getFirst().toString()).isEqualTo(
                "shard 0 had no live owner from " + at(16_000) + " to " + at(30_000) + " (14.0 s), past its deadline "
                        + at(17_000));
        assertThat(r.shards().getFirst().unowned()).isEqualTo(Duration.ofMillis(14_500));
        assertThat(r.allOwnedAfterFault()).isEqualTo(Duration.ofSeconds(20));
    }

    /** The bound is the issue's: lease duration + one retry period after the fault, not a second more. */
    @Test
    void aTakeoverHalfASecondPastLeasePlusARetryPeriodIsAViolation() throws Exception {
        killedAtTen();
        take(17_500, "r1_b", 0);
        RangeOwnershipCheck.Result r = check(0, 40_000, 10_000);
        assertThat(r.violations()).singleElement().isEqualTo(
                new RangeOwnershipCheck.UnownedTooLong(0, at(16_000), at(17_500), at(17_000)));
        assertThat(r.allOwnedAfterFault()).isEqualTo(Duration.ofMillis(7_500));
    }

    @Test
    void aShardNeverTakenBackIsAViolationAtTheEndOfTheSpan() throws Exception {
        killedAtTen();
        RangeOwnershipCheck.Result r = check(0, 40_000, 10_000);
        assertThat(r.violations()).singleElement().isEqualTo(
                new RangeOwnershipCheck.UnownedTooLong(0, at(16_000), at(40_000), at(17_000)));
        assertThat(r.allOwnedAfterFault()).as("still unowned at the end of the span").isEqualTo(Duration.ofSeconds(30));
    }

    /** Expiry is the write's time plus the answered Lease's own duration, not the default. */
    @Test
    void theMembershipLeasesOwnDurationDecidesWhenItsHolderDies() throws Exception {
        member("r0_a", 0, 10_000, 3);
        member("r1_b", 0, 40_000, 6);
        take(500, "r0_a", 0);
        take(500, "r1_b", 1);
        take(14_000, "r1_b", 0);
        RangeOwnershipCheck.Result r = check(0, 40_000, 10_000);
        assertThat(r.shards().getFirst().spans()).contains(new RangeOwnershipCheck.Span(at(13_000), at(14_000), List.of()));
    }

    @Test
    void overlappingRangesHeldByTwoLiveReplicasAreTwoOwners() throws Exception {
        member("r0_a", 0, 40_000, 6);
        member("r1_b", 0, 40_000, 6);
        take(500, "r1_b", 1);
        // A shard 0 Lease claiming the whole hash space: shard 1's namespaces have two owners.
        log.lease(20_000, "r0", NS, NAMING.shardLease(0), "r0_a", Map.of(LeaseNaming.ANNOTATION_RANGE,
                HashRange.all().text()), 6);
        RangeOwnershipCheck.Result r = check(0, 40_000, 0);
        assertThat(r.shards().get(1).twoOwners()).isEqualTo(Duration.ofSeconds(20));
        assertThat(r.violations()).contains(new RangeOwnershipCheck.TwoOwners(1, at(20_000), Duration.ofSeconds(20),
                List.of("r1_b", "r0_a")));
        // shard 0 was unowned for its first 20 s: past the deadline of 7 s (6 s lease + 1 s) after the fault (at 0)
        assertThat(r.violations()).contains(new RangeOwnershipCheck.UnownedTooLong(0, at(0), at(20_000), at(7_000)));
    }

    @Test
    void aSpanEndingBeforeTheDeadlineCannotShowRecovery() throws Exception {
        killedAtTen();
        take(16_500, "r1_b", 0);
        assertThat(check(0, 12_000, 10_000).violations()).singleElement()
                .isEqualTo(new RangeOwnershipCheck.EndsBeforeDeadline(at(12_000), at(17_000)));
    }

    @Test
    void aLogWithoutTheMembershipLeasesInItsAnswersIsRefused() throws Exception {
        killedAtTen();
        log.event(5_000, "r0", "update", "leases", NS, NAMING.memberLease("r0"), 200, null);
        assertThatThrownBy(() -> check(0, 40_000, 10_000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 of ").hasMessageContaining("RequestResponse");
    }
}
