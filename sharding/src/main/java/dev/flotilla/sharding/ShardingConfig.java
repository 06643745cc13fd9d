package dev.flotilla.sharding;

import dev.flotilla.core.settings.Durations;
import java.time.Duration;
import java.util.Objects;
import dev.flotilla.core.names.DnsNames;

/**
 * How one replica takes part in sharding. Validated on construction, so a replica with an
 * impossible configuration never joins.
 *
 * <pre>{@code
 * ShardingConfig config = ShardingConfig.defaults("flotilla-7d9f-abcde", "flotilla-system")
 *         .withShards(64)
 *         .withTimings(Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1));
 * }</pre>
 *
 * @param identity      this replica's name, unique among live replicas (the pod name)
 * @param leaseNamespace where the membership, shard and coordinator Leases live
 * @param group         prefix of the Lease names, so several controller deployments can share a namespace
 * @param shards        S, the number of virtual shards (1..{@value ShardSpace#MAX_SHARDS})
 * @param leaseDuration how long others wait after the last renewal they saw before taking a Lease over
 * @param renewDeadline how long a replica keeps working on a shard without a successful renewal;
 *                      at least {@link #MIN_LEASE_MARGIN} shorter than the lease duration, so it
 *                      stops before anyone else may start
 * @param retryPeriod   how often Leases are renewed and retried
 * @param drainTimeout  how long a shard being handed over waits for its in-flight reconciles
 */
public record ShardingConfig(String identity, String leaseNamespace, String group, int shards, Duration leaseDuration,
        Duration renewDeadline, Duration retryPeriod, Duration drainTimeout) {

    public static final String DEFAULT_GROUP = "flotilla";
    /** controller-runtime's leader-election defaults. */
    public static final Duration DEFAULT_LEASE_DURATION = Duration.ofSeconds(15);
    public static final Duration DEFAULT_RENEW_DEADLINE = Duration.ofSeconds(10);
    public static final Duration DEFAULT_RETRY_PERIOD = Duration.ofSeconds(2);
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(1);

    /**
     * The least lease duration minus renew deadline. Writes stop at the renew deadline (with the
     * write fence's own margin before it); whatever was sent just before has this long to reach the
     * API server before another replica may take the shard. controller-runtime's 15 s / 10 s leave 5 s.
     */
    public static final Duration MIN_LEASE_MARGIN = Duration.ofSeconds(2);

    public ShardingConfig {
        identity = checkName("identity", identity, 200);
        leaseNamespace = checkName("lease namespace", leaseNamespace, 63);
        group = checkName("group", group, 40);
        new ShardSpace(shards); // S = 0 or S > 4096 fail here, with the allowed range in the message
        Objects.requireNonNull(leaseDuration, "leaseDuration");
        Objects.requireNonNull(renewDeadline, "renewDeadline");
        Objects.requireNonNull(retryPeriod, "retryPeriod");
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        if (retryPeriod.isNegative() || retryPeriod.isZero()) {
            throw new IllegalArgumentException("retry period must be positive, got " + retryPeriod);
        }
        if (renewDeadline.compareTo(retryPeriod) <= 0) {
            throw new IllegalArgumentException("renew deadline (" + Durations.format(renewDeadline)
                    + ") must be longer than the retry period (" + Durations.format(retryPeriod) + "), or one failed renewal fences");
        }
        if (leaseDuration.minus(renewDeadline).compareTo(MIN_LEASE_MARGIN) < 0) {
            throw new IllegalArgumentException("lease duration (" + Durations.format(leaseDuration)
                    + ") must be longer than the renew deadline (" + Durations.format(renewDeadline) + ") by at least "
                    + Durations.format(MIN_LEASE_MARGIN) + ": a replica stops writing at its renew deadline, and a write "
                    + "sent just before must land before the lease can expire for anyone else");
        }
        if (leaseDuration.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException("lease duration must be whole seconds (Lease.spec.leaseDurationSeconds), got "
                    + Durations.format(leaseDuration));
        }
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drain timeout must not be negative, got " + drainTimeout);
        }
    }

    private static String checkName(String what, String value, int max) {
        Objects.requireNonNull(value, what);
        if (!DnsNames.isLabel(value, max)) {
            throw new IllegalArgumentException(what + " '" + value + "' must be lower-case letters, digits and '-', "
                    + "start and end with a letter or digit, and be at most " + max + " characters");
        }
        return value;
    }

    /** Defaults for everything but who this replica is and where its Leases live. */
    public static ShardingConfig defaults(String identity, String leaseNamespace) {
        return new ShardingConfig(identity, leaseNamespace, DEFAULT_GROUP, ShardSpace.DEFAULT_SHARDS,
                DEFAULT_LEASE_DURATION, DEFAULT_RENEW_DEADLINE, DEFAULT_RETRY_PERIOD, DEFAULT_DRAIN_TIMEOUT);
    }

    public ShardingConfig withShards(int newShards) {
        return new ShardingConfig(identity, leaseNamespace, group, newShards, leaseDuration, renewDeadline, retryPeriod,
                drainTimeout);
    }

    public ShardingConfig withGroup(String newGroup) {
        return new ShardingConfig(identity, leaseNamespace, newGroup, shards, leaseDuration, renewDeadline, retryPeriod,
                drainTimeout);
    }

    public ShardingConfig withTimings(Duration newLeaseDuration, Duration newRenewDeadline, Duration newRetryPeriod) {
        return new ShardingConfig(identity, leaseNamespace, group, shards, newLeaseDuration, newRenewDeadline,
                newRetryPeriod, drainTimeout);
    }

    public ShardingConfig withDrainTimeout(Duration newDrainTimeout) {
        return new ShardingConfig(identity, leaseNamespace, group, shards, leaseDuration, renewDeadline, retryPeriod,
                newDrainTimeout);
    }

    public ShardSpace space() {
        return new ShardSpace(shards);
    }
}
