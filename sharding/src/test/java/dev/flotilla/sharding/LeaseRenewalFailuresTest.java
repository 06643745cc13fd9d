package dev.flotilla.sharding;

import static dev.flotilla.sharding.SimHarness.NAMING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.sharding.audit.AuditTrail;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * {@link ShardMetrics#LEASE_RENEWAL_FAILURES_TOTAL} on a whole {@link ShardingNode}: at zero for every kind from the
 * start, and counting the membership's and the coordinator's failed renewals and the failed takes of a shard Lease.
 */
class LeaseRenewalFailuresTest {

    private final SimHarness h = new SimHarness();
    private final SimPeer peer = h.peer("r0", "a", Duration.ZERO);
    private final ShardingNode node = new ShardingNode(SimHarness.config("r0"), peer.holder, peer.ports, h.work(peer),
            h.metrics("r0"), AuditTrail.none(), why -> {
            });

    private Map<String, Double> failures() {
        return Map.of("member", count("member"), "shard", count("shard"), "coordinator", count("coordinator"));
    }

    private double count(String lease) {
        return h.registry.get(ShardMetrics.LEASE_RENEWAL_FAILURES_TOTAL).tag(ShardMetrics.LABEL_LEASE, lease).counter().count();
    }

    @Test
    void failedRenewalsAreCountedByTheKindOfLease() {
        assertThat(failures()).as("registered at zero").isEqualTo(Map.of("member", 0.0, "shard", 0.0, "coordinator", 0.0));
        CompletableFuture<Void> joined = h.onLane(peer, node::join);
        h.run(Duration.ofSeconds(10));
        assertThat(joined).isCompleted();
        assertThat(h.holderOf(NAMING.coordinatorLease())).isEqualTo(peer.holder);
        assertThat(failures()).as("a healthy group").isEqualTo(Map.of("member", 0.0, "shard", 0.0, "coordinator", 0.0));

        // 3 s of timeouts for every update of the member and coordinator Leases: 3 renewal periods of each.
        AtomicBoolean failing = new AtomicBoolean(true);
        h.server.rule((from, op, name) -> failing.get() && op == SimLeaseServer.Op.UPDATE
                && (name.equals(NAMING.memberLease("r0")) || name.equals(NAMING.coordinatorLease()))
                ? Optional.of(new LeaseWrite.Failed(new TimeoutException("scripted"))) : Optional.empty());
        h.run(Duration.ofMillis(3_000));
        failing.set(false);
        h.run(Duration.ofSeconds(1));
        assertThat(count("member")).isBetween(2.0, 4.0);
        assertThat(count("coordinator")).isBetween(2.0, 4.0);
        assertThat(count("shard")).isZero();
    }

    @Test
    void failedTakesOfShardLeasesCountAsShard() {
        // For the first 15 s (the first assignment comes after a lease duration) every take of a shard Lease times
        // out: an update of a Lease assigned to this replica and not yet held by it (the coordinator's writes pass).
        AtomicBoolean failing = new AtomicBoolean(true);
        h.server.rule((from, op, name) -> failing.get() && op == SimLeaseServer.Op.UPDATE && h.server.current(name)
                .filter(l -> l.getMetadata().getAnnotations() != null && "r0".equals(l.getMetadata().getAnnotations()
                        .get(LeaseNaming.ANNOTATION_DESIRED_OWNER)) && !peer.holder.equals(Leases.holderOf(l))).isPresent()
                ? Optional.of(new LeaseWrite.Failed(new TimeoutException("scripted"))) : Optional.empty());
        CompletableFuture<Void> joined = h.onLane(peer, node::join);
        h.run(Duration.ofSeconds(15));
        failing.set(false);
        h.run(Duration.ofSeconds(5));
        assertThat(joined).isCompleted();
        assertThat(count("shard")).isPositive();
        assertThat(count("member")).isZero();
        assertThat(h.holderOf(NAMING.shardLease(3))).as("taken once the faults stop").isEqualTo(peer.holder);
    }
}
