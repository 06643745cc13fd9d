package dev.flotilla.core.manager;

/** The informers did not finish their first LIST in time; the message names which ones. */
public final class CacheSyncException extends Exception {

    private static final long serialVersionUID = 1L;

    public CacheSyncException(String message, Throwable cause) {
        super(message, cause);
    }
}
