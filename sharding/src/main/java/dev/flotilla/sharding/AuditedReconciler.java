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
    private final ShardSpace space;

    AuditedReconciler(Reconciler<T> delegate, AuditTrail trail, String replica, ShardSpace space) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.trail = Objects.requireNonNull(trail, "trail");
        this.replica = Objects.requireNonNull(replica, "replica");
        this.space = Objects.requireNonNull(space, "space");
    }

    @Override
    public Result reconcile(Request<T> request) throws Exception {
        long start = System.nanoTime();
        try {
            return delegate.reconcile(request);
        } finally {
            String ns = request.key().namespace();
            trail.reconciled(new ReconcileRecord(replica, space.shardOf(ns), ns, request.key().name(), start,
                    System.nanoTime()));
        }
    }
}
