package dev.flotilla.core.reconcile;

/**
 * An error that retrying cannot fix (an invalid spec, say). The controller reports it (log,
 * {@code controller_runtime_terminal_reconcile_errors_total}) and does not retry the key until the
 * object changes again.
 *
 * <pre>{@code
 * int replicas; // from the object's spec
 * if (replicas < 0) {
 *     throw new TerminalException("spec.replicas must not be negative"); // retrying cannot fix the spec
 * }
 * }</pre>
 */
public class TerminalException extends Exception {

    private static final long serialVersionUID = 1L;

    public TerminalException(String message) {
        super(message);
    }

    public TerminalException(String message, Throwable cause) {
        super(message, cause);
    }
}
