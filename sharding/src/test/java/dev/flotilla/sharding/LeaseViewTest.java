package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Expiry judged on this replica's monotonic clock from what it saw, and which changes are news. */
class LeaseViewTest {

    private static final LeaseNaming NAMING = new LeaseNaming("g");
    private static final long SECOND = 1_000_000_000L;

    private final SimWorld clock = new SimWorld(1);
    private final LeaseView view = new LeaseView(clock, NAMING, Duration.ofSeconds(15));
    private final List<Boolean> news = new ArrayList<>();
    private int version = 1;

    LeaseViewTest() {
        view.onChange((before, after) -> news.add(view.isNews(before, after)));
    }

    private Lease lease(String holder, String renewTime, String desired) {
        Lease l = Leases.newLease(NAMING.shardLease(3), Map.of(), desired.isEmpty() ? Map.of()
                : Map.of(LeaseNaming.ANNOTATION_DESIRED_OWNER, desired));
        l.getMetadata().setResourceVersion(Integer.toString(version++));
        if (!holder.isEmpty()) {
            l.getSpec().setHolderIdentity(holder);
            l.getSpec().setLeaseDurationSeconds(6);
            l.getSpec().setRenewTime(java.time.ZonedDateTime.parse(renewTime));
        }
        return l;
    }

    private void advance(long nanos) {
        clock.runUntil(clock.nanoTime() + nanos);
    }

    @Test
    void aLeaseExpiresItsDurationAfterThisReplicaLastSawItRenewedWhateverItsRenewTimeSays() {
        view.record(lease("a_1", "2001-01-01T00:00:00Z", ""), false); // a renewTime 25 years old
        LeaseView.Seen s = view.get(NAMING.shardLease(3)).orElseThrow();
        assertThat(view.expiresAtNanos(s)).isEqualTo(clock.nanoTime() + 6 * SECOND);
        advance(6 * SECOND - 1);
        assertThat(view.isHeld(s)).isTrue();
        advance(1);
        assertThat(view.isHeld(s)).isFalse();
    }

    @Test
    void anAnnotationEditIsNoRenewalButANewRenewTimeOrHolderIs() {
        view.record(lease("a_1", "2030-01-01T00:00:00Z", ""), false);
        long first = clock.nanoTime();
        advance(4 * SECOND);
        view.record(lease("a_1", "2030-01-01T00:00:00Z", "b"), false);
        assertThat(view.get(NAMING.shardLease(3)).orElseThrow().changedNanos()).as("the coordinator's write").isEqualTo(first);
        advance(SECOND);
        view.record(lease("a_1", "2030-01-01T00:00:01Z", "b"), false);
        assertThat(view.get(NAMING.shardLease(3)).orElseThrow().changedNanos()).isEqualTo(clock.nanoTime());
        assertThat(view.hasSeen(NAMING.shardLease(3), "3")).isTrue();
        assertThat(view.hasSeen(NAMING.shardLease(3), "4")).isFalse();
    }

    @Test
    void aVersionSkippedByARelistCountsAsSeenOnceALaterOneIsDeliveredButAnOpaqueOneOnlyIfDelivered() {
        Lease l = lease("a_1", "2030-01-01T00:00:00Z", "a");
        l.getMetadata().setResourceVersion("98");
        view.record(l, false);
        l = new LeaseBuilder(l).editMetadata().withResourceVersion("1203").endMetadata().build();
        view.record(l, false); // a relist: 99 .. 1202 were never delivered
        assertThat(view.hasSeen(NAMING.shardLease(3), "1105")).as("1,105 was written before 1,203").isTrue();
        assertThat(view.hasSeen(NAMING.shardLease(3), "1204")).isFalse();
        l = new LeaseBuilder(l).editMetadata().withResourceVersion("gen-7").endMetadata().build();
        view.record(l, false);
        assertThat(view.hasSeen(NAMING.shardLease(3), "gen-7")).isTrue();
        assertThat(view.hasSeen(NAMING.shardLease(3), "gen-5")).as("opaque versions are not ordered").isFalse();
        assertThat(view.hasSeen(NAMING.shardLease(3), "98")).as("still among the versions delivered").isTrue();
    }

    @Test
    void aplainRenewalIsNoNewsButANewLeaseHolderDesiredOwnerDeletionOrARevivalAre() {
        view.record(lease("a_1", "2030-01-01T00:00:00Z", "a"), false); // appeared
        view.record(lease("a_1", "2030-01-01T00:00:01Z", "a"), false); // renewed
        view.record(lease("a_1", "2030-01-01T00:00:01Z", "b"), false); // desired owner moved
        view.record(lease("b_2", "2030-01-01T00:00:02Z", "b"), false); // new holder
        advance(7 * SECOND);
        view.record(lease("b_2", "2030-01-01T00:00:09Z", "b"), false); // renewed after it had expired here
        view.record(lease("b_2", "2030-01-01T00:00:09Z", "b"), true); // deleted
        assertThat(news).containsExactly(true, false, true, true, true, true);
    }

    @Test
    void aDeletedLeaseIsRememberedUntilItsHolderWouldHaveExpiredThenPruned() {
        Lease l = lease("a_1", "2030-01-01T00:00:00Z", "");
        view.record(l, false);
        advance(SECOND);
        view.record(new LeaseBuilder(l).build(), true);
        advance(6 * SECOND - 1);
        view.prune();
        assertThat(view.get(NAMING.shardLease(3))).hasValueSatisfying(s -> assertThat(s.deleted()).isTrue());
        advance(1);
        view.prune();
        assertThat(view.get(NAMING.shardLease(3))).isEmpty();
        assertThat(view.hasSeen(NAMING.shardLease(3), "1")).isFalse();
    }

    @Test
    void aMembershipLeaseNamesItsMemberAndTheHolderItsIdentity() {
        Lease member = Leases.newLease(NAMING.memberLease("replica-7"), Map.of(), Map.of());
        member.getSpec().setHolderIdentity("replica-7_ab12");
        view.record(member, false);
        LeaseView.Seen s = view.get(NAMING.memberLease("replica-7")).orElseThrow();
        assertThat(s.member()).isEqualTo("replica-7");
        assertThat(s.holderIdentity()).isEqualTo("replica-7");
        view.record(lease("x_1", "2030-01-01T00:00:00Z", ""), false);
        assertThat(view.get(NAMING.shardLease(3)).orElseThrow().member()).isEmpty();
    }

    private Lease member(String identity, String holder, String renewTime) {
        Lease l = Leases.newLease(NAMING.memberLease(identity), Map.of(), Map.of());
        l.getMetadata().setResourceVersion(Integer.toString(version++));
        l.getSpec().setHolderIdentity(holder);
        l.getSpec().setLeaseDurationSeconds(6);
        l.getSpec().setRenewTime(java.time.ZonedDateTime.parse(renewTime));
        return l;
    }

    private LeaseView.Seen shard() {
        return view.get(NAMING.shardLease(3)).orElseThrow();
    }

    @Test
    void aShardsHolderIsLiveForALeaseDurationAfterItsMembershipWasLastSeenRenewedNotAfterTheShardLeaseChanged() {
        view.record(lease("a_1", "2001-01-01T00:00:00Z", ""), false); // taken long ago, never renewed since
        advance(20 * SECOND);
        view.record(member("a", "a_1", "2030-01-01T00:00:01Z"), false);
        long renewed = clock.nanoTime();
        assertThat(view.holderLiveUntil(shard())).isEqualTo(renewed + 6 * SECOND);
        advance(3 * SECOND);
        view.record(member("a", "a_1", "2030-01-01T00:00:04Z"), false);
        assertThat(view.holderLiveUntil(shard())).as("each membership renewal").isEqualTo(renewed + 9 * SECOND);
    }

    @Test
    void whenTheMembershipNamesAnotherIncarnationTheOldOneIsLiveUntilItsLastSeenRenewalPlusTheDuration() {
        view.record(lease("a_1", "2030-01-01T00:00:00Z", ""), false);
        view.record(member("a", "a_1", "2030-01-01T00:00:00Z"), false);
        long lastSeen = clock.nanoTime();
        advance(2 * SECOND);
        view.record(member("a", "a_2", "2030-01-01T00:00:02Z"), false); // a hand edit, or a takeover
        assertThat(view.holderLiveUntil(shard())).as("a hand edit must not free it early").isEqualTo(lastSeen + 6 * SECOND);
        view.markGone("a_1");
        assertThat(view.holderLiveUntil(shard())).as("with proof it is gone").isZero();
    }

    @Test
    void aHolderWhoseMembershipWasNeverSeenIsLiveForALeaseDurationFromWhenTheShardWasSeenNamingIt() {
        view.watching();
        long watching = clock.nanoTime();
        advance(2 * SECOND);
        view.record(lease("z_9", "2030-01-01T00:00:00Z", ""), false);
        assertThat(view.holderLiveUntil(shard())).isEqualTo(watching + 2 * SECOND + 6 * SECOND);
        view.record(member("z", "z_9", "2030-01-01T00:00:00Z"), true); // its membership deleted
        assertThat(view.holderLiveUntil(shard())).as("counted from the deletion").isEqualTo(clock.nanoTime() + 6 * SECOND);
        view.record(lease("", "", ""), false);
        assertThat(view.holderLiveUntil(shard())).as("free").isZero();
    }

    @Test
    void aVersionAWriteFailedOnWaitsARetryPeriodOrForTheNextVersion() {
        view.record(lease("a_1", "2030-01-01T00:00:00Z", ""), false);
        LeaseView.Seen stale = view.get(NAMING.shardLease(3)).orElseThrow();
        assertThat(view.writeWaitUntil(stale)).isZero();
        long until = clock.nanoTime() + SECOND;
        view.writeFailed(stale, until);
        assertThat(view.writeWaitUntil(stale)).as("same version, within the period").isEqualTo(until);
        advance(SECOND);
        assertThat(view.writeWaitUntil(stale)).as("the period is over: one more try").isZero();
        view.writeFailed(stale, clock.nanoTime() + SECOND);
        view.record(lease("b_1", "2030-01-01T00:00:01Z", ""), false);
        assertThat(view.writeWaitUntil(view.get(NAMING.shardLease(3)).orElseThrow())).as("the view moved on").isZero();
    }

    /** A Lease missing from a fresh list is deleted in the view only if the new watch has not delivered it since. */
    @Test
    void aDeletionFromAFreshListIsRecordedOnlyOverTheVersionItWasJudgedOn() {
        view.record(lease("a_1", "2030-01-01T00:00:00Z", ""), false);
        LeaseView.Seen judged = view.get(NAMING.shardLease(3)).orElseThrow();
        view.record(lease("a_1", "2030-01-01T00:00:02Z", ""), false); // the fresh watch delivered a newer version
        view.recordDeletedIfUnchanged(judged);
        assertThat(view.get(NAMING.shardLease(3)).orElseThrow().deleted()).as("newer version kept").isFalse();
        view.recordDeletedIfUnchanged(view.get(NAMING.shardLease(3)).orElseThrow());
        assertThat(view.get(NAMING.shardLease(3)).orElseThrow().deleted()).as("unchanged since: deleted").isTrue();
    }
}
