package dev.flotilla.core.manager;

import java.util.Objects;

/**
 * An {@link Extension} refused to start (for sharding: a duplicate identity or a group run by
 * another sharding protocol). The manager has already abandoned its extensions and stopped; the cause
 * is the extension's own exception.
 */
public final class ExtensionStartException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String extension;

    public ExtensionStartException(String extension, Throwable cause) {
        super(Objects.requireNonNull(cause, "cause").getMessage(), cause);
        this.extension = Objects.requireNonNull(extension, "extension");
    }

    /** The name of the extension that failed. */
    public String extension() {
        return extension;
    }
}
