package dev.flotilla.core.settings;

import java.util.List;

/**
 * A settings file that cannot be used as written: each problem names the file and the key, e.g.
 * {@code config flotilla.properties: resilience.qps=abc: not a number}. The message is the
 * problems joined on one line, fit for a command's one-line error.
 */
public final class InvalidSettingsException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public InvalidSettingsException(List<String> problems) {
        super(String.join("; ", requireSome(problems)));
        this.problems = List.copyOf(problems);
    }

    public InvalidSettingsException(String problem) {
        this(List.of(problem));
    }

    /** Every problem, each naming its file and key. */
    public List<String> problems() {
        return problems;
    }

    private static List<String> requireSome(List<String> problems) {
        if (problems == null || problems.isEmpty()) {
            throw new IllegalArgumentException("an invalid-settings error needs at least one problem");
        }
        return problems;
    }
}
