package dev.flotilla.cli;

/**
 * Every exit status of {@code flotilla}, in one place. Scripts and the README rely on these numbers;
 * never reuse one for another meaning.
 *
 * <table>
 *   <caption>exit codes</caption>
 *   <tr><th>code</th><th>name</th><th>meaning</th></tr>
 *   <tr><td>0</td><td>OK</td><td>success (run: stopped cleanly; demo: everything converged)</td></tr>
 *   <tr><td>1</td><td>FAILURE</td><td>a runtime failure, the demo did not converge in time, or {@code chaos verify} found an
 *       invariant violated</td></tr>
 *   <tr><td>2</td><td>USAGE</td><td>invalid command line: unknown command or option, a value of the wrong type
 *       or out of range (for example {@code --workers 0})</td></tr>
 *   <tr><td>3</td><td>CONFIG</td><td>configuration from outside the command line is unusable: kubeconfig missing or
 *       malformed, unknown context, credentials rejected, TLS setup wrong, health port taken, an audit log
 *       {@code chaos verify} cannot read or judge</td></tr>
 *   <tr><td>4</td><td>UNREACHABLE</td><td>the API server cannot be reached or does not answer /version</td></tr>
 *   <tr><td>5</td><td>FORBIDDEN</td><td>a permission (RBAC) the built-in controller needs is missing</td></tr>
 *   <tr><td>6</td><td>SHARDING</td><td>this replica cannot join or stay in its sharding group: another live
 *       replica uses the same identity, replicas of another sharding protocol run the group, or,
 *       while running, another replica took over this replica's identity</td></tr>
 * </table>
 *
 * <p>{@code flotilla run} has no normal end: on SIGTERM or SIGINT it drains in-flight reconciles
 * within {@code --shutdown-timeout} and the JVM then exits with 128 + the signal number (143, 130),
 * as every JVM does; that status is not one of these codes.
 */
public enum ExitCode {
    OK(0),
    FAILURE(1),
    USAGE(2),
    CONFIG(3),
    UNREACHABLE(4),
    FORBIDDEN(5),
    SHARDING(6);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    /** The process exit status. */
    public int code() {
        return code;
    }
}
