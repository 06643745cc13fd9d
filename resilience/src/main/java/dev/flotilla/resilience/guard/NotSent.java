package dev.flotilla.resilience.guard;

import dev.flotilla.core.fence.WriteTarget;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * Why the guard did not send a request. The adapter of the HTTP client turns it into the exception its
 * callers expect ({@link Transport#notSent}); {@link #message()} is that exception's message.
 *
 * <pre>{@code
 * NotSent why = new NotSent.BreakerOpen("api:6443", Duration.ofSeconds(4), "OPEN");
 * why.message(); // "API server api:6443 is unavailable: circuit breaker OPEN, request not sent; next probe in 4s"
 * }</pre>
 */
public sealed interface NotSent {

    /** The API server as {@code host:port}. */
    String apiServer();

    /** One line for an exception: what was refused and why. */
    String message();

    /**
     * The circuit breaker of the API server is open (or its half-open probes are all in flight).
     *
     * @param retryAfter   how long until the breaker lets the next probe through; never negative
     * @param breakerState the breaker's state, for the message
     */
    record BreakerOpen(String apiServer, Duration retryAfter, String breakerState) implements NotSent {
        public BreakerOpen {
            Objects.requireNonNull(apiServer, "apiServer");
            Objects.requireNonNull(retryAfter, "retryAfter");
            Objects.requireNonNull(breakerState, "breakerState");
            if (retryAfter.isNegative()) {
                throw new IllegalArgumentException("retryAfter must not be negative, got " + retryAfter);
            }
        }

        @Override
        public String message() {
            return "API server " + apiServer + " is unavailable: circuit breaker " + breakerState
                    + ", request not sent; next probe in " + GuardConfig.format(retryAfter.truncatedTo(ChronoUnit.MILLIS));
        }
    }

    /**
     * The write fence refused the write: this replica does not (or no longer safely) hold what it writes to.
     * With {@code inFlight}, the write had been sent when its shard was fenced: the guard stopped waiting for
     * the answer, and the server may still apply it (the lease's safety margin is what keeps that window short).
     *
     * @param target   what the write would have changed
     * @param reason   the fence's reason
     * @param inFlight whether the write had already been sent
     */
    record Fenced(String apiServer, WriteTarget target, String reason, boolean inFlight) implements NotSent {
        public Fenced {
            Objects.requireNonNull(apiServer, "apiServer");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(reason, "reason");
        }

        /** Refused before it was sent. */
        public Fenced(String apiServer, WriteTarget target, String reason) {
            this(apiServer, target, reason, false);
        }

        @Override
        public String message() {
            return (inFlight ? "write fenced in flight, its answer abandoned: " : "write fenced, request not sent: ")
                    + target + ": " + reason;
        }
    }

    /**
     * No client-side permit within {@code maxWait}: the client is issuing more requests than its budget allows.
     *
     * @param budget {@code requests} or {@code leases}
     */
    record Throttled(String apiServer, String budget, Duration maxWait) implements NotSent {
        public Throttled {
            Objects.requireNonNull(apiServer, "apiServer");
            Objects.requireNonNull(budget, "budget");
            Objects.requireNonNull(maxWait, "maxWait");
        }

        @Override
        public String message() {
            return "client-side rate limit for " + apiServer + " (" + budget + " budget): no permit within "
                    + GuardConfig.format(maxWait) + ", request not sent";
        }
    }
}
