package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's membership Lease: taken on join (refusing an identity another live replica
 * holds), renewed every retry period, recreated if someone deletes it, marked "leaving" at the
 * start of a graceful leave (the coordinator then plans without it) and freed at its end. It is
 * the fence of every shard this replica holds (protocol 2): the shard Leases are written only on
 * handover, and each successful renewal, reported to {@code renewed} with its send time, extends
 * the shards' renew deadline. Confined to the replica's {@link Lane}.
 */
@OnPorts
final class Membership {

    private static final Logger log = LoggerFactory.getLogger(Membership.class);

    private final ShardingConfig config;
    private final String leaseName;
    private final String holder;
    private final MonotonicClock clock;
    private final Clock wall;
    private final Lane lane;
    private final LeaseStore store;
    private final java.util.function.LongConsumer renewed;
    /** Told once per renewal period whose renewal did not succeed (for the metric). */
    private final Runnable renewalFailed;
    private final RestartEvidence evidence;
    private final LeaseView view;
    /** Where this incarnation runs ({@link RestartEvidence#self}), recorded on the Lease at join. */
    private Map<String, String> record = Map.of();
    private Lease last;
    private boolean renewing;
    /** Renewals that failed since the last success: the first is logged, and the success that ends the streak. */
    private int failedRenewals;
    /** Set by markLeaving(): every write from then on carries the leaving annotation. */
    private boolean leaving;
    /** Completed by the first renewal that carried the leaving annotation (or failed to). */
    private CompletableFuture<Void> leavingWritten = new CompletableFuture<>();
    /** Set by leave(): a renewal still in flight must not recreate the Lease the leave deletes. */
    private boolean left;
    /** What the next renewal reports as {@link LeaseNaming#ANNOTATION_OBJECTS} and {@link LeaseNaming#ANNOTATION_OBJECTS_OF}. */
    private String objects = "";
    private String objectsOf = "";

    /** @param renewed told the send time (monotonic) of every successful write of the Lease: the join, each renewal */
    Membership(ShardingConfig config, String holder, NodePorts ports, java.util.function.LongConsumer renewed) {
        this(config, holder, ports, renewed, RestartEvidence.none());
    }

    /** @param evidence what this replica can prove about its previous incarnation (a restarted container) */
    Membership(ShardingConfig config, String holder, NodePorts ports, java.util.function.LongConsumer renewed,
            RestartEvidence evidence) {
        this(config, holder, ports, renewed, evidence, () -> {
        });
    }

    /** @param renewalFailed told once per renewal period whose renewal did not succeed */
    Membership(ShardingConfig config, String holder, NodePorts ports, java.util.function.LongConsumer renewed,
            RestartEvidence evidence, Runnable renewalFailed) {
        this.renewalFailed = Objects.requireNonNull(renewalFailed, "renewalFailed");
        this.renewed = Objects.requireNonNull(renewed, "renewed");
        this.evidence = Objects.requireNonNull(evidence, "evidence");
        this.view = ports.view();
        this.config = config;
        this.leaseName = new LeaseNaming(config.group()).memberLease(config.identity());
        this.holder = Objects.requireNonNull(holder, "holder");
        this.clock = ports.clock();
        this.wall = ports.wall();
        this.lane = ports.lane();
        this.store = ports.store();
        // Two retry periods: a renewal every period, and as long again for its event to arrive.
        view.followOwnWrites(leaseName, config.retryPeriod().multipliedBy(2));
    }

    String leaseName() {
        return leaseName;
    }

    /**
     * Takes the membership Lease. If another incarnation holds it, watches it for one lease
     * duration: a renewal in that time means a live duplicate and the join fails with
     * {@link DuplicateIdentityException}; silence means a dead predecessor (a restarted pod) and
     * its Lease is taken over. Call on the lane.
     */
    CompletableFuture<Void> join() {
        CompletableFuture<Void> joined = new CompletableFuture<>();
        long deadline = clock.nanoTime() + config.leaseDuration().plus(config.retryPeriod()).toNanos();
        evidence.self().whenComplete((self, error) -> lane.execute(() -> {
            record = self == null ? Map.of() : self;
            joinStep(joined, deadline, null);
        }));
        return joined;
    }

    /** The Lease's annotations with this incarnation's record (and none of a predecessor's). */
    private Lease recorded(Lease l) {
        for (String key : new String[] {LeaseNaming.ANNOTATION_POD_UID, LeaseNaming.ANNOTATION_CONTAINER_ID,
                LeaseNaming.ANNOTATION_RESTART_COUNT}) {
            Leases.annotate(l, key, record.get(key));
        }
        return l;
    }

    private void joinStep(CompletableFuture<Void> joined, long deadline, Lease seen) {
        store.get(leaseName).whenComplete((current, error) -> lane.execute(() -> {
            if (error != null) {
                joined.completeExceptionally(error);
            } else if (current.isEmpty()) {
                long sent = clock.nanoTime();
                store.create(Leases.hold(Leases.newLease(leaseName, labels(), record), holder, leaseSeconds(), wall))
                        .whenComplete((outcome, e) -> lane.execute(() -> joinWritten(joined, deadline, seen,
                                LeaseWrite.settled(outcome, e), null, sent)));
            } else {
                joinSeen(joined, deadline, seen, current.get());
            }
        }));
    }

    private void joinSeen(CompletableFuture<Void> joined, long deadline, Lease seen, Lease lease) {
        String other = Leases.holderOf(lease);
        if (other.isEmpty() || other.equals(holder)) {
            take(lease, joined, deadline, seen, null);
            return;
        }
        if (seen != null && !Objects.equals(renewTime(seen), renewTime(lease))) {
            joined.completeExceptionally(new DuplicateIdentityException("another live replica holds identity '"
                    + config.identity() + "' (Lease " + config.leaseNamespace() + "/" + leaseName + ", holder " + other
                    + ", renewed while this replica waited); refusing to start. Give every replica a unique identity "
                    + "(the pod name)."));
            return;
        }
        if (seen == null) {
            log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("holder", other)
                    .log("membership lease held by an earlier incarnation; waiting one lease duration to see if it is alive");
        }
        if (clock.nanoTime() >= deadline) {
            take(lease, joined, deadline, lease, other);
            return;
        }
        Map<String, String> theirs = lease.getMetadata().getAnnotations() == null ? Map.of() : lease.getMetadata().getAnnotations();
        evidence.predecessorGone(theirs).whenComplete((proof, error) -> lane.execute(() -> {
            if (proof != null && proof.isPresent()) {
                // Its container ended: nothing of it runs any more, so its membership, shards and leadership are ours now.
                log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("previous", other)
                        .addKeyValue("proof", proof.get()).log("previous incarnation is gone; taking its place at once");
                view.markGone(other);
                take(lease, joined, deadline, lease, other);
                return;
            }
            lane.schedule(() -> joinStep(joined, deadline, lease), clock.nanoTime() + config.retryPeriod().toNanos() / 2);
        }));
    }

    private static Object renewTime(Lease lease) {
        return lease.getSpec() == null ? null : lease.getSpec().getRenewTime();
    }

    private void take(Lease lease, CompletableFuture<Void> joined, long deadline, Lease seen, String previous) {
        long sent = clock.nanoTime();
        store.update(lease, l -> {
            l.getMetadata().setLabels(labels());
            Leases.annotate(l, LeaseNaming.ANNOTATION_LEAVING, null);
            recorded(l);
            return Leases.hold(l, holder, leaseSeconds(), wall);
        }).whenComplete((outcome, e) -> lane.execute(() -> joinWritten(joined, deadline, seen,
                LeaseWrite.settled(outcome, e), previous, sent)));
    }

    private void joinWritten(CompletableFuture<Void> joined, long deadline, Lease seen, LeaseWrite outcome, String previous,
            long sent) {
        switch (outcome) {
            case LeaseWrite.Written w -> {
                last = w.lease();
                view.ownWriteAnswered(Leases.resourceVersion(w.lease()), sent);
                renewed.accept(sent);
                if (previous != null) {
                    log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("previous", previous)
                            .log("took over the membership lease of a dead incarnation");
                }
                joined.complete(null);
            }
            case LeaseWrite.Conflict c -> joinStep(joined, deadline, seen); // someone wrote in between: look again
            case LeaseWrite.Missing m -> joinStep(joined, deadline, seen);
            case LeaseWrite.Failed f -> joined.completeExceptionally(f.error());
        }
    }

    /**
     * The objects this replica works on, per namespace hash ({@link NamespaceWeights#text}): carried by
     * every renewal from now on, so reporting them costs no write of its own. On the lane.
     */
    void report(String objectsText, String rangesText) {
        objects = Objects.requireNonNull(objectsText, "objectsText");
        objectsOf = Objects.requireNonNull(rangesText, "rangesText");
    }

    /**
     * Renews the Lease once (call on the lane every retry period). If another incarnation now holds
     * it, {@code taken} is told why: two replicas share one identity.
     */
    void renew(Consumer<String> taken) {
        if (renewing || left) {
            return;
        }
        renewing = true;
        if (last == null) {
            store.get(leaseName).whenComplete((current, error) -> lane.execute(() -> {
                if (error != null) {
                    renewing = false;
                    renewalFailed.run();
                    log.atDebug().addKeyValue("error", FailureText.of(error)).log("membership renewal failed");
                } else {
                    renewFrom(current, 0, taken);
                }
            }));
        } else {
            renewFrom(Optional.of(last), 0, taken);
        }
    }

    private void renewFrom(Optional<Lease> current, int attempt, Consumer<String> taken) {
        if (left) {
            renewing = false;
            return;
        }
        if (attempt > 1) {
            renewing = false; // conflict twice, or a lost create race: try again next period
            renewalFailed.run();
            if (failedRenewals++ == 0) {
                log.atWarn().addKeyValue("replica", config.identity())
                        .log("membership renewal lost two races (409); shards stop at the renew deadline unless one succeeds");
            }
            return;
        }
        if (current.isEmpty()) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("lease", leaseName)
                    .log("membership lease was deleted while this replica runs; recreating it");
            long sent = clock.nanoTime();
            Map<String, String> annotations = new java.util.HashMap<>(record);
            if (leaving) {
                annotations.put(LeaseNaming.ANNOTATION_LEAVING, "true");
            }
            if (!objects.isEmpty()) {
                annotations.put(LeaseNaming.ANNOTATION_OBJECTS, objects);
            }
            if (!objectsOf.isEmpty()) {
                annotations.put(LeaseNaming.ANNOTATION_OBJECTS_OF, objectsOf);
            }
            Lease fresh = Leases.newLease(leaseName, labels(), annotations);
            store.create(Leases.hold(fresh, holder, leaseSeconds(), wall))
                    .whenComplete((outcome, e) -> lane.execute(() -> renewed(LeaseWrite.settled(outcome, e), attempt, taken, sent)));
            return;
        }
        String other = Leases.holderOf(current.get());
        if (!other.isEmpty() && !other.equals(holder)) {
            renewing = false;
            taken.accept("another replica took over the membership lease of identity '" + config.identity()
                    + "'; two replicas share one identity");
            return;
        }
        long sent = clock.nanoTime();
        boolean marked = leaving;
        String counts = objects;
        String countedIn = objectsOf;
        store.update(current.get(), l -> {
            if (marked) {
                Leases.annotate(l, LeaseNaming.ANNOTATION_LEAVING, "true");
            }
            Leases.annotate(l, LeaseNaming.ANNOTATION_OBJECTS, counts.isEmpty() ? null : counts);
            Leases.annotate(l, LeaseNaming.ANNOTATION_OBJECTS_OF, countedIn.isEmpty() ? null : countedIn);
            return Leases.hold(l, holder, leaseSeconds(), wall);
        }).whenComplete((outcome, e) -> lane.execute(() -> renewed(LeaseWrite.settled(outcome, e), attempt, taken, sent)));
    }

    private void renewed(LeaseWrite outcome, int attempt, Consumer<String> taken, long sent) {
        switch (outcome) {
            case LeaseWrite.Written w -> {
                last = w.lease();
                renewing = false;
                view.ownWriteAnswered(Leases.resourceVersion(w.lease()), sent);
                renewed.accept(sent);
                if (failedRenewals > 0) {
                    log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("failed", failedRenewals)
                            .log("membership renewals succeed again");
                    failedRenewals = 0;
                }
                if (leaving && "true".equals(w.lease().getMetadata().getAnnotations() == null ? null
                        : w.lease().getMetadata().getAnnotations().get(LeaseNaming.ANNOTATION_LEAVING))) {
                    leavingWritten.complete(null);
                }
            }
            case LeaseWrite.Conflict c -> reread(attempt, taken);
            case LeaseWrite.Missing m -> reread(attempt, taken);
            case LeaseWrite.Failed f -> {
                last = null; // read afresh next time; the Lease may have been deleted or replaced
                renewing = false;
                renewalFailed.run();
                if (failedRenewals++ == 0) {
                    // It fences every shard held: the first failure of a streak is worth a line, the end of it another.
                    log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", FailureText.of(f.error()))
                            .addKeyValue("millis", Duration.ofNanos(clock.nanoTime() - sent).toMillis())
                            .log("membership renewal failed; shards stop at the renew deadline unless one succeeds");
                }
                if (leaving) {
                    leavingWritten.complete(null); // the leave goes on; the coordinator learns when the Lease is freed
                }
            }
        }
        if (!renewing && leaving && !leavingWritten.isDone()) {
            leavingWritten.complete(null); // gave up for this period (conflicts); see above
        }
    }

    private void reread(int attempt, Consumer<String> taken) {
        store.get(leaseName).whenComplete((current, error) -> lane.execute(() -> {
            if (error != null) {
                last = null;
                renewing = false;
                if (leaving) {
                    leavingWritten.complete(null);
                }
            } else {
                renewFrom(current, attempt + 1, taken);
            }
        }));
    }

    /**
     * Marks the Lease "leaving" with a renewal at once, so that the coordinator plans without this
     * replica while it still holds (and fences) its shards; completes when that write was answered.
     * Renewals go on until {@link #leave}. Call on the lane.
     */
    CompletableFuture<Void> markLeaving() {
        leaving = true;
        if (!renewing) {
            renew(why -> log.atError().addKeyValue("replica", config.identity()).addKeyValue("reason", why)
                    .log("membership lease taken while leaving"));
        }
        return leavingWritten;
    }

    /**
     * Stops renewing. With {@code free} (every shard was released) frees the Lease, then deletes it;
     * without it (a shard could not be released: its Lease still names this replica) the Lease is
     * left to expire, since the others judge that shard's holder by this Lease.
     */
    CompletableFuture<Void> leave(boolean free) {
        left = true;
        if (!free) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("lease", leaseName)
                    .log("leaving the membership lease to expire: a shard lease still names this replica");
            return CompletableFuture.completedFuture(null);
        }
        return store.get(leaseName).handle((current, error) -> error != null ? null : current.orElse(null))
                .thenCompose(current -> Leases.releaseHeld(store, leaseName, current, holder, Leases.RELEASE_ATTEMPTS))
                .thenCompose(released -> released == Leases.Released.FREED
                        ? store.delete(leaseName).thenApply(d -> (Void) null) : CompletableFuture.<Void>completedFuture(null))
                .exceptionally(e -> null);
    }

    private Map<String, String> labels() {
        return Map.of(LeaseNaming.LABEL_GROUP, config.group(), LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_MEMBER);
    }

    private int leaseSeconds() {
        return (int) config.leaseDuration().toSeconds();
    }
}
