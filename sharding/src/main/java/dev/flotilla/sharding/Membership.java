package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's membership Lease: taken on join (refusing an identity another live replica
 * holds), renewed with the shard Leases, recreated if someone deletes it, released on a graceful
 * leave so that the coordinator re-plans at once instead of waiting for it to expire. Confined to
 * the replica's {@link Lane}.
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
    private Lease last;
    private boolean renewing;
    /** Set by leave(): a renewal still in flight must not recreate the Lease the leave deletes. */
    private boolean left;

    Membership(ShardingConfig config, String holder, NodePorts ports) {
        this.config = config;
        this.leaseName = new LeaseNaming(config.group()).memberLease(config.identity());
        this.holder = Objects.requireNonNull(holder, "holder");
        this.clock = ports.clock();
        this.wall = ports.wall();
        this.lane = ports.lane();
        this.store = ports.store();
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
        joinStep(joined, deadline, null);
        return joined;
    }

    private void joinStep(CompletableFuture<Void> joined, long deadline, Lease seen) {
        store.get(leaseName).whenComplete((current, error) -> lane.execute(() -> {
            if (error != null) {
                joined.completeExceptionally(error);
            } else if (current.isEmpty()) {
                store.create(Leases.hold(Leases.newLease(leaseName, labels(), Map.of()), holder, leaseSeconds(), wall))
                        .whenComplete((outcome, e) -> lane.execute(() -> joinWritten(joined, deadline, seen,
                                LeaseWrite.settled(outcome, e), null)));
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
        lane.schedule(() -> joinStep(joined, deadline, lease), clock.nanoTime() + config.retryPeriod().toNanos() / 2);
    }

    private static Object renewTime(Lease lease) {
        return lease.getSpec() == null ? null : lease.getSpec().getRenewTime();
    }

    private void take(Lease lease, CompletableFuture<Void> joined, long deadline, Lease seen, String previous) {
        store.update(lease, l -> {
            l.getMetadata().setLabels(labels());
            return Leases.hold(l, holder, leaseSeconds(), wall);
        }).whenComplete((outcome, e) -> lane.execute(() -> joinWritten(joined, deadline, seen,
                LeaseWrite.settled(outcome, e), previous)));
    }

    private void joinWritten(CompletableFuture<Void> joined, long deadline, Lease seen, LeaseWrite outcome, String previous) {
        switch (outcome) {
            case LeaseWrite.Written w -> {
                last = w.lease();
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
                    log.atDebug().addKeyValue("error", error.toString()).log("membership renewal failed");
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
            return;
        }
        if (current.isEmpty()) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("lease", leaseName)
                    .log("membership lease was deleted while this replica runs; recreating it");
            store.create(Leases.hold(Leases.newLease(leaseName, labels(), Map.of()), holder, leaseSeconds(), wall))
                    .whenComplete((outcome, e) -> lane.execute(() -> renewed(LeaseWrite.settled(outcome, e), attempt, taken)));
            return;
        }
        String other = Leases.holderOf(current.get());
        if (!other.isEmpty() && !other.equals(holder)) {
            renewing = false;
            taken.accept("another replica took over the membership lease of identity '" + config.identity()
                    + "'; two replicas share one identity");
            return;
        }
        store.update(current.get(), l -> Leases.hold(l, holder, leaseSeconds(), wall))
                .whenComplete((outcome, e) -> lane.execute(() -> renewed(LeaseWrite.settled(outcome, e), attempt, taken)));
    }

    private void renewed(LeaseWrite outcome, int attempt, Consumer<String> taken) {
        switch (outcome) {
            case LeaseWrite.Written w -> {
                last = w.lease();
                renewing = false;
            }
            case LeaseWrite.Conflict c -> reread(attempt, taken);
            case LeaseWrite.Missing m -> reread(attempt, taken);
            case LeaseWrite.Failed f -> {
                last = null; // read afresh next time; the Lease may have been deleted or replaced
                renewing = false;
                log.atDebug().addKeyValue("error", f.error().toString()).log("membership renewal failed");
            }
        }
    }

    private void reread(int attempt, Consumer<String> taken) {
        store.get(leaseName).whenComplete((current, error) -> lane.execute(() -> {
            if (error != null) {
                last = null;
                renewing = false;
            } else {
                renewFrom(current, attempt + 1, taken);
            }
        }));
    }

    /**
     * Frees the Lease (the coordinator re-plans on seeing it free), then deletes it. Deleting without
     * the release would make the coordinator wait for the Lease to expire before moving our shards.
     */
    CompletableFuture<Void> leave() {
        left = true;
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
