package dev.flotilla.sharding;

import java.util.Optional;

/**
 * The one place that says how a group's Leases are named, labelled and annotated, for the
 * replicas that write them and for {@code flotilla shards} that reads them.
 *
 * <pre>{@code
 * LeaseNaming naming = new LeaseNaming("flotilla");
 * naming.shardLease(7);           // "flotilla-shard-7"
 * naming.memberLease("replica-0"); // "flotilla-member-replica-0"
 * }</pre>
 */
public record LeaseNaming(String group) {

    public static final String LABEL_GROUP = "flotilla.dev/sharding-group";
    public static final String LABEL_ROLE = "flotilla.dev/lease-role";
    public static final String LABEL_SHARD = "flotilla.dev/shard";
    /** On a shard Lease: the member the coordinator wants to hold it. */
    public static final String ANNOTATION_DESIRED_OWNER = "flotilla.dev/desired-owner";
    /** On a shard Lease: S, so replicas configured with another shard count refuse to join. */
    public static final String ANNOTATION_SHARDS = "flotilla.dev/shards";

    public static final String ROLE_SHARD = "shard";
    public static final String ROLE_MEMBER = "member";
    public static final String ROLE_COORDINATOR = "coordinator";

    /** Separates the identity from the incarnation in a holderIdentity, as client-go's hostname_uuid. */
    private static final char INCARNATION_SEPARATOR = '_';

    public String shardLease(int shard) {
        return group + "-shard-" + shard;
    }

    public String memberLease(String identity) {
        return group + "-member-" + identity;
    }

    public String coordinatorLease() {
        return group + "-coordinator";
    }

    public Optional<Integer> shardOf(String leaseName) {
        String prefix = group + "-shard-";
        if (!leaseName.startsWith(prefix)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Integer.parseInt(leaseName.substring(prefix.length())));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    public Optional<String> memberOf(String leaseName) {
        String prefix = group + "-member-";
        return leaseName.startsWith(prefix) && leaseName.length() > prefix.length()
                ? Optional.of(leaseName.substring(prefix.length())) : Optional.empty();
    }

    /** The holderIdentity a replica writes: its identity plus a per-process incarnation. */
    public static String holder(String identity, String incarnation) {
        return identity + INCARNATION_SEPARATOR + incarnation;
    }

    /** The identity part of a holderIdentity; a hand-written holder without an incarnation is taken whole. */
    public static String identityOf(String holder) {
        int at = holder.lastIndexOf(INCARNATION_SEPARATOR);
        return at < 0 ? holder : holder.substring(0, at);
    }
}
