package dev.flotilla.sharding.auditlog;

import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

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
    private static final int CLUSTER = GroupLeases.COORDINATOR;

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

    private final GroupLeases leases;

    public SingleWriterCheck(ShardSpace space, LeaseNaming naming, String leaseNamespace) {
        this.leases = new GroupLeases(space, naming, leaseNamespace);
    }

    /** Every write accepted while another user held its shard, in the order they were accepted. */
    public List<Violation> violations(List<AuditedRequest> log) {
        List<AuditedRequest> byTime = GroupLeases.byTime(log);
        Set<String> replicas = leases.replicas(byTime, false);
        GroupLeases.Holders holders = leases.holders();
        List<Violation> out = new ArrayList<>();
        for (AuditedRequest r : byTime) {
            if (holders.apply(r)) {
                continue;
            }
            if (!r.isAcceptedWrite() || !replicas.contains(r.user())
                    || (r.isLease() && r.namespace().equals(leases.namespace()))
                    // A replica's own Pod (the coordinator label) lives beside the Leases; no other replica writes it.
                    || (r.resource().equals("pods") && r.subresource().isEmpty() && r.namespace().equals(leases.namespace()))) {
                continue; // not a write, not a replica's, or one of the group's own Leases (membership)
            }
            if (r.namespace().isEmpty()) {
                GroupLeases.Tenure t = holders.tenures().get(CLUSTER);
                if (t != null && !t.user().equals(r.user())) {
                    out.add(new Violation(r, CLUSTER, t.user(), t.since()));
                }
                continue;
            }
            long hash = ShardSpace.hash(r.namespace());
            for (var held : holders.tenures().entrySet()) {
                GroupLeases.Tenure t = held.getValue();
                if (held.getKey() != CLUSTER && !t.user().equals(r.user()) && t.covers(hash)) {
                    out.add(new Violation(r, held.getKey(), t.user(), t.since()));
                    break; // one violation per write
                }
            }
        }
        return out;
    }
}
