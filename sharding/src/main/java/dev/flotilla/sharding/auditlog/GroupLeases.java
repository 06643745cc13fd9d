package dev.flotilla.sharding.auditlog;

import dev.flotilla.sharding.HashRange;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * One sharding group's Leases as an audit log shows them: which write is of which Lease, and who
 * held each shard (and the coordinator Lease) after each accepted write. The one reading of
 * tenures that {@link SingleWriterCheck} and {@link RangeOwnershipCheck} share, so the two never
 * disagree on who held what.
 */
final class GroupLeases {

    /** The coordinator Lease's slot among the shards, for cluster-scoped writes. */
    static final int COORDINATOR = -1;

    /**
     * Who acquired a slot, from when, with the range its Lease had then.
     *
     * @param user   who wrote the acquisition (a replica only ever writes itself as holder)
     * @param holder the Lease's {@code holderIdentity}: identity and incarnation
     * @param range  the namespace hashes it covered; empty when unreadable, which callers read as every namespace
     */
    record Tenure(String user, String holder, Instant since, Optional<HashRange> range) {
        Tenure {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(holder, "holder");
            Objects.requireNonNull(since, "since");
            Objects.requireNonNull(range, "range");
        }

        boolean covers(long hash) {
            return range.isEmpty() || range.get().contains(hash);
        }

        boolean overlaps(Tenure other) {
            return range.isEmpty() || other.range.isEmpty() || range.get().overlaps(other.range.get());
        }
    }

    private final ShardSpace space;
    private final LeaseNaming naming;
    private final String namespace;

    GroupLeases(ShardSpace space, LeaseNaming naming, String namespace) {
        this.space = Objects.requireNonNull(space, "space");
        this.naming = Objects.requireNonNull(naming, "naming");
        this.namespace = Objects.requireNonNull(namespace, "namespace");
    }

    String namespace() {
        return namespace;
    }

    /** The log in the order the server accepted its requests. */
    static List<AuditedRequest> byTime(List<AuditedRequest> log) {
        List<AuditedRequest> byTime = new ArrayList<>(log);
        byTime.sort(Comparator.comparing(AuditedRequest::completed));
        return byTime;
    }

    /**
     * The users that wrote one of the group's shard or coordinator Leases (the replicas), after
     * checking that every accepted write of those Leases (and, with {@code withMembers}, of the
     * membership Leases) carries the Lease in its answer.
     *
     * @throws IllegalArgumentException if one does not: without the answers a tenure would be missed
     *                                  and the writes in it would pass, so the log is not judged
     */
    Set<String> replicas(List<AuditedRequest> log, boolean withMembers) {
        Set<String> replicas = new HashSet<>();
        int leaseWrites = 0;
        int unanswered = 0;
        for (AuditedRequest r : log) {
            boolean judged = slot(r).isPresent() || (withMembers && member(r).isPresent());
            if (judged && accepted(r) && !r.verb().startsWith("delete")) {
                leaseWrites++;
                if (r.leaseHolder().isEmpty()) {
                    unanswered++;
                } else if (slot(r).isPresent()) {
                    replicas.add(r.user());
                }
            }
        }
        if (unanswered > 0) {
            throw new IllegalArgumentException(unanswered + " of " + leaseWrites + " accepted writes of the group's Leases in '"
                    + namespace + "' without the Lease in its answer: log Lease writes at level RequestResponse (see"
                    + " RealApiServer.AUDIT_POLICY) to judge who held what");
        }
        return replicas;
    }

    /** Whether the server accepted {@code r} and stored what it asked (2xx, not a dry run). */
    static boolean accepted(AuditedRequest r) {
        return r.code() >= 200 && r.code() < 300 && !r.dryRun();
    }

    /** The shard (or {@link #COORDINATOR}) whose Lease {@code r} writes, if it writes one of the group's. */
    Optional<Integer> slot(AuditedRequest r) {
        if (!isGroupLeaseWrite(r)) {
            return Optional.empty();
        }
        if (r.name().equals(naming.coordinatorLease())) {
            return Optional.of(COORDINATOR);
        }
        return naming.shardOf(r.name());
    }

    /** The member whose membership Lease {@code r} writes, if it writes one of the group's. */
    Optional<String> member(AuditedRequest r) {
        return isGroupLeaseWrite(r) ? naming.memberOf(r.name()) : Optional.empty();
    }

    private boolean isGroupLeaseWrite(AuditedRequest r) {
        return r.isLease() && r.namespace().equals(namespace) && AuditedRequest.WRITE_VERBS.contains(r.verb());
    }

    /** The range a shard Lease had in the answer to {@code r}; empty when it cannot be read. */
    Optional<HashRange> rangeOf(int slot, AuditedRequest r) {
        if (slot == COORDINATOR) {
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

    /** A replay of the log, request by request in accepted order: who holds each slot now. Not thread-safe. */
    Holders holders() {
        return new Holders();
    }

    final class Holders {
        private final Map<Integer, String> holders = new HashMap<>(); // the Lease's holderIdentity as last accepted
        private final Map<Integer, Tenure> tenures = new TreeMap<>();  // who acquired it last (absent: free)

        /**
         * Takes {@code r} into account; true if it was a write of one of the group's shard or
         * coordinator Leases (accepted or not), which is then no workload write. An accepted write
         * whose answer names a different holder than the Lease had is an acquisition by its writer,
         * one that names none a release; the coordinator's annotation writes change no holder.
         */
        boolean apply(AuditedRequest r) {
            Optional<Integer> slot = slot(r);
            if (slot.isEmpty()) {
                return false;
            }
            if (r.leaseHolder().isEmpty() || !accepted(r)) {
                return true;
            }
            String holder = r.leaseHolder().get();
            String before = holders.put(slot.get(), holder);
            if (holder.isEmpty()) {
                tenures.remove(slot.get());
            } else if (!holder.equals(before)) {
                tenures.put(slot.get(), new Tenure(r.user(), holder, r.completed(), rangeOf(slot.get(), r)));
            }
            return true;
        }

        /** The held slots (shards, and {@link #COORDINATOR}) and their current tenures, by slot. */
        Map<Integer, Tenure> tenures() {
            return tenures;
        }
    }
}
