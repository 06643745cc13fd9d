package dev.flotilla.sharding;

/** This replica cannot join its group as configured (e.g. the group's shard Leases were made for another S). */
public final class ShardingSetupException extends RuntimeException {
    public ShardingSetupException(String message) {
        super(message);
    }

    public ShardingSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
