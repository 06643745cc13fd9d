package dev.flotilla.tuning.policy;

import dev.flotilla.tuning.api.TuningMode;
import dev.flotilla.tuning.api.WorkloadKind;
import dev.flotilla.tuning.recommend.ResourceBounds;
import dev.flotilla.tuning.recommend.TuningRules;
import dev.flotilla.tuning.signals.SignalMetric;
import io.fabric8.kubernetes.api.model.LabelSelector;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** A policy spec, checked: either everything the controller needs, typed, or the first thing wrong with it. */
public sealed interface PolicyCheck {

    /**
     * @param bounds       per container name; {@link #boundsFor} falls back to "*"
     * @param takeOverFrom field managers whose container resources Apply may take over ("*": any)
     * @param signalMetrics the policy's metric names, overriding the replica's
     */
    record Valid(TuningMode mode, TuningRules rules, Map<String, ResourceBounds> bounds, List<WorkloadKind> kinds,
            LabelSelector selector, List<String> takeOverFrom, Map<SignalMetric, String> signalMetrics) implements PolicyCheck {
        public Valid {
            signalMetrics = Map.copyOf(signalMetrics);
            takeOverFrom = List.copyOf(takeOverFrom);
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(rules, "rules");
            bounds = Map.copyOf(bounds);
            kinds = List.copyOf(kinds);
            Objects.requireNonNull(selector, "selector");
        }

        /** Whether Apply may take fields from {@code manager}. */
        public boolean mayTakeOverFrom(String manager) {
            return takeOverFrom.contains("*") || takeOverFrom.contains(manager);
        }

        /** The bounds of container {@code name}: its own entry, else the "*" entry; empty when neither exists. */
        public Optional<ResourceBounds> boundsFor(String name) {
            return Optional.ofNullable(bounds.getOrDefault(name, bounds.get("*")));
        }
    }

    /** @param message names the field and what is wrong with it, for the Invalid condition */
    record Invalid(String message) implements PolicyCheck {
        public Invalid {
            Objects.requireNonNull(message, "message");
        }
    }
}
