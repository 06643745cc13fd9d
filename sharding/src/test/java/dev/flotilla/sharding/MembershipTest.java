package dev.flotilla.sharding;

import static dev.flotilla.sharding.SimHarness.NAMING;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The membership Lease state machine alone, on a virtual clock and a fixed 5 ms network. */
class MembershipTest {

    private static final String MEMBER = NAMING.memberLease("r0");

    private final SimHarness h = new SimHarness();
    private final SimPeer peer = h.peer("r0", "a", Duration.ZERO);
    /** Send times of the successful writes Membership reported: the fence of the shards it holds. */
    private final List<Long> renewals = new ArrayList<>();
    private final Membership membership = new Membership(SimHarness.config("r0"), peer.holder, peer.ports, renewals::add);
    private final List<String> taken = new ArrayList<>();

    private CompletableFuture<Void> join() {
        return h.onLane(peer, membership::join);
    }

    private void renew() {
        peer.lane.execute(() -> membership.renew(taken::add));
    }

    private Lease handMade(String holder) {
        Lease lease = Leases.newLease(MEMBER, Map.of(LeaseNaming.LABEL_GROUP, SimHarness.GROUP), Map.of());
        if (!holder.isEmpty()) {
            Leases.hold(lease, holder, (int) SimHarness.LEASE.toSeconds(), h.world.wall(Duration.ZERO));
        }
        return h.server.put(lease);
    }

    @Test
    void aFirstJoinCreatesTheMembershipLeaseWithTheGroupsLabels() {
        CompletableFuture<Void> joined = join();
        h.run(Duration.ofMillis(19));
        assertThat(joined).as("a read and a create: two 10 ms round trips").isNotDone();
        h.run(Duration.ofMillis(1));
        assertThat(joined).isCompleted();
        Lease lease = h.lease(MEMBER).orElseThrow();
        assertThat(Leases.holderOf(lease)).isEqualTo("r0_a");
        assertThat(lease.getMetadata().getLabels()).containsEntry(LeaseNaming.LABEL_GROUP, SimHarness.GROUP)
                .containsEntry(LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_MEMBER);
    }

    @Test
    void aFreedMembershipLeaseIsTakenAtOnce() {
        handMade("");
        CompletableFuture<Void> joined = join();
        h.run(Duration.ofMillis(20));
        assertThat(joined).isCompleted();
        assertThat(h.holderOf(MEMBER)).isEqualTo("r0_a");
    }

    @Test
    void aLiveReplicaWithTheSameIdentityIsRefusedAtItsFirstRenewal() {
        handMade("r0_other");
        h.liveMember("r0", "r0_other"); // renewed every second from now on
        long begin = h.now();
        CompletableFuture<Void> joined = join();
        h.run(Duration.ofSeconds(3));
        assertThat(joined).isCompletedExceptionally();
        assertThat(joined.exceptionNow()).isInstanceOf(DuplicateIdentityException.class)
                .hasMessageContaining("another live replica holds identity 'r0'").hasMessageContaining("holder r0_other");
        assertThat(h.holderOf(MEMBER)).isEqualTo("r0_other");
        assertThat(h.now() - begin).isLessThan(SimHarness.LEASE.toNanos());
    }

    @Test
    void aSilentEarlierIncarnationIsTakenOverAfterOneLeaseDurationAndARetryPeriod() {
        handMade("r0_old");
        long begin = h.now();
        CompletableFuture<Void> joined = join();
        h.world.runUntil(begin + SimHarness.LEASE.plus(SimHarness.RETRY).toNanos());
        assertThat(joined).as("watching for a renewal for lease + retry").isNotDone();
        h.run(Duration.ofMillis(600)); // the next look (every half retry period), then the take-over
        assertThat(joined).isCompleted();
        assertThat(h.holderOf(MEMBER)).isEqualTo("r0_a");
    }

    @Test
    void aMembershipLeaseDeletedWhileTheReplicaRunsIsRecreatedByTheNextRenewal() {
        join();
        h.run(Duration.ofMillis(50));
        h.server.deleteNow(MEMBER);
        renew();
        h.run(Duration.ofMillis(100));
        assertThat(h.holderOf(MEMBER)).isEqualTo("r0_a");
        assertThat(taken).isEmpty();
    }

    @Test
    void aMembershipLeaseTakenByAnotherIncarnationIsReportedOnceAndNotWrittenOver() {
        join();
        h.run(Duration.ofMillis(50));
        h.setHolderByHand(MEMBER, "r0_intruder");
        renew();
        h.run(Duration.ofMillis(100));
        assertThat(taken).singleElement().asString().contains("another replica took over the membership lease of identity 'r0'");
        assertThat(h.holderOf(MEMBER)).isEqualTo("r0_intruder");
    }

    @Test
    void aFailedRenewalIsFollowedByOneOnAFreshRead() {
        join();
        h.run(Duration.ofMillis(50));
        AtomicInteger failures = new AtomicInteger();
        h.server.rule((from, op, name) -> op == SimLeaseServer.Op.UPDATE && failures.getAndIncrement() == 0
                ? Optional.of(new LeaseWrite.Failed(new IllegalStateException("503"))) : Optional.empty());
        long before = h.server.writes();
        renew();
        h.run(Duration.ofMillis(100));
        assertThat(h.server.writes()).isEqualTo(before);
        renew();
        h.run(Duration.ofMillis(100));
        assertThat(h.server.writes()).isEqualTo(before + 1);
        assertThat(taken).isEmpty();
    }

    @Test
    void leavingReleasesTheLeaseThenDeletesItRetryingARaceWithARenewal() {
        join();
        h.run(Duration.ofMillis(50));
        AtomicInteger updates = new AtomicInteger();
        h.server.rule((from, op, name) -> op == SimLeaseServer.Op.UPDATE && updates.getAndIncrement() == 0
                ? Optional.of(new LeaseWrite.Conflict()) : Optional.empty());
        List<String> holders = new ArrayList<>();
        h.server.onWrite(l -> holders.add(Leases.holderOf(l)));
        CompletableFuture<Void> left = h.onLane(peer, () -> membership.leave(true));
        h.run(Duration.ofMillis(200));
        assertThat(left).isCompleted();
        assertThat(updates.get()).as("409, read again, released").isEqualTo(2);
        assertThat(holders).as("freed first, so the coordinator re-plans at once").containsExactly("");
        assertThat(h.lease(MEMBER)).as("then deleted").isEmpty();
    }

    @Test
    void aRenewalStillInFlightWhenTheReplicaLeavesDoesNotBringItsLeaseBack() {
        join();
        h.run(Duration.ofMillis(50));
        peer.network().fixed(Duration.ofSeconds(1), SimHarness.WATCH); // this renewal reaches the server after the leave
        renew();
        h.world.settle(); // sent now, on the slow network
        peer.network().fixed(SimHarness.ONE_WAY, SimHarness.WATCH);
        CompletableFuture<Void> left = h.onLane(peer, () -> membership.leave(true));
        h.run(Duration.ofMillis(100));
        assertThat(left).isCompleted();
        assertThat(h.lease(MEMBER)).isEmpty();
        h.run(Duration.ofSeconds(3));
        assertThat(h.lease(MEMBER)).as("a late renewal found it deleted and left it so").isEmpty();
    }

    @Test
    void everySuccessfulWriteReportsItsSendTimeAndAFailedOneDoesNot() {
        long t0 = h.now();
        join();
        h.run(Duration.ofMillis(50));
        // GET (5 ms there, 5 back), then the create sent at +10 ms.
        assertThat(renewals).containsExactly(t0 + Duration.ofMillis(10).toNanos());
        long sent = h.now();
        renew();
        h.run(Duration.ofMillis(50));
        assertThat(renewals).as("sent at once on the known version").hasSize(2).last().isEqualTo(sent);
        h.server.rule((from, op, name) -> op == SimLeaseServer.Op.UPDATE
                ? Optional.of(new LeaseWrite.Failed(new IllegalStateException("API server down"))) : Optional.empty());
        renew();
        h.run(Duration.ofMillis(50));
        assertThat(renewals).as("a failed renewal extends nothing").hasSize(2);
    }

    @Test
    void markingLeavingWritesTheAnnotationAtOnceAndRenewalsGoOnUntilTheLeave() {
        join();
        h.run(Duration.ofMillis(50));
        CompletableFuture<Void> marked = h.onLane(peer, membership::markLeaving);
        h.run(Duration.ofMillis(20));
        assertThat(marked).isCompleted();
        assertThat(h.lease(MEMBER)).hasValueSatisfying(l -> assertThat(l.getMetadata().getAnnotations())
                .containsEntry(LeaseNaming.ANNOTATION_LEAVING, "true").containsEntry(LeaseNaming.ANNOTATION_PROTOCOL, LeaseNaming.PROTOCOL));
        int before = renewals.size();
        renew();
        h.run(Duration.ofMillis(20));
        assertThat(renewals).as("still renewed: it fences the shards being handed over").hasSize(before + 1);
        assertThat(h.lease(MEMBER)).hasValueSatisfying(l -> assertThat(l.getMetadata().getAnnotations())
                .as("and still marked").containsEntry(LeaseNaming.ANNOTATION_LEAVING, "true"));
    }

    @Test
    void aLeaveWithAShardStillNamingThisReplicaLeavesTheLeaseToExpire() {
        join();
        h.run(Duration.ofMillis(50));
        CompletableFuture<Void> left = h.onLane(peer, () -> membership.leave(false));
        h.run(Duration.ofMillis(50));
        assertThat(left).isCompleted();
        assertThat(h.holderOf(MEMBER)).as("not freed: the others judge that shard's holder by it").isEqualTo("r0_a");
        int before = renewals.size();
        renew();
        h.run(Duration.ofSeconds(2));
        assertThat(renewals).as("and no longer renewed").hasSize(before);
    }
}
