package dev.flotilla.sharding.audit;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/** An {@link AuditTrail} in memory, shared by the replicas of one JVM in tests and the demo. */
public final class InMemoryAuditTrail implements AuditTrail {

    private final ConcurrentLinkedQueue<ReconcileRecord> reconciles = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<LeaseTransition> transitions = new ConcurrentLinkedQueue<>();

    @Override
    public void reconciled(ReconcileRecord record) {
        reconciles.add(record);
    }

    @Override
    public void transition(LeaseTransition transition) {
        transitions.add(transition);
    }

    @Override
    public List<ReconcileRecord> reconciles() {
        return List.copyOf(reconciles);
    }

    @Override
    public List<LeaseTransition> transitions() {
        return List.copyOf(transitions);
    }
}
