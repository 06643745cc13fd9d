package dev.flotilla.sharding;

/** This replica cannot join its group as configured (e.g. the group is run by replicas of another sharding protocol). */
public final class ShardingSetupException extends RuntimeException {
    public ShardingSetupException(String message) {
        super(message);
    }

    public ShardingSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
