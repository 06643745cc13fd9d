package dev.flotilla.tuning.signals;

/** Prometheus could not answer (unreachable, timed out, or an error status): no action may be based on missing signals. */
public final class SignalsUnavailableException extends Exception {
    public SignalsUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public SignalsUnavailableException(String message) {
        super(message);
    }
}
