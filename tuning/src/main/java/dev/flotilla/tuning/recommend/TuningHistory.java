package dev.flotilla.tuning.recommend;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/** When each resource of a container was last changed by the tuner (kept in the policy's status). */
public record TuningHistory(Optional<Instant> lastCpuChange, Optional<Instant> lastMemoryChange) {
    public TuningHistory {
        Objects.requireNonNull(lastCpuChange, "lastCpuChange");
        Objects.requireNonNull(lastMemoryChange, "lastMemoryChange");
    }

    public static TuningHistory none() {
        return new TuningHistory(Optional.empty(), Optional.empty());
    }
}
