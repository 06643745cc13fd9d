package dev.flotilla.sharding;

import dev.flotilla.core.metrics.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The sharding metrics, named once here. {@code flotilla_shard_owner{shard,member}} is 1 on the
 * replica that works on a shard and absent elsewhere, so {@code sum by (shard)
 * (flotilla_shard_owner) != 1} is the "exactly one owner" alert.
 */
public final class ShardMetrics {

    public static final String SHARDS_OWNED = "flotilla_shards_owned";
    /** The group's number of shards, as this replica is configured: {@code sum(SHARDS_OWNED) < max(SHARDS)} is a shard without owner. */
    public static final String SHARDS = "flotilla_shards";
    public static final String SHARD_OWNER = "flotilla_shard_owner";
    public static final String SHARD_HANDOVER_SECONDS = "flotilla_shard_handover_seconds";
    public static final String SHARD_MOVES_TOTAL = "flotilla_shard_moves_total";
    public static final String MEMBERS = "flotilla_members";
    public static final String INFORMER_MODE = "flotilla_shard_informer_mode";
    public static final String SHARD_FENCES_TOTAL = "flotilla_shard_fences_total";
    public static final String SHARD_LAYOUT_CHANGES_TOTAL = "flotilla_shard_layout_changes_total";
    public static final String SHARD_LAYOUT_SETTLED = "flotilla_shard_layout_settled";
    /**
     * Writes of a Lease this replica holds or takes that failed outright (timeout, 5xx, forbidden; a
     * 409 answered by a fresh read is no failure), by {@link #LABEL_LEASE}: {@code member} (each
     * renewal period whose membership renewal did not succeed: it fences every shard held),
     * {@code coordinator} (the coordinator's renewals), {@code shard} (takes of a shard Lease: protocol 2
     * renews no shard Lease, the membership Lease fences them).
     */
    public static final String LEASE_RENEWAL_FAILURES_TOTAL = "flotilla_lease_renewal_failures_total";

    public static final String LABEL_SHARD = "shard";
    public static final String LABEL_MEMBER = "member";
    public static final String LABEL_RESOURCE = "resource";
    public static final String LABEL_MODE = "mode";
    public static final String LABEL_LEASE = "lease";

    /** Values of {@link #LABEL_LEASE}. */
    public enum LeaseKind {
        MEMBER("member"), SHARD("shard"), COORDINATOR("coordinator");

        private final String label;

        LeaseKind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private final MeterRegistry registry;
    private final String member;
    private final AtomicInteger owned = new AtomicInteger();
    private final AtomicInteger shards = new AtomicInteger();
    private final AtomicInteger members = new AtomicInteger();
    private final AtomicInteger leading = new AtomicInteger();
    private final AtomicInteger layoutSettled = new AtomicInteger();
    private final Map<Integer, Gauge> ownerGauges = new ConcurrentHashMap<>();
    private final Timer handover;
    private final Counter moves;
    private final Counter fences;
    private final Counter layoutChanges;
    private final Map<LeaseKind, Counter> renewalFailures = new java.util.EnumMap<>(LeaseKind.class);

    public ShardMetrics(MeterRegistry registry, String member, String coordinatorLease) {
        this.registry = registry;
        this.member = member;
        Gauge.builder(SHARDS_OWNED, owned, AtomicInteger::get).description("Shards this replica works on")
                .register(registry);
        Gauge.builder(SHARDS, shards, AtomicInteger::get).description("Shards in this replica's group").register(registry);
        Gauge.builder(MEMBERS, members, AtomicInteger::get).description("Live members as this replica sees them")
                .register(registry);
        Gauge.builder(MetricNames.LEADER_ELECTION_MASTER_STATUS, leading, AtomicInteger::get)
                .description("1 if this replica is the leader of the named lock").tag(MetricNames.LABEL_NAME, coordinatorLease)
                .register(registry);
        Gauge.builder(SHARD_LAYOUT_SETTLED, layoutSettled, AtomicInteger::get)
                .description("1 on the coordinator while every shard is held by its planned owner and no range move is pending")
                .register(registry);
        handover = Timer.builder(SHARD_HANDOVER_SECONDS)
                .description("From a shard becoming free (released or expired) to its new owner working on it")
                .serviceLevelObjectives(Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
                        Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10),
                        Duration.ofSeconds(30))
                .register(registry);
        layoutChanges = Counter.builder(SHARD_LAYOUT_CHANGES_TOTAL)
                .description("New layouts of shard ranges the coordinator planned (objects per member out of balance)")
                .register(registry);
        moves = Counter.builder(SHARD_MOVES_TOTAL).description("Shards the coordinator moved from one member to another")
                .register(registry);
        fences = Counter.builder(SHARD_FENCES_TOTAL)
                .description("Shards this replica stopped working on because it could not prove it still held them")
                .register(registry);
        for (LeaseKind kind : LeaseKind.values()) {
            // At zero from the start, so that increase() sees the first failure.
            renewalFailures.put(kind, Counter.builder(LEASE_RENEWAL_FAILURES_TOTAL)
                    .description("Lease writes that keep or take a Lease for this replica and failed (an answered conflict is retried, not counted; two in a row on a membership renewal are)")
                    .tag(LABEL_LEASE, kind.label()).register(registry));
        }
    }

    void shards(int count) {
        shards.set(count);
    }

    void renewalFailed(LeaseKind kind) {
        renewalFailures.get(kind).increment();
    }

    void owned(int shard, boolean owns) {
        if (owns) {
            ownerGauges.computeIfAbsent(shard, s -> Gauge.builder(SHARD_OWNER, () -> 1)
                    .description("1 for the member working on the shard").tag(LABEL_SHARD, String.valueOf(s))
                    .tag(LABEL_MEMBER, member).register(registry));
        } else {
            Gauge g = ownerGauges.remove(shard);
            if (g != null) {
                registry.remove(g);
            }
        }
        owned.set(ownerGauges.size());
    }

    void handover(Duration took) {
        handover.record(took);
    }

    void layoutSettled(boolean settled) {
        layoutSettled.set(settled ? 1 : 0);
    }

    void layoutChanged() {
        layoutChanges.increment();
    }

    void moved() {
        moves.increment();
    }

    void fenced() {
        fences.increment();
    }

    void members(int count) {
        members.set(count);
    }

    void leading(boolean isLeader) {
        leading.set(isLeader ? 1 : 0);
    }

    void informerMode(String resource, String mode) {
        Gauge.builder(INFORMER_MODE, () -> 1).description("How this replica's informers are narrowed to its shards")
                .tag(LABEL_RESOURCE, resource).tag(LABEL_MODE, mode).register(registry);
    }
}
