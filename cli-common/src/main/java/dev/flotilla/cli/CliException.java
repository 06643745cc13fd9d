package dev.flotilla.cli;

import java.util.Objects;

/**
 * A failure the CLI reports as one line on stderr ({@code flotilla: <message>}) and the given exit
 * code. The message must name the problem concretely (which file, which URL, which permission);
 * the cause is printed only with {@code --debug}.
 */
public final class CliException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final ExitCode exitCode;

    public CliException(ExitCode exitCode, String message) {
        this(exitCode, message, null);
    }

    public CliException(ExitCode exitCode, String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), cause);
        this.exitCode = Objects.requireNonNull(exitCode, "exitCode");
    }

    public ExitCode exitCode() {
        return exitCode;
    }
}
