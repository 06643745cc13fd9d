package dev.flotilla.tuning.guard;

import dev.flotilla.tuning.recommend.ContainerResources;
import java.util.List;
import java.util.Objects;

/** What the guardrails allow of a recommendation: all of it, part of it (with why), or nothing (with which guardrail). */
public sealed interface Decision {

    /** Apply {@code target}; {@code adjustments} says what was cut back and by which guardrail (empty: nothing). */
    record Allow(ContainerResources target, List<String> adjustments) implements Decision {
        public Allow {
            Objects.requireNonNull(target, "target");
            adjustments = List.copyOf(adjustments);
        }
    }

    /** Change nothing. */
    record Refuse(Guardrail guardrail, String message) implements Decision {
        public Refuse {
            Objects.requireNonNull(guardrail, "guardrail");
            Objects.requireNonNull(message, "message");
        }
    }

    /** The guardrails, each a hard limit the tuner never crosses in any mode. */
    enum Guardrail {
        KILL_SWITCH, NO_CHANGE, QOS_CLASS, POLICY_BOUNDS, STEP, COOL_DOWN, NODE_CAPACITY, LIMIT_RANGE, RESOURCE_QUOTA
    }
}
