package dev.flotilla.sharding;

import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.core.reconcile.Request;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.sharding.audit.AuditTrail;
import dev.flotilla.sharding.audit.ReconcileRecord;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;

/**
 * Records every reconcile of {@code delegate} (replica, shard, namespace, start, end) in an
 * {@link AuditTrail}, whatever its outcome. Obtain one from {@code Sharding.audited(reconciler)}.
 */
final class AuditedReconciler<T extends HasMetadata> implements Reconciler<T> {

    private final Reconciler<T> delegate;
    private final AuditTrail trail;
    private final String replica;
    private final HeldRanges ranges;

    AuditedReconciler(Reconciler<T> delegate, AuditTrail trail, String replica, HeldRanges ranges) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.trail = Objects.requireNonNull(trail, "trail");
        this.replica = Objects.requireNonNull(replica, "replica");
        this.ranges = Objects.requireNonNull(ranges, "ranges");
    }

    @Override
    public Result reconcile(Request<T> request) throws Exception {
        long start = System.nanoTime();
        int shard = ranges.slotOf(request.key().namespace()); // the shard it was admitted under (-1: none)
        try {
            return delegate.reconcile(request);
        } finally {
            String ns = request.key().namespace();
            trail.reconciled(new ReconcileRecord(replica, shard, ns, request.key().name(), start,
                    System.nanoTime()));
        }
    }
}
