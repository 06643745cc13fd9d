package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edits every Lease holder makes: take or renew, release. Timestamps written come from the
 * wall clock but are only ever compared for equality (a changed renewTime is a renewal); expiry is
 * judged by each reader on its own monotonic clock ({@link LeaseView}).
 */
final class Leases {

    private static final Logger log = LoggerFactory.getLogger(Leases.class);
    /** Writes a release may take when renewals keep racing it (409). */
    static final int RELEASE_ATTEMPTS = 4;

    private Leases() {
    }

    /** A new Lease of this protocol ({@link LeaseNaming#ANNOTATION_PROTOCOL} added to {@code annotations}). */
    static Lease newLease(String name, Map<String, String> labels, Map<String, String> annotations) {
        Map<String, String> all = new java.util.HashMap<>(annotations);
        all.put(LeaseNaming.ANNOTATION_PROTOCOL, LeaseNaming.PROTOCOL);
        return new LeaseBuilder().withNewMetadata().withName(name).withLabels(labels).withAnnotations(all)
                .endMetadata().withNewSpec().endSpec().build();
    }

    /** Sets (or with {@code value} null removes) one annotation of {@code lease}, and marks it as this protocol's. */
    static Lease annotate(Lease lease, String key, String value) {
        Map<String, String> annotations = new java.util.HashMap<>();
        if (lease.getMetadata().getAnnotations() != null) {
            annotations.putAll(lease.getMetadata().getAnnotations());
        }
        if (value == null) {
            annotations.remove(key);
        } else {
            annotations.put(key, value);
        }
        annotations.put(LeaseNaming.ANNOTATION_PROTOCOL, LeaseNaming.PROTOCOL);
        lease.getMetadata().setAnnotations(annotations);
        return lease;
    }

    /** Takes or renews {@code lease} for {@code holder}, marking it as written by this protocol. */
    static Lease hold(Lease lease, String holder, int durationSeconds, Clock wall) {
        ensureSpec(lease);
        Map<String, String> annotations = lease.getMetadata().getAnnotations();
        if (annotations == null || !LeaseNaming.PROTOCOL.equals(annotations.get(LeaseNaming.ANNOTATION_PROTOCOL))) {
            annotate(lease, LeaseNaming.ANNOTATION_PROTOCOL, LeaseNaming.PROTOCOL);
        }
        // The API server keeps microseconds (MicroTime): a finer stamp would not survive the round trip.
        ZonedDateTime now = ZonedDateTime.now(wall).truncatedTo(ChronoUnit.MICROS);
        LeaseSpec spec = lease.getSpec();
        if (now.equals(spec.getRenewTime())) {
            now = now.plus(1, ChronoUnit.MICROS); // a renewal must change the Lease, or readers would not see it
        }
        boolean newHolder = !holder.equals(spec.getHolderIdentity());
        spec.setHolderIdentity(holder);
        spec.setLeaseDurationSeconds(durationSeconds);
        spec.setRenewTime(now);
        if (newHolder) {
            spec.setAcquireTime(now);
            spec.setLeaseTransitions((spec.getLeaseTransitions() == null ? 0 : spec.getLeaseTransitions()) + 1);
        }
        return lease;
    }

    /** Frees {@code lease} so the next holder may take it at once. */
    static Lease release(Lease lease) {
        ensureSpec(lease);
        lease.getSpec().setHolderIdentity(null);
        lease.getSpec().setAcquireTime(null);
        lease.getSpec().setRenewTime(null);
        return lease;
    }

    /** A hand-written Lease may have no spec at all. */
    private static void ensureSpec(Lease lease) {
        if (lease.getSpec() == null) {
            lease.setSpec(new LeaseSpec());
        }
    }

    /** The holderIdentity, "" when free. */
    static String holderOf(Lease lease) {
        return lease.getSpec() == null || lease.getSpec().getHolderIdentity() == null ? "" : lease.getSpec().getHolderIdentity();
    }

    /** How {@link #releaseHeld} ended. */
    enum Released { FREED, NOT_HELD, FAILED }

    /**
     * Frees {@code base} if it still names {@code holder}. Renewals may race the release (409): the
     * Lease is then read again and the release retried, up to {@code attempts} writes in all.
     * Touches no state of its caller, so it may complete on any thread.
     */
    static CompletableFuture<Released> releaseHeld(LeaseStore store, String name, Lease base, String holder, int attempts) {
        if (base == null || !holder.equals(holderOf(base))) {
            return CompletableFuture.completedFuture(Released.NOT_HELD);
        }
        if (attempts <= 0) {
            return CompletableFuture.completedFuture(Released.FAILED);
        }
        return store.update(base, Leases::release).handle(LeaseWrite::settled).thenCompose(outcome -> switch (outcome) {
            case LeaseWrite.Written w -> CompletableFuture.completedFuture(Released.FREED);
            case LeaseWrite.Missing m -> CompletableFuture.completedFuture(Released.NOT_HELD);
            // A conflict (a write raced ours) or a failure (which may or may not have been applied): read it again
            // and retry while it still names us. A read that fails too ends the attempt; the Lease then expires.
            case LeaseWrite.Conflict c -> retryRelease(store, name, holder, attempts);
            case LeaseWrite.Failed f -> {
                if (attempts > 1) {
                    yield retryRelease(store, name, holder, attempts);
                }
                log.atWarn().addKeyValue("lease", name).addKeyValue("error", FailureText.of(f.error()))
                        .log("could not release a lease; it expires on its own");
                yield CompletableFuture.completedFuture(Released.FAILED);
            }
        });
    }

    private static CompletableFuture<Released> retryRelease(LeaseStore store, String name, String holder, int attempts) {
        return store.get(name).handle((fresh, error) -> error != null ? null : fresh)
                .thenCompose(fresh -> fresh == null ? CompletableFuture.completedFuture(Released.FAILED)
                        : fresh.isEmpty() ? CompletableFuture.completedFuture(Released.NOT_HELD)
                        : releaseHeld(store, name, fresh.get(), holder, attempts - 1));
    }

    static String resourceVersion(Lease lease) {
        return lease.getMetadata() == null ? null : lease.getMetadata().getResourceVersion();
    }
}
