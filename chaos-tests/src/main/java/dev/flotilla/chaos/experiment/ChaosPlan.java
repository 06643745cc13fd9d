package dev.flotilla.chaos.experiment;

import java.util.List;

/**
 * What one chaos document asks the engine to do: one fault ({@link Experiment}), a fault or a
 * workflow fired at an interval ({@link Schedule}), or faults and waits in series and in parallel
 * ({@link Workflow}).
 *
 * <pre>{@code
 * ChaosPlan plan = ChaosDocuments.readPlan(Path.of("deploy/chaos/schedule-pod-kill-coordinator.yaml"));
 * if (plan instanceof Schedule s) {
 *     System.out.println(s.firings() + " firings, every " + s.every());
 * }
 * }</pre>
 */
public sealed interface ChaosPlan permits Experiment, Schedule, Workflow {

    /** Where it was read from (a file name), for messages. */
    String source();

    /** The document's kind. */
    String kind();

    /** {@code metadata.name}. */
    String name();

    /** Short description for reports: {@code PodChaos/pod-kill}, {@code Schedule(@every 30s x3: PodChaos/pod-kill)}. */
    String describe();

    /** Every single fault it can apply, in document order: what is checked before anything starts. */
    List<Experiment> faults();
}
