package dev.flotilla.sharding;

import dev.flotilla.core.logging.RepeatingFailures;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@link LeaseNaming#LABEL_POD_ROLE}{@code =coordinator} on this replica's own Pod while its {@link Coordinator}
 * leads, and off it otherwise, so that chaos experiments and operators can select the coordinator's Pod. The label
 * only reports: nothing in sharding reads it, and a write that fails changes nothing about leadership or shards. It is
 * logged once when the failures start, with a reminder a minute while they last ({@link RepeatingFailures}), and
 * retried at the next change of leadership or every {@link #RETRY} (one patch; nothing is sent while the Pod shows what
 * it should). A replica that stops leading while it cannot reach the API server (a partition) keeps a stale label
 * until a retry gets through; a replica killed while leading keeps it until its Pod is replaced or its next incarnation
 * in the same Pod starts, which removes it first. So two Pods can carry it for a while; the coordinator Lease is the
 * truth. Confined to the replica's {@link Lane}.
 */
@OnPorts
final class CoordinatorLabel {

    private static final Logger log = LoggerFactory.getLogger(CoordinatorLabel.class);
    /** How long after a failed write the next one is sent when leadership has not changed meanwhile. */
    static final Duration RETRY = Duration.ofSeconds(10);

    private final Optional<CoordinatorLabelWriter> writer;
    private final Lane lane;
    private final MonotonicClock clock;
    private final RepeatingFailures failures;
    private boolean wanted;
    /** What the Pod carries as this replica last wrote it; empty before the first write and after a failed one. */
    private Optional<Boolean> shown = Optional.empty();
    private boolean writing;
    private boolean failing;
    private long failedAtNanos;
    /** {@link #removed()}'s callers, told once the removal is written or has failed. */
    private final List<CompletableFuture<Void>> awaitingRemoval = new ArrayList<>();

    CoordinatorLabel(Optional<CoordinatorLabelWriter> writer, Lane lane, MonotonicClock clock) {
        this.writer = writer;
        this.lane = lane;
        this.clock = clock;
        this.failures = new RepeatingFailures(log, RepeatingFailures.DEFAULT_REMINDER, clock::nanoTime);
    }

    /** No Pod: nothing to label (the simulation, a replica outside Kubernetes). */
    static CoordinatorLabel none(Lane lane, MonotonicClock clock) {
        return new CoordinatorLabel(Optional.empty(), lane, clock);
    }

    /** This replica leads ({@code true}) or does not; writes the label now unless a write is out (then right after it). */
    void leading(boolean leading) {
        wanted = leading;
        write();
    }

    /** Every retry period: reminders, and the retry of a failed write once {@link #RETRY} has passed. */
    void tick() {
        failures.sweep();
        if (failing && clock.nanoTime() - failedAtNanos >= RETRY.toNanos()) {
            write();
        }
    }

    /**
     * Completes once the label is removed, or the removal failed (it is not waited on further: the replica is
     * leaving, and the label stays stale until the Pod is replaced); call after {@code leading(false)}.
     */
    CompletableFuture<Void> removed() {
        if (writer.isEmpty() || wanted || shown.equals(Optional.of(false))) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        awaitingRemoval.add(done);
        write(); // a failed removal is tried once more now rather than after RETRY
        return done;
    }

    private void write() {
        if (writer.isEmpty() || writing || shown.equals(Optional.of(wanted))) {
            return;
        }
        writing = true;
        boolean target = wanted;
        writer.get().write(target).whenComplete((ok, error) -> lane.execute(() -> written(target, error)));
    }

    private void written(boolean target, Throwable error) {
        writing = false;
        if (error == null) {
            shown = Optional.of(target);
            failing = false;
            write(); // leadership may have changed while the write was out
        } else {
            shown = Optional.empty(); // a patch that timed out may still have landed
            failing = true;
            failedAtNanos = clock.nanoTime();
            String pod = writer.orElseThrow().pod();
            failures.failed("the coordinator label " + LeaseNaming.LABEL_POD_ROLE + " on pod " + pod
                            + " (only the label: leadership and shards are not affected)",
                    error instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : error,
                    pod, () -> failing ? RepeatingFailures.SourceState.FAILING : RepeatingFailures.SourceState.RECOVERED);
        }
        if (!writing && !wanted && !awaitingRemoval.isEmpty()) {
            awaitingRemoval.forEach(f -> f.complete(null));
            awaitingRemoval.clear();
        }
    }
}
