package dev.flotilla.sharding.auditlog;

import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.HashRange;
import dev.flotilla.sharding.ShardSpace;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The single-writer invariant, judged from the API server's audit log alone: for every namespace,
 * no write by one user accepted while another user held a shard whose range held that namespace
 * (from its acquisition until the Lease was freed or taken by someone else); for cluster-scoped
 * objects, the same with the coordinator Lease. A shard's range is the one its Lease had in the
 * answer to the last accepted write of it ({@code flotilla.dev/range}; without one, the
 * equal-width range of its {@code flotilla.dev/shards}, or of the given space), so a layout that
 * changes under the group is judged as it was at each instant.
 *
 * <p>Who holds what is read from the same log: a Lease write the server accepted whose answer
 * names a different holder than the Lease had is an acquisition by the user who wrote it (a
 * replica only ever writes itself as holder), one that names no holder a release. A write is
 * accepted at its {@link AuditedRequest#completed} time. Only users that ever held a shard or
 * the coordinator Lease are judged: the replicas, not the test driving the workload.
 *
 * <pre>{@code
 * List<AuditedRequest> log = AuditLog.read(Path.of("audit.log"));
 * var check = new SingleWriterCheck(new ShardSpace(32), new LeaseNaming("flotilla"), "flotilla-system");
 * List<SingleWriterCheck.Violation> violations = check.violations(log);
 * }</pre>
 */
public final class SingleWriterCheck {

    /** The coordinator Lease's slot among the shards, for cluster-scoped writes. */
    private static final int CLUSTER = -1;

    /**
     * A write by {@code write.user()} accepted while {@code holder} held what it wrote to.
     *
     * @param shard      the namespace's shard, or -1 for a cluster-scoped write (the coordinator Lease)
     * @param holder     the user that acquired it last before the write
     * @param acquiredAt when that acquisition was accepted
     */
    public record Violation(AuditedRequest write, int shard, String holder, Instant acquiredAt) {
        public Violation {
            Objects.requireNonNull(write, "write");
            Objects.requireNonNull(holder, "holder");
            Objects.requireNonNull(acquiredAt, "acquiredAt");
        }

        @Override
        public String toString() {
            return write + " accepted " + java.time.Duration.between(acquiredAt, write.completed()).toMillis() + " ms after "
                    + holder + " acquired " + (shard == CLUSTER ? "the coordinator lease" : "shard " + shard);
        }
    }

    /** Who held a shard from when, and the namespace hashes it covered then (empty: unreadable, so every namespace). */
    private record Tenure(String user, Instant since, Optional<HashRange> range) {
        boolean covers(long hash) {
            return range.isEmpty() || range.get().contains(hash);
        }
    }

    private final ShardSpace space;
    private final LeaseNaming naming;
    private final String leaseNamespace;

    public SingleWriterCheck(ShardSpace space, LeaseNaming naming, String leaseNamespace) {
        this.space = Objects.requireNonNull(space, "space");
        this.naming = Objects.requireNonNull(naming, "naming");
        this.leaseNamespace = Objects.requireNonNull(leaseNamespace, "leaseNamespace");
    }

    /** Every write accepted while another user held its shard, in the order they were accepted. */
    public List<Violation> violations(List<AuditedRequest> log) {
        List<AuditedRequest> byTime = new ArrayList<>(log);
        byTime.sort(Comparator.comparing(AuditedRequest::completed));
        Map<Integer, String> holders = new HashMap<>();     // the Lease's holderIdentity as last accepted
        Map<Integer, Tenure> tenures = new java.util.TreeMap<>(); // who acquired it last (absent: free)
        java.util.Set<String> replicas = new java.util.HashSet<>();
        int leaseWrites = 0;
        int unanswered = 0;
        for (AuditedRequest r : byTime) {
            if (leaseSlot(r).isPresent() && r.code() >= 200 && r.code() < 300 && !r.dryRun() && !r.verb().startsWith("delete")) {
                leaseWrites++;
                if (r.leaseHolder().isPresent()) {
                    replicas.add(r.user());
                } else {
                    unanswered++;
                }
            }
        }
        if (unanswered > 0) {
            // Without the answers a tenure would be missed, and the writes in it would pass: refuse to judge.
            throw new IllegalArgumentException(unanswered + " of " + leaseWrites + " accepted writes of the group's Leases in '"
                    + leaseNamespace + "' without the Lease in its answer: log Lease writes at level RequestResponse (see"
                    + " RealApiServer.AUDIT_POLICY) to judge who held what");
        }
        List<Violation> out = new ArrayList<>();
        for (AuditedRequest r : byTime) {
            Optional<Integer> slot = leaseSlot(r);
            if (slot.isPresent()) {
                if (r.leaseHolder().isEmpty() || r.code() < 200 || r.code() >= 300 || r.dryRun()) {
                    continue;
                }
                String holder = r.leaseHolder().get();
                String before = holders.put(slot.get(), holder);
                if (holder.isEmpty()) {
                    tenures.remove(slot.get());
                } else if (!holder.equals(before)) {
                    tenures.put(slot.get(), new Tenure(r.user(), r.completed(), rangeOf(slot.get(), r)));
                }
                continue;
            }
            if (!r.isAcceptedWrite() || !replicas.contains(r.user())
                    || (r.isLease() && r.namespace().equals(leaseNamespace))) {
                continue; // not a write, not a replica's, or one of the group's own Leases (membership)
            }
            if (r.namespace().isEmpty()) {
                Tenure t = tenures.get(CLUSTER);
                if (t != null && !t.user().equals(r.user())) {
                    out.add(new Violation(r, CLUSTER, t.user(), t.since()));
                }
                continue;
            }
            long hash = ShardSpace.hash(r.namespace());
            for (var held : tenures.entrySet()) {
                Tenure t = held.getValue();
                if (held.getKey() != CLUSTER && !t.user().equals(r.user()) && t.covers(hash)) {
                    out.add(new Violation(r, held.getKey(), t.user(), t.since()));
                    break; // one violation per write
                }
            }
        }
        return out;
    }

    /** The range a shard Lease had in the answer to {@code r}; empty when it cannot be read. */
    private Optional<HashRange> rangeOf(int slot, AuditedRequest r) {
        if (slot == CLUSTER) {
            return Optional.of(HashRange.all());
        }
        try {
            String text = r.leaseAnnotations().getOrDefault(LeaseNaming.ANNOTATION_RANGE, "");
            if (!text.isEmpty()) {
                return Optional.of(HashRange.parse(text));
            }
            String shards = r.leaseAnnotations().getOrDefault(LeaseNaming.ANNOTATION_SHARDS, "");
            ShardSpace of = shards.isEmpty() ? space : new ShardSpace(Integer.parseInt(shards));
            return slot < of.shards() ? Optional.of(HashRange.of(of, slot)) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The shard (or {@link #CLUSTER}) whose Lease {@code r} writes, if it writes one of the group's. */
    private Optional<Integer> leaseSlot(AuditedRequest r) {
        if (!r.isLease() || !r.namespace().equals(leaseNamespace) || !AuditedRequest.WRITE_VERBS.contains(r.verb())) {
            return Optional.empty();
        }
        if (r.name().equals(naming.coordinatorLease())) {
            return Optional.of(CLUSTER);
        }
        return naming.shardOf(r.name());
    }
}
