package dev.flotilla.core.reconcile;

import java.time.Duration;
import java.util.Objects;

/**
 * What one reconcile asks the controller to do next. A closed set:
 *
 * <ul>
 *   <li>{@link Done}: the object is in its desired state; its backoff is reset.</li>
 *   <li>{@link RequeueAfter}: look again after a fixed delay (polling an external system); the
 *       backoff is reset.</li>
 *   <li>{@link Requeue}: look again soon, with the queue's rate limiting but without an error.</li>
 *   <li>{@link Failed}: an error; retried with per-key exponential backoff, unless the cause is a
 *       {@link TerminalException}, which is reported and not retried.</li>
 * </ul>
 *
 * A reconciler may also throw: a thrown exception is treated exactly like {@link Failed}.
 *
 * <pre>{@code
 * boolean ready; // e.g. the Deployment this reconcile waits for is available
 * Result result = ready ? Result.done() : Result.requeueAfter(Duration.ofSeconds(30));
 * }</pre>
 */
public sealed interface Result permits Result.Done, Result.RequeueAfter, Result.Requeue, Result.Failed {

    record Done() implements Result {
    }

    record RequeueAfter(Duration delay) implements Result {
        public RequeueAfter {
            Objects.requireNonNull(delay, "delay");
            if (delay.isNegative()) {
                throw new IllegalArgumentException("requeue delay must not be negative, got " + delay);
            }
        }
    }

    record Requeue() implements Result {
    }

    record Failed(Throwable cause) implements Result {
        public Failed {
            Objects.requireNonNull(cause, "cause");
        }

        public boolean isTerminal() {
            return cause instanceof TerminalException;
        }
    }

    static Result done() {
        return new Done();
    }

    static Result requeueAfter(Duration delay) {
        return new RequeueAfter(delay);
    }

    static Result requeue() {
        return new Requeue();
    }

    static Result failed(Throwable cause) {
        return new Failed(cause);
    }
}
