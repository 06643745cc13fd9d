package dev.flotilla.chaos.experiment;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A Chaos Mesh {@code Workflow} as the local engine runs it: a tree of nodes from the entry
 * template. A {@link Fault} node applies its chaos for its deadline (a one-shot chaos such as
 * pod-kill at its start; the node still lasts its deadline, as Chaos Mesh finishes a chaos node only
 * when its deadline passes); {@link Suspend} waits its deadline; {@link Serial} runs its children one
 * after another and {@link Parallel} all at once, each until its children finish or its own deadline
 * passes, which ends what is still running below it.
 */
public record Workflow(String source, String name, Node entry) implements ChaosPlan {

    public Workflow {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(entry, "entry");
    }

    /** One node of the tree, named by its template. */
    public sealed interface Node permits Fault, Suspend, Serial, Parallel {
        String name();

        /** How long it can last at most. */
        Duration longest();

        /** Short description: {@code Parallel(NetworkChaos/partition 20s, Serial(Suspend 5s, PodChaos/pod-kill 5s))}. */
        String describe();
    }

    /** A chaos template: {@code experiment} in place for {@code deadline}. */
    public record Fault(String name, Duration deadline, Experiment experiment) implements Node {
        public Fault {
            Objects.requireNonNull(name, "name");
            positive(name, deadline);
            Objects.requireNonNull(experiment, "experiment");
        }

        public Duration longest() {
            return deadline;
        }

        public String describe() {
            return experiment.action().describe() + " " + text(deadline);
        }
    }

    public record Suspend(String name, Duration deadline) implements Node {
        public Suspend {
            Objects.requireNonNull(name, "name");
            positive(name, deadline);
        }

        public Duration longest() {
            return deadline;
        }

        public String describe() {
            return "Suspend " + text(deadline);
        }
    }

    public record Serial(String name, Optional<Duration> deadline, List<Node> children) implements Node {
        public Serial {
            Objects.requireNonNull(name, "name");
            deadline.ifPresent(d -> positive(name, d));
            children = List.copyOf(children);
        }

        public Duration longest() {
            Duration sum = children.stream().map(Node::longest).reduce(Duration.ZERO, Duration::plus);
            return deadline.filter(d -> d.compareTo(sum) < 0).orElse(sum);
        }

        public String describe() {
            return "Serial(" + String.join(", ", children.stream().map(Node::describe).toList()) + ")";
        }
    }

    public record Parallel(String name, Optional<Duration> deadline, List<Node> children) implements Node {
        public Parallel {
            Objects.requireNonNull(name, "name");
            deadline.ifPresent(d -> positive(name, d));
            children = List.copyOf(children);
        }

        public Duration longest() {
            Duration max = children.stream().map(Node::longest).max(Duration::compareTo).orElse(Duration.ZERO);
            return deadline.filter(d -> d.compareTo(max) < 0).orElse(max);
        }

        public String describe() {
            return "Parallel(" + String.join(", ", children.stream().map(Node::describe).toList()) + ")";
        }
    }

    @Override
    public String kind() {
        return "Workflow";
    }

    @Override
    public String describe() {
        return "Workflow(" + entry.describe() + ")";
    }

    @Override
    public List<Experiment> faults() {
        List<Experiment> out = new ArrayList<>();
        collect(entry, out);
        return List.copyOf(out);
    }

    private static void collect(Node n, List<Experiment> out) {
        switch (n) {
            case Fault f -> out.add(f.experiment());
            case Suspend s -> { }
            case Serial s -> s.children().forEach(c -> collect(c, out));
            case Parallel p -> p.children().forEach(c -> collect(c, out));
        }
    }

    private static void positive(String name, Duration d) {
        Objects.requireNonNull(d, "deadline");
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("template " + name + ": deadline must be positive, got " + d);
        }
    }

    private static String text(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }
}
