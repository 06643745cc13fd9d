package dev.flotilla.core.metrics;

import static dev.flotilla.core.metrics.MetricNames.*;

import dev.flotilla.core.metrics.MetricNames.ReconcileOutcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * controller-runtime's per-controller reconcile metrics. Every outcome's counter exists from the
 * start at zero, as in controller-runtime, so {@code rate()} works before the first error.
 */
public final class ControllerMetrics {

    private final Map<ReconcileOutcome, Counter> outcomes = new EnumMap<>(ReconcileOutcome.class);
    private final Counter errors;
    private final Counter terminalErrors;
    private final Counter fenced;
    private final Timer reconcileTime;
    private final AtomicInteger activeWorkers = new AtomicInteger();

    public ControllerMetrics(MeterRegistry registry, String controller, int maxConcurrentReconciles) {
        for (ReconcileOutcome outcome : ReconcileOutcome.values()) {
            outcomes.put(outcome, Counter.builder(RECONCILE_TOTAL)
                    .description("Total number of reconciliations per controller")
                    .tags(LABEL_CONTROLLER, controller, LABEL_RESULT, outcome.label())
                    .register(registry));
        }
        errors = Counter.builder(RECONCILE_ERRORS_TOTAL)
                .description("Total number of reconciliation errors per controller")
                .tag(LABEL_CONTROLLER, controller).register(registry);
        terminalErrors = Counter.builder(TERMINAL_RECONCILE_ERRORS_TOTAL)
                .description("Total number of terminal reconciliation errors per controller")
                .tag(LABEL_CONTROLLER, controller).register(registry);
        fenced = Counter.builder(RECONCILE_FENCED_TOTAL)
                .description("Reconciles ended by the write fence refusing a write, per controller")
                .tag(LABEL_CONTROLLER, controller).register(registry);
        reconcileTime = Timer.builder(RECONCILE_TIME_SECONDS)
                .description("Length of time per reconciliation per controller")
                .tag(LABEL_CONTROLLER, controller)
                .serviceLevelObjectives(reconcileTimeBuckets())
                .register(registry);
        Gauge.builder(MAX_CONCURRENT_RECONCILES, () -> maxConcurrentReconciles)
                .description("Maximum number of concurrent reconciles per controller")
                .tag(LABEL_CONTROLLER, controller).register(registry);
        Gauge.builder(ACTIVE_WORKERS, activeWorkers, AtomicInteger::get)
                .description("Number of currently used workers per controller")
                .tag(LABEL_CONTROLLER, controller).register(registry);
    }

    /** Records one finished reconcile. */
    public void reconciled(ReconcileOutcome outcome, Duration took, boolean terminal) {
        outcomes.get(outcome).increment();
        reconcileTime.record(took);
        if (outcome == ReconcileOutcome.ERROR) {
            errors.increment();
            if (terminal) {
                terminalErrors.increment();
            }
        }
    }

    /**
     * Records one reconcile that a fenced write ended: requeued (result {@code requeue}), and counted as
     * fenced rather than as an error.
     */
    public void fenced(Duration took) {
        outcomes.get(ReconcileOutcome.REQUEUE).increment();
        fenced.increment();
        reconcileTime.record(took);
    }

    public double fencedCount() {
        return fenced.count();
    }

    public void workerStarted() {
        activeWorkers.incrementAndGet();
    }

    public void workerFinished() {
        activeWorkers.decrementAndGet();
    }

    public double count(ReconcileOutcome outcome) {
        return outcomes.get(outcome).count();
    }
}
