package dev.flotilla.core.fence;

import java.util.Objects;

/**
 * A {@link WriteFence}'s answer for one write: send it (and say when it is over), or not.
 *
 * <pre>{@code
 * WriteFence fence;
 * WriteTarget target;
 * switch (fence.admit(target, () -> {})) {
 *     case Admission.Admitted a -> a.done().run(); // after the request completed
 *     case Admission.Refused r -> System.out.println("not sent: " + r.reason());
 * }
 * }</pre>
 */
public sealed interface Admission {

    /**
     * Send it. {@code done} must run exactly once when the attempt has completed (answered, failed
     * or cancelled): until then the fence counts it in flight.
     */
    record Admitted(Runnable done) implements Admission {
        public Admitted {
            Objects.requireNonNull(done, "done");
        }
    }

    /** Do not send it: {@code reason} says why in one line (which shard, whose). */
    record Refused(String reason) implements Admission {
        public Refused {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Admitted with nothing to track. */
    static Admission admitted() {
        return new Admitted(() -> { });
    }
}
