package dev.flotilla.chaos.engine;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What an experiment looked like over time, for the charts of the HTML report: objects converged (sampled by the
 * engine), requests per replica per second (counted from the API server's audit log, Leases apart) and the owners of
 * each range (as {@code RangeOwnershipCheck} judged them from the same log).
 *
 * @param from      the start of the judged span (the load started)
 * @param to        its end
 * @param converged samples in time order
 * @param requests  replica user -> non-Lease requests the server received in each whole second from {@code from}
 * @param owners    per shard, consecutive spans of its live owners over the whole span
 * @param faults    each fault applied (one, or a Schedule's firings, or a Workflow's chaos nodes), by start
 */
public record Timeline(Instant from, Instant to, List<Converged> converged, Map<String, List<Integer>> requests,
        List<OwnerSpan> owners, List<FaultWindow> faults) {

    public Timeline {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        if (to.isBefore(from)) {
            throw new IllegalArgumentException("a timeline ends (" + to + ") before it starts (" + from + ")");
        }
        converged = List.copyOf(converged);
        Map<String, List<Integer>> copy = new LinkedHashMap<>();
        requests.forEach((user, counts) -> copy.put(user, List.copyOf(counts)));
        requests = java.util.Collections.unmodifiableMap(copy);
        owners = List.copyOf(owners);
        faults = List.copyOf(faults);
    }

    /**
     * One fault in place from {@code from} to {@code to} (a one-shot: until its replacement was under way).
     *
     * @param step    which part of the document: the experiment's name, a Schedule's {@code name #k}, a Workflow's
     *                template path
     * @param action  e.g. {@code PodChaos/pod-kill}
     * @param targets the pods it acted on
     */
    public record FaultWindow(String step, String action, Instant from, Instant to, List<String> targets) {
        public FaultWindow {
            Objects.requireNonNull(step, "step");
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(to, "to");
            targets = List.copyOf(targets);
            if (to.isBefore(from)) {
                throw new IllegalArgumentException("fault " + step + " ends before it starts");
            }
        }
    }

    /** {@code converged} of {@code total} objects held their desired state at {@code at}. */
    public record Converged(Instant at, int converged, int total) {
        public Converged {
            Objects.requireNonNull(at, "at");
            if (converged < 0 || converged > total) {
                throw new IllegalArgumentException("converged " + converged + " of " + total);
            }
        }
    }

    /**
     * Shard {@code shard} had {@code owners} live owners from {@code from} to {@code to}: none (unowned), one, or more
     * (two replicas on one range).
     */
    public record OwnerSpan(int shard, Instant from, Instant to, List<String> owners) {
        public OwnerSpan {
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(to, "to");
            owners = List.copyOf(owners);
        }
    }
}
