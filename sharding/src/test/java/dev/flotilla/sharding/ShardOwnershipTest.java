package dev.flotilla.sharding;

import static dev.flotilla.sharding.SimHarness.NAMING;
import static dev.flotilla.sharding.audit.LeaseTransition.Kind.ACQUIRED;
import static dev.flotilla.sharding.audit.LeaseTransition.Kind.ACTIVE;
import static dev.flotilla.sharding.audit.LeaseTransition.Kind.FENCED;
import static dev.flotilla.sharding.audit.LeaseTransition.Kind.RELEASED;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The shard Lease state machine with the membership Lease that fences it (protocol 2), on a
 * virtual clock and the simulated API server with a fixed 5 ms network: every transition at the
 * instant it must happen. The coordinator's part (the desired owner) is written by hand; other
 * replicas are membership Leases renewed by hand.
 */
class ShardOwnershipTest {

    private static final Duration MS = Duration.ofMillis(1);
    private static final long MILLI = 1_000_000L;
    private static final String LEASE0 = NAMING.shardLease(0);

    private final SimHarness h = new SimHarness();
    private SimPeer peer;
    private SimShardWork work;
    private ShardOwnership ownership;
    private Membership membership;

    /**
     * Replica r0 (holder r0_incarnation): joins with its membership Lease (a GET, then the create sent
     * at +10 ms and answered at +20), then starts its shard machine; the membership is renewed every
     * retry period from the start.
     */
    private void startReplica(String incarnation) {
        startReplica(incarnation, Duration.ZERO);
    }

    private void startReplica(String incarnation, Duration sync) {
        peer = h.peer("r0", incarnation, Duration.ZERO);
        work = h.work(peer);
        if (!sync.isZero()) {
            work.fixedSync = sync;
        }
        ownership = new ShardOwnership(SimHarness.config("r0"), peer.holder, peer.ports, work, h.metrics("r0"), h.trail,
                new HeldRanges());
        membership = new Membership(SimHarness.config("r0"), peer.holder, peer.ports, ownership::memberRenewed);
        peer.lane.execute(() -> membership.join().whenComplete((x, e) -> peer.lane.execute(ownership::start)));
        h.every(peer, SimHarness.RETRY, () -> membership.renew(why -> { }));
    }

    /** Starts r0 with shard 0 free and desired for it; returns when it works on the shard. */
    private long acquired() {
        h.shardLease(0, "", "r0");
        startReplica("a");
        h.run(Duration.ofMillis(100));
        assertThat(ownership.admits(0)).as("shard 0 active").isTrue();
        return h.now();
    }

    @Test
    void aFreeShardDesiredForItIsTakenAndItsKeysAdmittedOnlyOnceItsCachesSynced() {
        long t0 = h.now();
        h.shardLease(0, "", "r0");
        startReplica("a");
        // Joined at +20 ms; the take reaches the server at +25 ms, its answer arrives at +30 and the caches sync in 50 ms.
        h.run(Duration.ofMillis(79));
        assertThat(h.holderOf(LEASE0)).isEqualTo("r0_a");
        assertThat(ownership.admits(0)).as("caches still filling").isFalse();
        assertThat(h.transitions(0)).containsExactly(ACQUIRED);
        h.run(Duration.ofMillis(2));
        assertThat(ownership.admits(0)).isTrue();
        assertThat(ownership.active()).containsExactly(0);
        assertThat(ownership.admittedUntil(0)).as("the membership Lease's create, sent at +10 ms, plus the renew deadline")
                .isEqualTo(t0 + 10 * MILLI + SimHarness.RENEW.toNanos());
        assertThat(h.transitions(0)).containsExactly(ACQUIRED, ACTIVE);
        assertThat(work.admitted).as("its cached keys were queued").isEqualTo(1);
        assertThat(ownership.admits(1)).as("a shard nobody assigned").isFalse();
    }

    @Test
    void anotherHoldersMembershipIsWaitedOutOnThisReplicasClockWhateverItsRenewTimeSays() {
        Lease lease = h.shardLease(0, "r9_z", "r0");
        h.liveMember("r9", "r9_z");
        h.memberDies("r9"); // never renewed after this
        // Its renewTime says an hour ago (another machine's clock): irrelevant, what counts is when it was seen.
        h.server.edit(NAMING.memberLease("r9"), l -> {
            l.getSpec().setRenewTime(l.getSpec().getRenewTime().minusHours(1));
            return l;
        });
        long seenAt = h.now() + SimHarness.WATCH.toNanos();
        startReplica("a");
        h.world.runUntil(seenAt + SimHarness.LEASE.toNanos());
        assertThat(h.holderOf(LEASE0)).as("not before a whole lease duration since it was seen").isEqualTo("r9_z");
        // The expiry is acted on 1 ms after it happens, not at the next poll: +1 ms, then 5 ms to the server.
        h.run(Duration.ofMillis(7));
        assertThat(h.holderOf(LEASE0)).isEqualTo("r0_a");
        assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("r9_z");
    }

    @Test
    void aLiveForeignHolderKeepsItsShardHoweverLongTheCoordinatorWantsItHere() {
        Lease lease = h.shardLease(0, "r9_z", "r0");
        h.liveMember("r9", "r9_z"); // its shard Lease is never renewed: its membership is
        startReplica("a");
        h.run(Duration.ofSeconds(20));
        assertThat(h.holderOf(LEASE0)).isEqualTo("r9_z");
        assertThat(h.lease(LEASE0).orElseThrow().getMetadata().getResourceVersion()).as("nobody wrote it")
                .isEqualTo(lease.getMetadata().getResourceVersion());
        assertThat(ownership.admits(0)).isFalse();
        assertThat(h.transitions(0)).isEmpty();
    }

    @Test
    void aReplicaWhoseWatchIsBehindJudgesNoHolderGoneForRenewalsItCouldNotSee() {
        Lease lease = h.shardLease(0, "r9_z", "r0"); // desired here, as a coordinator on a stale view would publish it
        h.liveMember("r9", "r9_z");
        startReplica("a");
        h.run(Duration.ofMillis(100));
        peer.cutWatch(); // its own renewals are answered, and the watch shows none of them, nor r9's
        long cut = h.now();
        h.world.runUntil(cut + 3 * SimHarness.LEASE.toNanos());
        assertThat(h.holderOf(LEASE0)).as("r9 renewed all along: it is not taken from it").isEqualTo("r9_z");
        assertThat(ownership.admits(0)).isFalse();
        peer.relistWatch();
        h.run(SimHarness.LEASE);
        assertThat(h.holderOf(LEASE0)).as("the fresh list shows r9 live").isEqualTo("r9_z");
        assertThat(h.lease(LEASE0).orElseThrow().getMetadata().getResourceVersion()).as("nobody wrote it")
                .isEqualTo(lease.getMetadata().getResourceVersion());
        h.memberDies("r9");
        h.run(SimHarness.LEASE.plus(SimHarness.RETRY));
        assertThat(h.holderOf(LEASE0)).as("once r9 stops, taken a lease duration after its last renewal seen").isEqualTo("r0_a");
    }

    @Test
    void eachMembershipRenewalKeepsTheShardAdmittedUntilItsSendTimePlusTheRenewDeadlineAndTheShardLeaseIsNeverWritten() {
        long active = acquired();
        long started = active - Duration.ofMillis(100).toNanos();
        long firstRenewals = h.server.writes();
        String version = h.lease(LEASE0).orElseThrow().getMetadata().getResourceVersion();
        h.world.runUntil(started + Duration.ofMillis(10_500).toNanos());
        // Ticks at +1 s ... +10 s after the start: the last was sent at +10 s.
        assertThat(ownership.admittedUntil(0)).isEqualTo(started + Duration.ofSeconds(10).toNanos() + SimHarness.RENEW.toNanos());
        assertThat(h.server.writes() - firstRenewals).as("one membership renewal per retry period, nothing else").isEqualTo(10);
        assertThat(h.lease(LEASE0).orElseThrow().getMetadata().getResourceVersion()).as("the shard Lease was not written")
                .isEqualTo(version);
        assertThat(h.transitions(0)).containsExactly(ACQUIRED, ACTIVE);
    }

    @Test
    void whenRenewalsFailItStopsExactlyAtTheRenewDeadlineAndTheWatchdogFencesWithoutAnyOtherEvent() {
        long active = acquired();
        long started = active - Duration.ofMillis(100).toNanos();
        h.world.runUntil(started + Duration.ofMillis(3_500).toNanos()); // renewals sent at +1, +2, +3 s succeeded
        h.server.rule((from, op, name) -> op == SimLeaseServer.Op.UPDATE
                ? Optional.of(new LeaseWrite.Failed(new IllegalStateException("API server down"))) : Optional.empty());
        long deadline = started + Duration.ofSeconds(3).toNanos() + SimHarness.RENEW.toNanos();
        h.world.runUntil(deadline - 1);
        assertThat(ownership.admits(0)).as("one nanosecond before the deadline").isTrue();
        assertThat(h.transitions(0)).doesNotContain(FENCED);
        h.world.runUntil(deadline);
        assertThat(ownership.admits(0)).as("at the deadline, before any thread ran").isFalse();
        h.run(Duration.ofMillis(2));
        assertThat(h.last(0, FENCED)).as("fenced 1 ms after the deadline by the scheduled pass").hasValueSatisfying(
                t -> assertThat(t.atNanos()).isEqualTo(deadline + MILLI));
        assertThat(work.interrupted).as("in-flight reconciles interrupted").isEqualTo(1);
        assertThat(h.holderOf(LEASE0)).as("nothing released: it cannot prove it holds the Lease").isEqualTo("r0_a");
        assertThat(ownership.active()).isEmpty();
        assertThat(work.held()).as("its informers stopped").isEmpty();
    }

    private static boolean admitted(dev.flotilla.core.fence.Admission a) {
        return a instanceof dev.flotilla.core.fence.Admission.Admitted;
    }

    @Test
    void writesStopTheWriteMarginBeforeTheRenewDeadlineAndAFenceCancelsThoseInFlight() {
        long active = acquired();
        long started = active - Duration.ofMillis(100).toNanos();
        AtomicInteger cancelled = new AtomicInteger();
        var inFlight = ownership.admitWrite(0, cancelled::incrementAndGet);
        assertThat(admitted(inFlight)).isTrue();
        assertThat(ownership.writesInFlight(0)).isEqualTo(1);
        assertThat(admitted(ownership.admitWrite(1, () -> { }))).as("a shard nobody assigned").isFalse();

        h.world.runUntil(started + Duration.ofMillis(3_500).toNanos()); // renewals sent at +1, +2, +3 s succeeded
        h.server.rule((from, op, name) -> op == SimLeaseServer.Op.UPDATE
                ? Optional.of(new LeaseWrite.Failed(new IllegalStateException("API server down"))) : Optional.empty());
        long deadline = started + Duration.ofSeconds(3).toNanos() + SimHarness.RENEW.toNanos();
        long lastWrite = deadline - ShardOwnership.WRITE_MARGIN.toNanos();
        h.world.runUntil(lastWrite - 1);
        var last = ownership.admitWrite(0, () -> { });
        assertThat(admitted(last)).as("one nanosecond before the write margin").isTrue();
        ((dev.flotilla.core.fence.Admission.Admitted) last).done().run();
        h.world.runUntil(lastWrite);
        assertThat(ownership.admits(0)).as("keys are still admitted").isTrue();
        assertThat(ownership.admitWrite(0, () -> { })).as("writes are not: 500 ms before the deadline")
                .isInstanceOfSatisfying(dev.flotilla.core.fence.Admission.Refused.class,
                        r -> assertThat(r.reason()).contains("shard 0").contains("500 ms to spare"));
        assertThat(cancelled).as("not yet fenced").hasValue(0);

        h.world.runUntil(deadline);
        h.run(Duration.ofMillis(2));
        assertThat(h.last(0, FENCED)).isPresent();
        assertThat(cancelled).as("the write still in flight was cancelled by the fence").hasValue(1);
        assertThat(ownership.writesInFlight(0)).isZero();
        ((dev.flotilla.core.fence.Admission.Admitted) inFlight).done().run(); // its late completion changes nothing
        assertThat(ownership.writesInFlight(0)).isZero();
    }

    @Test
    void aShardHandedOverReleasesItsLeaseOnlyOnceTheWriteOnTheWireIsAnswered() {
        acquired();
        h.run(Duration.ofMillis(2_200));
        AtomicInteger cancelled = new AtomicInteger();
        var onTheWire = ownership.admitWrite(0, cancelled::incrementAndGet);
        assertThat(admitted(onTheWire)).isTrue();
        h.setDesired(0, "r1");
        h.run(Duration.ofMillis(5));
        assertThat(admitted(ownership.admitWrite(0, () -> { }))).as("refused with the keys").isFalse();
        h.run(Duration.ofMillis(300));
        // Cancelling it would only stop waiting: the server could apply it after the release.
        assertThat(cancelled).as("a sent write is not cancelled on a handover").hasValue(0);
        assertThat(h.holderOf(LEASE0)).as("held while its write is on the wire").isEqualTo("r0_a");
        ((dev.flotilla.core.fence.Admission.Admitted) onTheWire).done().run(); // the answer arrives
        h.run(Duration.ofMillis(100));
        assertThat(h.holderOf(LEASE0)).as("then released").isEqualTo("");
        assertThat(ownership.writesInFlight(0)).isZero();
    }

    @Test
    void aWriteThatNeverAnswersLeavesTheHandedOverLeaseToExpireInsteadOfReleased() {
        acquired();
        h.run(Duration.ofMillis(2_200));
        assertThat(admitted(ownership.admitWrite(0, () -> { }))).isTrue(); // never answered
        h.setDesired(0, "r1");
        h.run(Duration.ofSeconds(2)); // the drain timeout is 1 s
        assertThat(h.last(0, RELEASED)).as("given up after the drain timeout").isPresent();
        assertThat(h.holderOf(LEASE0)).as("not released: the others wait the lease out").isEqualTo("r0_a");
    }

    @Test
    void aLeaseEditedToNameAnotherHolderIsFencedTheMomentTheWatchShowsIt() {
        acquired();
        h.run(Duration.ofMillis(2_500));
        long edited = h.now();
        h.setHolderByHand(LEASE0, "mallory");
        h.run(Duration.ofMillis(5));
        assertThat(ownership.admits(0)).isFalse();
        assertThat(h.last(0, FENCED)).hasValueSatisfying(t -> assertThat(t.atNanos()).isEqualTo(edited + 5 * MILLI));
        h.world.runUntil(edited + 5 * MILLI + SimHarness.LEASE.toNanos() - 1);
        assertThat(h.holderOf(LEASE0)).as("a stranger never seen as a member: presumed live for a lease duration")
                .isEqualTo("mallory");
    }

    @Test
    void aDeletedLeaseIsFencedTheMomentTheWatchShowsIt() {
        acquired();
        h.run(Duration.ofMillis(2_500));
        long deleted = h.now();
        h.server.deleteNow(LEASE0);
        h.run(Duration.ofMillis(5));
        assertThat(ownership.admits(0)).isFalse();
        assertThat(h.last(0, FENCED)).hasValueSatisfying(t -> assertThat(t.atNanos()).isEqualTo(deleted + 5 * MILLI));
    }

    @Test
    void aShardTheCoordinatorMovesIsRefusedDrainedAndReleasedForItsNewOwner() {
        acquired();
        h.run(Duration.ofMillis(2_200));
        long moved = h.now();
        h.setDesired(0, "r1");
        h.run(Duration.ofMillis(5));
        assertThat(ownership.admits(0)).as("refused as soon as the new plan is seen").isFalse();
        assertThat(h.holderOf(LEASE0)).as("draining: still held").isEqualTo("r0_a");
        // Drain 20 ms, then the release reaches the server 5 ms later.
        h.world.runUntil(moved + 30 * MILLI);
        assertThat(h.holderOf(LEASE0)).isEqualTo("");
        h.run(Duration.ofMillis(5));
        assertThat(h.transitions(0)).containsExactly(ACQUIRED, ACTIVE, RELEASED);
        assertThat(work.drained).containsExactly(0);
        assertThat(work.held()).isEmpty();
        h.run(Duration.ofSeconds(10));
        assertThat(h.holderOf(LEASE0)).as("not taken back: it is r1's now").isEqualTo("");
    }

    @Test
    void aMoveTheWatchShowsOnlyThroughARelistThatSkippedItsOwnTakeIsStillApplied() {
        h.shardLease(0, "", "r0");
        startReplica("a");
        h.run(Duration.ofMillis(21)); // joined at +20 ms: the take is on the wire, its event would arrive at +30
        peer.cutWatch();
        h.run(Duration.ofMillis(100));
        assertThat(ownership.admits(0)).as("taken and synced, though the watch never showed the take").isTrue();
        long moved = h.now();
        h.setDesired(0, "r1");
        peer.relistWatch(); // the fresh list shows the move, never the version this replica wrote
        h.world.runUntil(moved + 40 * MILLI);
        assertThat(ownership.admits(0)).as("refused as soon as the relisted move is seen").isFalse();
        assertThat(h.holderOf(LEASE0)).as("drained and released for r1").isEqualTo("");
        assertThat(h.transitions(0)).containsExactly(ACQUIRED, ACTIVE, RELEASED);
    }

    @Test
    void aMoveAfterMoreCoordinatorWritesThanTheViewRemembersIsStillApplied() {
        acquired();
        for (int i = 0; i < 40; i++) { // the coordinator rewrites the Lease (its range, say) without moving it
            String layout = Integer.toString(i);
            h.server.edit(LEASE0, l -> Leases.annotate(l, LeaseNaming.ANNOTATION_LAYOUT, layout));
            h.run(Duration.ofMillis(10));
        }
        long moved = h.now();
        h.setDesired(0, "r1");
        h.world.runUntil(moved + 40 * MILLI);
        assertThat(h.holderOf(LEASE0)).as("drained and released for r1").isEqualTo("");
        assertThat(h.transitions(0)).containsExactly(ACQUIRED, ACTIVE, RELEASED);
    }

    @Test
    void aReleaseThatLosesARaceWithAnotherWriteIsReadAgainAndRetried() {
        acquired();
        h.run(Duration.ofMillis(2_200)); // a renewal tick falls at +3.0 s, well after the hand-over below
        AtomicInteger conflicts = new AtomicInteger();
        h.setDesired(0, "r1");
        h.server.rule((from, op, name) -> op == SimLeaseServer.Op.UPDATE && conflicts.getAndIncrement() == 0
                ? Optional.of(new LeaseWrite.Conflict()) : Optional.empty());
        h.run(Duration.ofMillis(100));
        assertThat(conflicts.get()).as("the first release answered 409, the retry went through").isEqualTo(2);
        assertThat(h.holderOf(LEASE0)).isEqualTo("");
        assertThat(h.transitions(0)).containsExactly(ACQUIRED, ACTIVE, RELEASED);
    }

    @Test
    void whenAReconcileIgnoresItsInterruptTheLeaseIsFreedOnlyALeaseDurationLater() {
        acquired();
        work.fixedDrain = Duration.ofMillis(1_500); // the drain timeout, then half a second after the interrupt
        work.drainResult = false;
        h.run(Duration.ofMillis(2_200));
        long moved = h.now();
        h.setDesired(0, "r1");
        h.world.runUntil(moved + Duration.ofMillis(1_600).toNanos());
        assertThat(h.transitions(0)).containsExactly(ACQUIRED, ACTIVE, RELEASED);
        assertThat(h.holderOf(LEASE0)).as("not freed: the others must not start beside the stuck reconcile").isEqualTo("r0_a");
        assertThat(ownership.releasedEveryShard()).as("a leave now lets the membership expire").isFalse();
        long givenUp = moved + Duration.ofMillis(1_505).toNanos(); // the watch showed the move at +5 ms, the drain took 1.5 s
        h.world.runUntil(givenUp + SimHarness.LEASE.toNanos() - MILLI);
        assertThat(h.holderOf(LEASE0)).as("the membership is renewed meanwhile, so nobody else takes it").isEqualTo("r0_a");
        h.run(Duration.ofMillis(100));
        assertThat(h.holderOf(LEASE0)).as("freed a lease duration later, when protocol 1 let it expire").isEmpty();
        assertThat(ownership.releasedEveryShard()).isTrue();
    }

    @Test
    void aRestartedIncarnationWaitsOutItsPredecessorsMembershipAndTakesItsShardWhenItExpires() {
        h.shardLease(0, "r0_old", "r0");
        h.liveMember("r0", "r0_old");
        h.memberDies("r0");
        long seenAt = h.now() + SimHarness.WATCH.toNanos();
        startReplica("new");
        h.world.runUntil(seenAt + SimHarness.LEASE.toNanos());
        assertThat(h.holderOf(LEASE0)).as("the same identity, but another incarnation: no proof it is gone").isEqualTo("r0_old");
        // The join watches the old membership for lease + retry, takes it over; the shard is taken at once.
        h.world.runUntil(seenAt + SimHarness.LEASE.plus(SimHarness.RETRY).toNanos() + 700 * MILLI); // its polls: every 510 ms
        assertThat(h.holderOf(NAMING.memberLease("r0"))).isEqualTo("r0_new");
        assertThat(h.holderOf(LEASE0)).isEqualTo("r0_new");
        assertThat(ownership.admits(0)).isTrue();
    }

    @Test
    void aShardWhoseCachesNeverSyncIsHandedBackAfterTheSyncTimeout() {
        h.shardLease(0, "", "r0");
        startReplica("a", ShardOwnership.SYNC_TIMEOUT.plusSeconds(10));
        h.run(ShardOwnership.SYNC_TIMEOUT.minusMillis(100));
        assertThat(h.transitions(0)).containsExactly(ACQUIRED);
        assertThat(h.holderOf(LEASE0)).as("held while syncing").isEqualTo("r0_a");
        h.run(Duration.ofMillis(200));
        assertThat(ownership.admits(0)).isFalse();
        assertThat(h.transitions(0)).startsWith(ACQUIRED, RELEASED);
    }

    @Test
    void aReplicaFrozenPastItsDeadlineRefusesTheShardTheInstantItResumes() {
        acquired();
        h.run(Duration.ofMillis(1_500));
        peer.freeze(Duration.ofSeconds(8));
        h.run(Duration.ofSeconds(8));
        assertThat(ownership.admits(0)).as("resumed, nothing has run yet").isFalse();
    }

    @Test
    void aShardTakenBackWhileARenewalOfItsEarlierTenureWasInFlightKeepsBeingRenewed() {
        long active = acquired();
        long started = active - Duration.ofMillis(100).toNanos();
        // Frozen 2 ms after a tick sent a renewal: its answer, the deadline and the next ticks all wait for the resume.
        h.world.runUntil(started + Duration.ofMillis(2_002).toNanos());
        peer.freeze(Duration.ofSeconds(5));
        h.run(Duration.ofSeconds(5));
        h.run(Duration.ofMillis(1_200)); // the renewal on the next tick proves the membership again
        assertThat(h.transitions(0)).as("fenced on resuming, then taken back (it is still desired here)")
                .containsExactly(ACQUIRED, ACTIVE, FENCED, ACQUIRED, ACTIVE);
        h.run(Duration.ofSeconds(12));
        assertThat(h.transitions(0)).as("the membership renewed every retry period since: no further fence").containsExactly(ACQUIRED,
                ACTIVE, FENCED, ACQUIRED, ACTIVE);
        assertThat(ownership.admits(0)).isTrue();
    }

    @Test
    void leavingWhileAShardIsBeingTakenWaitsForTheTakeAndHandsTheWonLeaseBack() {
        startReplica("a");
        h.run(Duration.ofMillis(30)); // joined
        peer.network().fixed(Duration.ofMillis(500), SimHarness.WATCH);
        h.shardLease(0, "", "r0");
        h.run(Duration.ofMillis(10)); // the take is on its way
        java.util.concurrent.CompletableFuture<Void> released = h.onLane(peer, ownership::releaseAll);
        h.run(Duration.ofMillis(600));
        assertThat(h.holderOf(LEASE0)).as("the take won meanwhile").isEqualTo("r0_a");
        assertThat(released).isNotDone();
        h.run(Duration.ofMillis(1_500)); // a 20 ms drain, then the release: 500 ms there, 500 ms back
        assertThat(released).isCompleted();
        assertThat(h.holderOf(LEASE0)).as("handed straight back").isEmpty();
        assertThat(ownership.admits(0)).isFalse();
    }
}
