package dev.flotilla.chaos.engine;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What one experiment did and what the invariants found.
 *
 * @param experiment        {@code metadata.name}
 * @param action            e.g. {@code PodChaos/pod-kill}
 * @param build             the replicas' build: {@code flotilla} or a named weakening
 * @param targets           the pods it acted on
 * @param faultStart        when the fault was applied
 * @param faultEnd          when it ended (a one-shot: when its replacement or restart was under way)
 * @param convergence       from the fault's end until every object held its desired state; null if never
 * @param convergenceLimit  T: the fault-free convergence time + lease duration + 5 s
 * @param singleWriterViolations writes accepted from one replica while another held their shard
 * @param peakRequestsPer10s the highest non-Lease request count of one replica in a 10 s window at the server
 * @param requestBudget     that window's budget
 * @param unownedSeconds    the most seconds any one range had no live owner after the fault ended
 * @param updates           updates the load generator made
 * @param violations        one line per violated invariant; empty when all hold
 * @param notes             what else happened (crashed containers restarted, OOM kills)
 * @param timeline          the experiment over time, for the HTML report's charts
 */
public record ExperimentResult(String experiment, String action, String build, List<String> targets, Instant faultStart,
        Instant faultEnd, Duration convergence, Duration convergenceLimit, int singleWriterViolations,
        int peakRequestsPer10s, double requestBudget, double unownedSeconds, double allOwnedAfterFaultSeconds, long updates,
        List<String> violations, List<String> notes, Timeline timeline) {

    public ExperimentResult {
        Objects.requireNonNull(timeline, "timeline");
        Objects.requireNonNull(experiment, "experiment");
        targets = List.copyOf(targets);
        violations = List.copyOf(violations);
        notes = List.copyOf(notes);
    }

    public boolean holds() {
        return violations.isEmpty();
    }
}
