package dev.flotilla.tuning.signals;

/**
 * Prometheus could not answer (unreachable, timed out, an error status), was not asked (its circuit breaker is open,
 * the rate limit would wait too long) or answered more than the size bound: no action may be based on missing
 * signals. The message says which query, what happened and, for an open breaker, when the next attempt goes.
 */
public final class SignalsUnavailableException extends Exception {
    public SignalsUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public SignalsUnavailableException(String message) {
        super(message);
    }
}
