package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.flotilla.core.manager.ExtensionStartException;
import dev.flotilla.sharding.audit.InMemoryAuditTrail;
import dev.flotilla.sharding.audit.OverlapChecker;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.testing.fault.FaultProxy;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.slf4j.LoggerFactory;

/**
 * What sharding does with bad configuration and with Leases someone else edited or deleted.
 *
 * <p>Most of each scenario is waiting out lease durations, so they run side by side ({@link SideBySide}; the module's
 * surefire configuration runs everything else one at a time): each has its own namespace, group (so its own Leases),
 * fault proxy, audit trail and replicas. The log they capture is the process's, so a scenario that judges log lines
 * picks its own by what only it has: the stranger it wrote into a Lease, its group's Lease name, or replica identities
 * no other scenario uses.
 */
@WithCluster
class ShardingBadInputTest {

    /** A scenario that runs beside the others (the module's parallelism). */
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target(java.lang.annotation.ElementType.METHOD)
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    @interface SideBySide {
    }

    private final InMemoryAuditTrail trail = new InMemoryAuditTrail();
    private final List<Replica> replicas = new ArrayList<>();
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private FaultProxy proxy;

    @BeforeEach
    void captureLogs(TestCluster cluster) {
        logs.start();
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
        proxy = FaultProxy.start(cluster);
    }

    @AfterEach
    void stopAll() {
        replicas.forEach(Replica::close);
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
        proxy.close();
        assertThat(OverlapChecker.overlaps(trail.reconciles())).isEmpty();
    }

    private Replica replica(String identity, ShardingConfig config) {
        Replica r = new Replica(identity, proxy.clientConfig(identity + "-" + replicas.size()), config, trail, "bad",
                Duration.ofMillis(1));
        replicas.add(r);
        return r;
    }

    /** A person's read-modify-write, retried when a renewal got in between (as kubectl edit would be). */
    private static void editByHand(io.fabric8.kubernetes.client.dsl.NonNamespaceOperation<Lease,
            io.fabric8.kubernetes.api.model.coordination.v1.LeaseList, io.fabric8.kubernetes.client.dsl.Resource<Lease>> leases,
            String name, java.util.function.UnaryOperator<Lease> edit) {
        for (int attempt = 0; ; attempt++) {
            try {
                leases.resource(edit.apply(leases.withName(name).get())).update();
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt >= 10) {
                    throw e;
                }
            }
        }
    }

    private List<String> logLines(String contains) {
        List<ILoggingEvent> events;
        synchronized (logs) { // appended to under this lock, by every scenario's replicas
            events = new ArrayList<>(logs.list);
        }
        return events.stream().map(e -> e.getFormattedMessage() + " " + e.getKeyValuePairs()).filter(l -> l.contains(contains))
                .toList();
    }

    @SideBySide
    void aShardCountOfZeroOrAbove4096AndImpossibleTimingsAreRefusedWithTheAllowedRange(TestNamespace ns) {
        ShardingConfig ok = ShardingConfig.defaults("replica-0", ns.name());
        assertThatThrownBy(() -> ok.withShards(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("shard count must be between 1 and 4096, got 0");
        assertThatThrownBy(() -> ok.withShards(4097)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("shard count must be between 1 and 4096, got 4097");
        assertThatThrownBy(() -> ok.withTimings(Duration.ofSeconds(4), Duration.ofSeconds(4), Duration.ofSeconds(1)))
                .hasMessageContaining("lease duration (4s) must be longer than the renew deadline (4s) by at least 2s");
        // 15 s / 14.999 s: "longer" alone would pass, and leave a write sent at the deadline 1 ms to land.
        assertThatThrownBy(() -> ok.withTimings(Duration.ofSeconds(15), Duration.ofMillis(14_999), Duration.ofSeconds(2)))
                .hasMessageContaining("lease duration (15s) must be longer than the renew deadline (14.999s) by at least 2s");
        assertThatThrownBy(() -> ok.withTimings(Duration.ofSeconds(6), Duration.ofMillis(4001), Duration.ofSeconds(1)))
                .hasMessageContaining("by at least 2s");
        assertThat(ok.withTimings(Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1)).renewDeadline())
                .isEqualTo(Duration.ofSeconds(4));
        assertThatThrownBy(() -> ok.withTimings(Duration.ofSeconds(6), Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessageContaining("renew deadline (1s) must be longer than the retry period (1s)");
        assertThatThrownBy(() -> ShardingConfig.defaults("Replica_0", ns.name()))
                .hasMessageContaining("identity 'Replica_0' must be lower-case letters");
    }

    @SideBySide
    void theShardCountChangesWithoutStoppingTheGroup(TestCluster cluster, TestNamespace ns) throws Exception {
        // Members take whatever shard Leases the coordinator publishes, with the ranges on them; only the coordinator's
        // shard count lays them out. A rolling restart with a new count moves the group once a replica with the new
        // count leads: here replica-1 (16) joins a group led by replica-0 (32), and takes over when replica-0 leaves.
        Replica first = replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "count")).start();
        await().atMost(Duration.ofSeconds(15)).until(() -> first.sharding.activeShards().size() == 32);
        Replica second = replica("replica-1", ShardedReplicasTest.config("replica-1", ns, "count").withShards(16)).start();
        await().atMost(Duration.ofSeconds(30)).until(() -> !second.sharding.activeShards().isEmpty()
                && first.sharding.activeShards().size() + second.sharding.activeShards().size() == 32);
        first.manager.stop(); // a graceful leave: replica-1 leads, with its own count
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100)).until(() -> second.sharding.layoutSettled()
                && second.sharding.activeShards().size() == 16);
        java.math.BigInteger covered = second.sharding.activeRanges().values().stream().map(HashRange::size)
                .reduce(java.math.BigInteger.ZERO, java.math.BigInteger::add);
        assertThat(covered).as("16 ranges cover the whole hash space").isEqualTo(java.math.BigInteger.ONE.shiftLeft(64));
        var leases = cluster.client().leases().inNamespace(ns.name());
        for (int shard = 16; shard < 32; shard++) {
            Lease retired = leases.withName(new LeaseNaming("count").shardLease(shard)).get();
            assertThat(retired.getSpec().getHolderIdentity()).as("shard %d beyond the new count is free", shard).isNull();
            assertThat(retired.getMetadata().getAnnotations()).as("and assigned to nobody")
                    .containsEntry(LeaseNaming.ANNOTATION_DESIRED_OWNER, "");
        }
    }

    @SideBySide
    void aSecondLiveReplicaWithTheSameIdentityIsRefused(TestCluster cluster, TestNamespace ns) throws Exception {
        replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "dup")).start();
        Replica twin = replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "dup"));
        long begin = System.nanoTime();
        assertThatThrownBy(twin::start).isInstanceOf(ExtensionStartException.class)
                .hasCauseInstanceOf(DuplicateIdentityException.class)
                .hasMessageContaining("another live replica holds identity 'replica-0'");
        System.out.printf("duplicate identity refused after %d ms%n", Duration.ofNanos(System.nanoTime() - begin).toMillis());
        // The refused join took the manager's abandon path: it has stopped and holds nothing.
        assertThat(twin.manager.awaitTerminationFor(Duration.ZERO)).isTrue();
        assertThat(twin.manager.failure()).isEmpty();
        assertThat(twin.sharding.activeShards()).isEmpty();
        await().atMost(Duration.ofSeconds(15)).until(() -> replicas.getFirst().sharding.activeShards().size() == 32);
        String holder = cluster.client().leases().inNamespace(ns.name()).withName(new LeaseNaming("dup").memberLease("replica-0"))
                .get().getSpec().getHolderIdentity();
        assertThat(holder).as("the live replica keeps its membership").isNotNull();
        assertThat(replicas.getFirst().manager.isReady()).isTrue();
    }

    @SideBySide
    void aReplicaWhoseIdentityIsTakenOverAbandonsTheGroupAndStopsItsManagerWhileItsShardsExpireForTheOthers(TestCluster cluster,
            TestNamespace ns) throws Exception {
        Replica a = replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "taken")).start();
        Replica b = replica("replica-1", ShardedReplicasTest.config("replica-1", ns, "taken")).start();
        ShardedReplicasTest.awaitSettled(List.of(a, b), 32);
        LeaseNaming naming = new LeaseNaming("taken");
        Set<Integer> lost = Set.copyOf(a.sharding.activeShards());
        var leases = cluster.client().leases().inNamespace(ns.name());
        Map<Integer, String> holdersBefore = new java.util.HashMap<>();
        for (int shard : lost) {
            holdersBefore.put(shard, leases.withName(naming.shardLease(shard)).get().getSpec().getHolderIdentity());
        }
        long edited = System.nanoTime();
        editByHand(leases, naming.memberLease("replica-0"), l -> new LeaseBuilder(l).editSpec()
                .withHolderIdentity("replica-0_intruder").endSpec().build());
        assertThat(a.manager.awaitTerminationFor(Duration.ofSeconds(5))).as("the manager stopped by itself").isTrue();
        long stoppedMs = Duration.ofNanos(System.nanoTime() - edited).toMillis();
        assertThat(a.manager.failure()).hasValueSatisfying(f -> assertThat(f)
                .contains("another replica took over the membership lease of identity 'replica-0'"));
        assertThat(a.sharding.activeShards()).isEmpty();
        // Abandoned, not left: nothing was released, the shard Leases still name replica-0 until they expire.
        for (int shard : lost) {
            assertThat(leases.withName(naming.shardLease(shard)).get().getSpec().getHolderIdentity())
                    .as("shard %d", shard).isEqualTo(holdersBefore.get(shard));
        }
        assertThat(trail.transitions().stream().filter(t -> t.replica().equals("replica-0")
                && t.kind() == dev.flotilla.sharding.audit.LeaseTransition.Kind.RELEASED && t.atNanos() > edited)).isEmpty();
        replicas.remove(a);
        a.close();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> b.sharding.activeShards().containsAll(lost));
        long takenMs = Duration.ofNanos(System.nanoTime() - edited).toMillis();
        System.out.printf("identity taken over: manager stopped after %d ms, %d shards active on the survivor after %d ms%n",
                stoppedMs, lost.size(), takenMs);
        assertThat(takenMs).as("the survivor waited for the abandoned Leases to expire").isGreaterThanOrEqualTo(4000);
    }

    @SideBySide
    void aShardLeaseEditedByHandToNameAStrangerIsFencedAtOnceAndTakenBackWhenItsLeaseExpires(TestCluster cluster,
            TestNamespace ns) throws Exception {
        Replica a = replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "edit")).start();
        Replica b = replica("replica-1", ShardedReplicasTest.config("replica-1", ns, "edit")).start();
        ShardedReplicasTest.awaitSettled(List.of(a, b), 32);
        LeaseNaming naming = new LeaseNaming("edit");
        int stolen = a.sharding.activeShards().iterator().next();
        var leases = cluster.client().leases().inNamespace(ns.name());
        long edited = System.nanoTime();
        editByHand(leases, naming.shardLease(stolen), l -> new LeaseBuilder(l).editSpec().withHolderIdentity("mallory").endSpec().build());
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
                .until(() -> !a.sharding.activeShards().contains(stolen));
        long fencedMs = Duration.ofNanos(System.nanoTime() - edited).toMillis();
        // The shard leaves the active set first and the line follows once its reconciles are interrupted and its writes
        // cancelled (on the JDK's client a cancel runs the write's dependent steps on the fencing thread).
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> assertThat(
                logLines("shard fenced")).anyMatch(l -> l.contains("mallory") && l.contains("shard=\"" + stolen + "\"")));
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                .until(() -> a.sharding.activeShards().contains(stolen) || b.sharding.activeShards().contains(stolen));
        long recoveredMs = Duration.ofNanos(System.nanoTime() - edited).toMillis();
        assertThat(recoveredMs).as("taken back once the stranger's lease expired").isGreaterThanOrEqualTo(5000);

        // A desired owner edited to a stranger: the coordinator re-assigns the shard to a live member.
        int misdirected = b.sharding.activeShards().iterator().next();
        editByHand(leases, naming.shardLease(misdirected), l -> new LeaseBuilder(l).editMetadata()
                .addToAnnotations(LeaseNaming.ANNOTATION_DESIRED_OWNER, "mallory").endMetadata().build());
        await().atMost(Duration.ofSeconds(5)).until(() -> Set.of("replica-0", "replica-1").contains(leases
                .withName(naming.shardLease(misdirected)).get().getMetadata().getAnnotations()
                .get(LeaseNaming.ANNOTATION_DESIRED_OWNER)));
        assertThat(logLines("desired owner that is not a live member")).as("the warning about this scenario's stranger")
                .anyMatch(l -> l.contains("desiredOwner=\"mallory\"") && l.contains("shard=\"" + misdirected + "\""));
        ShardedReplicasTest.awaitSettled(List.of(a, b), 32);
        System.out.printf("holder edited to a stranger: fenced after %d ms, active again after %d ms%n", fencedMs, recoveredMs);
    }

    @SideBySide
    void aMemberLeaseDeletedWhileItsReplicaLivesIsRecreatedAndNoShardMoves(TestCluster cluster, TestNamespace ns)
            throws Exception {
        Replica a = replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "deleted")).start();
        Replica b = replica("replica-1", ShardedReplicasTest.config("replica-1", ns, "deleted")).start();
        ShardedReplicasTest.awaitSettled(List.of(a, b), 32);
        Set<Integer> before = Set.copyOf(b.sharding.activeShards());
        int transitionsBefore = trail.transitions().size();
        var leases = cluster.client().leases().inNamespace(ns.name());
        String member = new LeaseNaming("deleted").memberLease("replica-1");
        leases.withName(member).delete();
        await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50)).until(() -> leases.withName(member).get() != null);
        assertThat(logLines("membership lease was deleted while this replica runs; recreating it"))
                .anyMatch(l -> l.contains("lease=\"" + member + "\""));
        Thread.sleep(8000); // longer than a lease: nothing may move
        assertThat(b.sharding.activeShards()).isEqualTo(before);
        assertThat(trail.transitions().size()).as("no shard changed hands").isEqualTo(transitionsBefore);
    }

    @SideBySide
    void aShardLeaseDeletedUnderItsHolderIsFencedAndNotHandedOutUntilItsLeaseWouldHaveExpired(TestCluster cluster,
            TestNamespace ns) throws Exception {
        // Identities of its own: the fenced line it judges names the replica.
        Replica a = replica("gone-0", ShardedReplicasTest.config("gone-0", ns, "gone")).start();
        Replica b = replica("gone-1", ShardedReplicasTest.config("gone-1", ns, "gone")).start();
        ShardedReplicasTest.awaitSettled(List.of(a, b), 32);
        int shard = a.sharding.activeShards().iterator().next();
        var leases = cluster.client().leases().inNamespace(ns.name());
        long deleted = System.nanoTime();
        leases.withName(new LeaseNaming("gone").shardLease(shard)).delete();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
                .until(() -> !a.sharding.activeShards().contains(shard));
        long fencedMs = Duration.ofNanos(System.nanoTime() - deleted).toMillis();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> a.sharding.activeShards().contains(shard) || b.sharding.activeShards().contains(shard));
        long backMs = Duration.ofNanos(System.nanoTime() - deleted).toMillis();
        System.out.printf("shard lease deleted under its holder: fenced after %d ms, active again after %d ms%n", fencedMs, backMs);
        assertThat(backMs).as("recreated only after the deleted holder's lease would have expired").isGreaterThanOrEqualTo(5000);
        assertThat(logLines("shard fenced")).anyMatch(l -> l.contains("deleted") && l.contains("replica=\"gone-0\"")
                && l.contains("shard=\"" + shard + "\""));
        ShardedReplicasTest.awaitSettled(List.of(a, b), 32);
    }

    /** A shard Lease as a replica of sharding protocol 1 wrote it: no protocol annotation, renewed by its holder. */
    private static Lease protocolOneShard(TestNamespace ns, String group, int shard, String holder) {
        return new LeaseBuilder().withNewMetadata().withName(new LeaseNaming(group).shardLease(shard)).withNamespace(ns.name())
                .addToLabels(LeaseNaming.LABEL_GROUP, group).addToLabels(LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_SHARD)
                .addToAnnotations(LeaseNaming.ANNOTATION_SHARDS, "32").addToAnnotations(LeaseNaming.ANNOTATION_DESIRED_OWNER,
                        LeaseNaming.identityOf(holder)).endMetadata()
                .withNewSpec().withHolderIdentity(holder).withLeaseDurationSeconds(6)
                .withRenewTime(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).truncatedTo(java.time.temporal.ChronoUnit.MICROS))
                .endSpec().build();
    }

    @SideBySide
    void aReplicaRefusesToJoinAGroupStillRunByProtocolOneAndAdoptsItsLeasesOnceNobodyRenewsThem(TestCluster cluster,
            TestNamespace ns) throws Exception {
        var leases = cluster.client().leases().inNamespace(ns.name());
        leases.resource(protocolOneShard(ns, "old", 0, "old-0_1a2b")).create();
        java.util.concurrent.atomic.AtomicBoolean renewing = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread oldReplica = Thread.ofVirtual().start(() -> { // what a protocol-1 replica does: renew its shard Lease
            while (renewing.get()) {
                try {
                    Thread.sleep(1000);
                    editByHand(leases, new LeaseNaming("old").shardLease(0), l -> {
                        l.getSpec().setRenewTime(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC)
                                .truncatedTo(java.time.temporal.ChronoUnit.MICROS));
                        return l;
                    });
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Replica newer = replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "old"));
        long begin = System.nanoTime();
        assertThatThrownBy(newer::start).isInstanceOf(ExtensionStartException.class)
                .hasCauseInstanceOf(ShardingSetupException.class)
                .hasMessageContaining("is run by replicas of sharding protocol 1 (Lease old-shard-0 renewed by old-0_1a2b)")
                .hasMessageContaining("stop every old replica first");
        System.out.printf("protocol 1 group: refused after %d ms%n", Duration.ofNanos(System.nanoTime() - begin).toMillis());
        assertThat(leases.withName(new LeaseNaming("old").memberLease("replica-0")).get())
                .as("it took no membership in the old group").isNull();
        renewing.set(false);
        oldReplica.join();

        Replica adopting = replica("replica-1", ShardedReplicasTest.config("replica-1", ns, "old"));
        begin = System.nanoTime();
        adopting.start(); // watches the stale Lease for a lease duration plus a retry period, then joins
        long joinedMs = Duration.ofNanos(System.nanoTime() - begin).toMillis();
        assertThat(joinedMs).as("it watched the old Lease for lease + retry first").isGreaterThanOrEqualTo(6000);
        await().atMost(Duration.ofSeconds(20)).until(() -> adopting.sharding.activeShards().size() == 32);
        assertThat(leases.withName(new LeaseNaming("old").shardLease(0)).get().getMetadata().getAnnotations())
                .as("the old shard Lease adopted").containsEntry(LeaseNaming.ANNOTATION_PROTOCOL, LeaseNaming.PROTOCOL);
        System.out.printf("stale protocol 1 group: joined after %d ms and holds all 32 shards%n", joinedMs);
    }

    @SideBySide
    void aReplicaRefusesToJoinAGroupStillRunByProtocolTwo(TestCluster cluster, TestNamespace ns) throws Exception {
        // Protocol 2 read a shard's range from its index: beside this protocol's ranges it would work on namespaces
        // another replica holds. Its replicas renew their membership Leases, annotated "2".
        var leases = cluster.client().leases().inNamespace(ns.name());
        String member = new LeaseNaming("two").memberLease("old-0");
        leases.resource(new LeaseBuilder().withNewMetadata().withName(member).withNamespace(ns.name())
                .addToLabels(LeaseNaming.LABEL_GROUP, "two").addToLabels(LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_MEMBER)
                .addToAnnotations(LeaseNaming.ANNOTATION_PROTOCOL, "2").endMetadata()
                .withNewSpec().withHolderIdentity("old-0_9f8e").withLeaseDurationSeconds(6)
                .withRenewTime(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).truncatedTo(java.time.temporal.ChronoUnit.MICROS))
                .endSpec().build()).create();
        java.util.concurrent.atomic.AtomicBoolean renewing = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread oldReplica = Thread.ofVirtual().start(() -> {
            while (renewing.get()) {
                try {
                    Thread.sleep(1000);
                    editByHand(leases, member, l -> {
                        l.getSpec().setRenewTime(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC)
                                .truncatedTo(java.time.temporal.ChronoUnit.MICROS));
                        return l;
                    });
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        try {
            Replica newer = replica("replica-0", ShardedReplicasTest.config("replica-0", ns, "two"));
            assertThatThrownBy(newer::start).isInstanceOf(ExtensionStartException.class)
                    .hasCauseInstanceOf(ShardingSetupException.class)
                    .hasMessageContaining("is run by replicas of sharding protocol 2 (Lease " + member + " renewed by old-0_9f8e)")
                    .hasMessageContaining("this version speaks protocol " + LeaseNaming.PROTOCOL);
            assertThat(leases.withName(new LeaseNaming("two").memberLease("replica-0")).get())
                    .as("it took no membership in the old group").isNull();
        } finally {
            renewing.set(false);
            oldReplica.join();
        }
    }
}
