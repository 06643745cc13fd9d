package dev.flotilla.chaos.experiment;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One chaos experiment as the local engine understands it, read from a Chaos Mesh document by
 * {@link ChaosDocuments}.
 *
 * @param source   where it was read from (a file name), for messages
 * @param kind     the document's kind ({@code PodChaos}, ..., {@code ClusterChaos})
 * @param name     {@code metadata.name}
 * @param selector which pods; empty for a {@code ClusterChaos}
 * @param mode     how many of the selected pods
 * @param action   what is done to them
 * @param duration how long a lasting action lasts; empty for a one-shot action
 */
public record Experiment(String source, String kind, String name, Optional<Selector> selector, Mode mode, Action action,
        Optional<Duration> duration) implements ChaosPlan {

    public Experiment {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(duration, "duration");
        if (action.lasting() && duration.isEmpty()) {
            throw new IllegalArgumentException(action.describe() + " needs spec.duration");
        }
        duration.ifPresent(d -> {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("spec.duration must be positive, got " + d);
            }
        });
    }

    /** How long the fault is in place: its duration, or zero for a one-shot action. */
    public Duration faultDuration() {
        return action.lasting() ? duration.orElseThrow() : Duration.ZERO;
    }

    @Override
    public String describe() {
        return action.describe();
    }

    @Override
    public List<Experiment> faults() {
        return List.of(this);
    }

    @Override
    public String toString() {
        return name + " (" + action.describe() + ")";
    }
}
