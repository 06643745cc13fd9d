package dev.flotilla.sharding;

/** Another live replica already uses this replica's identity; two replicas with one name would each believe they own its shards. */
public final class DuplicateIdentityException extends RuntimeException {
    public DuplicateIdentityException(String message) {
        super(message);
    }
}
