package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's membership Lease: taken on join (refusing an identity another live replica
 * holds), renewed with the shard Leases, recreated if someone deletes it, released on a graceful
 * leave so that the coordinator re-plans at once instead of waiting for it to expire.
 */
final class Membership {

    private static final Logger log = LoggerFactory.getLogger(Membership.class);

    private final ShardingConfig config;
    private final Leases leases;
    private final String leaseName;
    private final String holder;
    private volatile Lease last;

    Membership(ShardingConfig config, Leases leases, String holder) {
        this.config = config;
        this.leases = leases;
        this.leaseName = new LeaseNaming(config.group()).memberLease(config.identity());
        this.holder = Objects.requireNonNull(holder, "holder");
    }

    String leaseName() {
        return leaseName;
    }

    /**
     * Takes the membership Lease. If another incarnation holds it and renewed it recently, watches
     * it for one lease duration: a renewal in that time means a live duplicate and the join is
     * refused; silence means a dead predecessor (a restarted pod) and its Lease is taken over.
     */
    void join() throws InterruptedException {
        long deadline = System.nanoTime() + config.leaseDuration().plus(config.retryPeriod()).toNanos();
        Lease seen = null;
        while (true) {
            Optional<Lease> current = leases.get(leaseName);
            if (current.isEmpty()) {
                Optional<Lease> created = leases.create(Leases.hold(Leases.newLease(leaseName, labels(), Map.of()), holder,
                        durationSeconds()));
                if (created.isPresent()) {
                    last = created.get();
                    return;
                }
                continue; // created concurrently: look again
            }
            Lease lease = current.get();
            String other = Leases.holderOf(lease);
            if (other.isEmpty() || other.equals(holder)) {
                if (take(lease)) {
                    return;
                }
                continue;
            }
            if (seen != null && !Objects.equals(seen.getSpec().getRenewTime(), lease.getSpec().getRenewTime())) {
                throw new DuplicateIdentityException("another live replica holds identity '" + config.identity()
                        + "' (Lease " + config.leaseNamespace() + "/" + leaseName + ", holder " + other
                        + ", renewed while this replica waited); refusing to start. Give every replica a unique identity "
                        + "(the pod name).");
            }
            if (seen == null) {
                log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("holder", other)
                        .log("membership lease held by an earlier incarnation; waiting one lease duration to see if it is alive");
            }
            seen = lease;
            if (System.nanoTime() >= deadline) {
                if (take(lease)) {
                    log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("previous", other)
                            .log("took over the membership lease of a dead incarnation");
                    return;
                }
                continue;
            }
            Thread.sleep(config.retryPeriod().toMillis() / 2);
        }
    }

    private boolean take(Lease lease) {
        Optional<Lease> taken = leases.update(lease, l -> {
            l.getMetadata().setLabels(labels());
            return Leases.hold(l, holder, durationSeconds());
        });
        taken.ifPresent(l -> last = l);
        return taken.isPresent();
    }

    /** The outcome of one renewal. */
    enum Renewal { RENEWED, FAILED, TAKEN_BY_ANOTHER }

    Renewal renew() {
        try {
            Lease base = last;
            Optional<Lease> current = base == null ? leases.get(leaseName) : Optional.of(base);
            for (int attempt = 0; attempt < 2; attempt++) {
                if (current.isEmpty()) {
                    log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("lease", leaseName)
                            .log("membership lease was deleted while this replica runs; recreating it");
                    Optional<Lease> created = leases.create(Leases.hold(Leases.newLease(leaseName, labels(), Map.of()),
                            holder, durationSeconds()));
                    if (created.isPresent()) {
                        last = created.get();
                        return Renewal.RENEWED;
                    }
                } else {
                    String other = Leases.holderOf(current.get());
                    if (!other.isEmpty() && !other.equals(holder)) {
                        return Renewal.TAKEN_BY_ANOTHER;
                    }
                    Optional<Lease> renewed = leases.update(current.get(), l -> Leases.hold(l, holder, durationSeconds()));
                    if (renewed.isPresent()) {
                        last = renewed.get();
                        return Renewal.RENEWED;
                    }
                }
                current = leases.get(leaseName); // conflict or lost create race: read again, once
            }
            return Renewal.FAILED;
        } catch (RuntimeException e) {
            last = null; // read afresh next time; the Lease may have been deleted or replaced
            log.atDebug().addKeyValue("error", e.toString()).log("membership renewal failed");
            return Renewal.FAILED;
        }
    }

    /** Frees the Lease (the coordinator re-plans on seeing it free), then deletes it. */
    void leave() {
        try {
            for (int attempt = 0; attempt < 3; attempt++) {
                Optional<Lease> current = leases.get(leaseName);
                if (current.isEmpty() || !holder.equals(Leases.holderOf(current.get()))) {
                    return;
                }
                // A renewal in flight can win the race (409): read again. Deleting without a release would make
                // the coordinator wait for the Lease to expire before moving our shards.
                if (leases.update(current.get(), Leases::release).isPresent()) {
                    leases.delete(leaseName);
                    return;
                }
            }
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", e.toString())
                    .log("could not release the membership lease; it expires on its own");
        }
    }

    private Map<String, String> labels() {
        return Map.of(LeaseNaming.LABEL_GROUP, config.group(), LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_MEMBER);
    }

    private int durationSeconds() {
        return (int) config.leaseDuration().toSeconds();
    }

}
