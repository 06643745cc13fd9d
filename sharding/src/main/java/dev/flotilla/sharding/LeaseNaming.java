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
    /**
     * On a replica's own Pod: {@link #ROLE_COORDINATOR} while that replica coordinates (set and removed by
     * {@code CoordinatorLabel}, when it runs with restart proof), so that chaos experiments and operators can select
     * the coordinator's Pod. Absent on every other Pod; briefly on two (see the architecture doc).
     */
    public static final String LABEL_POD_ROLE = "flotilla.dev/role";
    /** On a shard Lease: the member the coordinator wants to hold it. */
    public static final String ANNOTATION_DESIRED_OWNER = "flotilla.dev/desired-owner";
    /** On a shard Lease: S, the coordinator's shard count when it last published (the equal-width layout a Lease without a range has). */
    public static final String ANNOTATION_SHARDS = "flotilla.dev/shards";
    /**
     * On a shard Lease: the namespace hashes it covers, {@link HashRange#text()}. Written by the
     * coordinator only while nobody holds the Lease; a holder works on the range the Lease had when
     * it took it. Absent: the equal-width range of {@link #ANNOTATION_SHARDS}.
     */
    public static final String ANNOTATION_RANGE = "flotilla.dev/range";
    /**
     * On the coordinator Lease: the layout it is moving the group to, comma-separated {@link HashRange#text()} in slot order. Written
     * before any shard Lease gets a range of it, so that the next coordinator finishes the same move.
     */
    public static final String ANNOTATION_LAYOUT = "flotilla.dev/layout";
    /**
     * On the coordinator Lease: "true" while its layout is in place ({@code Sharding#layoutSettled}),
     * "false" while ranges or owners are moving; carried by its renewals.
     */
    public static final String ANNOTATION_LAYOUT_SETTLED = "flotilla.dev/layout-settled";
    /**
     * On a membership Lease: objects per namespace hash in the shards its holder works on
     * ({@link NamespaceWeights#text}), what the coordinator weighs ranges by.
     */
    public static final String ANNOTATION_OBJECTS = "flotilla.dev/objects";
    /**
     * On a membership Lease: the ranges {@link #ANNOTATION_OBJECTS} counted (comma-separated
     * {@link HashRange#text()}), so that a namespace of a shard taken since is not read as empty.
     */
    public static final String ANNOTATION_OBJECTS_OF = "flotilla.dev/objects-of";

    /**
     * On every Lease a replica writes: the sharding protocol it speaks. Protocol 1 (no annotation)
     * renewed every shard Lease; protocol 2 renews only membership Leases, which fence the shards
     * their holders took; protocol 3 gives each shard Lease its own hash range
     * ({@link #ANNOTATION_RANGE}), where protocol 2 read a shard's range from its index. No two
     * protocols share a group (see {@code ShardingNode}'s join).
     */
    public static final String ANNOTATION_PROTOCOL = "flotilla.dev/protocol";
    public static final String PROTOCOL = "3";
    /** On a membership Lease: the member is leaving; the coordinator plans without it while it hands its shards over. */
    public static final String ANNOTATION_LEAVING = "flotilla.dev/leaving";

    /** On a membership Lease: the UID of the Pod its holder runs in (restart proof, {@code PodRestartEvidence}). */
    public static final String ANNOTATION_POD_UID = "flotilla.dev/pod-uid";
    /** On a membership Lease: the ID of the container its holder runs in. */
    public static final String ANNOTATION_CONTAINER_ID = "flotilla.dev/container-id";
    /** On a membership Lease: that container's restart count when its holder joined. */
    public static final String ANNOTATION_RESTART_COUNT = "flotilla.dev/restart-count";

    public static final String ROLE_SHARD = "shard";
    public static final String ROLE_MEMBER = "member";
    public static final String ROLE_COORDINATOR = "coordinator";

    private static final String SHARD_INFIX = "-shard-";
    private static final String MEMBER_INFIX = "-member-";

    /** Separates the identity from the incarnation in a holderIdentity, as client-go's hostname_uuid. */
    private static final char INCARNATION_SEPARATOR = '_';

    public String shardLease(int shard) {
        return group + SHARD_INFIX + shard;
    }

    /** The names of shards 0 .. {@code shards - 1}'s Leases, in order (made once by those who look them all up often). */
    public String[] shardLeases(int shards) {
        String[] names = new String[shards];
        for (int i = 0; i < shards; i++) {
            names[i] = shardLease(i);
        }
        return names;
    }

    public String memberLease(String identity) {
        return group + MEMBER_INFIX + identity;
    }

    public String coordinatorLease() {
        return group + "-coordinator";
    }

    public Optional<Integer> shardOf(String leaseName) {
        int rest = afterPrefix(leaseName, SHARD_INFIX);
        if (rest < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(Integer.parseInt(leaseName, rest, leaseName.length(), 10));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    public Optional<String> memberOf(String leaseName) {
        int rest = afterPrefix(leaseName, MEMBER_INFIX);
        return rest < 0 || rest == leaseName.length() ? Optional.empty() : Optional.of(leaseName.substring(rest));
    }

    /** Where the part after {@code group + kind} starts in {@code leaseName}, or -1; asked on every decision pass, so no concatenation. */
    private int afterPrefix(String leaseName, String kind) {
        return leaseName.startsWith(group) && leaseName.startsWith(kind, group.length()) ? group.length() + kind.length() : -1;
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
