package dev.flotilla.manager.shards;

import dev.flotilla.cli.Json;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.HashRange;
import dev.flotilla.sharding.NamespaceWeights;
import dev.flotilla.sharding.ShardSpace;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A sharding group's live assignment as its Leases show it: one row per shard, the members and the
 * coordinator. Built from the Leases and the reader's clock only, so it can be tested without a
 * cluster. Ages are this machine's now minus the {@code renewTime} the holder wrote; a Lease is
 * {@code expired} when that is more than its {@code leaseDurationSeconds} ago. A shard Lease is
 * never renewed (sharding protocols 2 and 3): its holder's state and age are those of the holder's
 * membership Lease. A shard's range is its Lease's ({@code flotilla.dev/range}); its objects are
 * what the members report counting in it ({@code flotilla.dev/objects}), the weights the
 * coordinator balances; the layout is "settled" when the coordinator says every shard is held by
 * its planned owner with nothing moving, "moving" otherwise.
 *
 * <pre>{@code
 * List<Lease> leases = client.leases().inNamespace("flotilla-system").list().getItems();
 * ShardReport report = ShardReport.of("flotilla", "flotilla-system", leases, Instant.now());
 * System.out.print(report.toText());
 * }</pre>
 */
public record ShardReport(String group, String namespace, int shards, List<ShardRow> rows, List<Holder> members,
        Holder coordinator, Map<String, Long> memberObjects, String layout) {

    /** The state of one Lease's tenure. */
    public enum State {
        /** Held and renewed within its duration. */
        HELD,
        /** No holder (released, or never taken). */
        FREE,
        /** A holder that has not renewed within the lease duration. */
        EXPIRED,
        /** No Lease at all (a shard the coordinator has not created yet). */
        MISSING;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A Lease's holder (identity, without the incarnation), its state and how long ago it was renewed. */
    public record Holder(String identity, State state, Duration age) {
        /** "0.8s", "free", "expired", "-" (no Lease). */
        public String ageText() {
            return switch (state) {
                case HELD -> formatAge(age);
                case FREE -> "free";
                case EXPIRED -> "expired";
                case MISSING -> "-";
            };
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("identity", identity.isEmpty() ? null : identity);
            m.put("state", state.label());
            m.put("age", ageText());
            m.put("ageMs", age == null ? null : age.toMillis());
            return m;
        }
    }

    /**
     * One shard.
     *
     * @param start        first hash of the shard, inclusive
     * @param endInclusive last hash of the shard, inclusive
     * @param desiredOwner the member the coordinator assigned it to, "" if none yet
     * @param transitions  the Lease's leaseTransitions, -1 without a Lease
     * @param objects      objects the members last reported in its range, -1 when nobody reported any
     */
    public record ShardRow(int shard, BigInteger start, BigInteger endInclusive, String desiredOwner, Holder holder,
            int transitions, long objects) {
        public String range() {
            return hex(start) + "-" + hex(endInclusive);
        }
    }

    /** Builds the report from every Lease of the group (as listed by its group label). */
    public static ShardReport of(String group, String namespace, List<Lease> leases, Instant now) {
        LeaseNaming naming = new LeaseNaming(group);
        Map<Integer, Lease> byShard = new TreeMap<>();
        Map<String, Lease> byMember = new TreeMap<>();
        Lease coordinator = null;
        Map<String, Integer> shardCounts = new HashMap<>();
        for (Lease lease : leases) {
            String name = lease.getMetadata().getName();
            Optional<Integer> shard = naming.shardOf(name);
            if (shard.isPresent()) {
                byShard.put(shard.get(), lease);
                String s = annotation(lease, LeaseNaming.ANNOTATION_SHARDS);
                if (!s.isEmpty()) {
                    shardCounts.merge(s, 1, Integer::sum);
                }
            } else if (name.equals(naming.coordinatorLease())) {
                coordinator = lease;
            } else {
                naming.memberOf(name).ifPresent(m -> byMember.put(m, lease));
            }
        }
        int shards = shardCounts.entrySet().stream().max(Map.Entry.comparingByValue())
                .map(e -> parseCount(e.getKey())).orElse(0);
        if (shards <= 0) {
            shards = byShard.keySet().stream().max(Comparator.naturalOrder()).map(i -> i + 1).orElse(0);
        }
        Map<String, Long> memberObjects = new TreeMap<>();
        List<NamespaceWeights> reports = new ArrayList<>();
        byMember.forEach((identity, lease) -> {
            try {
                NamespaceWeights w = NamespaceWeights.parse(annotation(lease, LeaseNaming.ANNOTATION_OBJECTS));
                reports.add(w);
                memberObjects.put(identity, w.total());
            } catch (IllegalArgumentException e) {
                memberObjects.put(identity, -1L); // unreadable: shown as "-"
            }
        });
        NamespaceWeights objects = NamespaceWeights.sum(reports);
        List<ShardRow> rows = new ArrayList<>();
        if (shards > 0 && shards <= ShardSpace.MAX_SHARDS) {
            ShardSpace space = new ShardSpace(shards);
            java.util.SortedSet<Integer> slots = new java.util.TreeSet<>(byShard.keySet());
            for (int i = 0; i < shards; i++) {
                slots.add(i);
            }
            for (int i : slots) {
                Lease lease = byShard.get(i);
                Optional<HashRange> range = rangeOf(lease, i, space);
                rows.add(new ShardRow(i, range.map(HashRange::start).orElse(BigInteger.ZERO),
                        range.map(r -> r.end().subtract(BigInteger.ONE)).orElse(BigInteger.ZERO),
                        lease == null ? "" : annotation(lease, LeaseNaming.ANNOTATION_DESIRED_OWNER), shardHolder(lease, byMember, now),
                        lease == null || lease.getSpec() == null || lease.getSpec().getLeaseTransitions() == null ? -1
                                : lease.getSpec().getLeaseTransitions(),
                        reports.isEmpty() || range.isEmpty() ? -1 : objects.weightIn(range.get())));
            }
        }
        List<Holder> members = new ArrayList<>();
        byMember.forEach((identity, lease) -> {
            Holder h = holder(lease, now);
            members.add(new Holder(identity, h.state(), h.age()));
        });
        String settled = coordinator == null ? "" : annotation(coordinator, LeaseNaming.ANNOTATION_LAYOUT_SETTLED);
        String layout = settled.equals("true") ? "settled" : settled.equals("false") ? "moving" : "unknown";
        return new ShardReport(group, namespace, shards, List.copyOf(rows), List.copyOf(members), holder(coordinator, now),
                Map.copyOf(memberObjects), layout);
    }

    /** The Lease's range; without one, the equal-width range of its shard count (or of the group's); empty if unreadable. */
    private static Optional<HashRange> rangeOf(Lease lease, int slot, ShardSpace space) {
        try {
            String text = lease == null ? "" : annotation(lease, LeaseNaming.ANNOTATION_RANGE);
            if (!text.isEmpty()) {
                return Optional.of(HashRange.parse(text));
            }
            String count = lease == null ? "" : annotation(lease, LeaseNaming.ANNOTATION_SHARDS);
            ShardSpace of = count.isEmpty() ? space : new ShardSpace(Integer.parseInt(count));
            return slot < of.shards() ? Optional.of(HashRange.of(of, slot)) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * A shard Lease of protocol 2 is never renewed: its holder works on it while the holder's
     * membership Lease names that same incarnation and is renewed, so state and age are the
     * membership's. A protocol-1 shard Lease (no protocol annotation) is judged by its own renewal.
     */
    private static Holder shardHolder(Lease shard, Map<String, Lease> byMember, Instant now) {
        String protocol = shard == null ? "" : annotation(shard, LeaseNaming.ANNOTATION_PROTOCOL);
        if (protocol.isEmpty()) {
            return holder(shard, now);
        }
        String holder = shard.getSpec() == null || shard.getSpec().getHolderIdentity() == null ? ""
                : shard.getSpec().getHolderIdentity();
        if (holder.isEmpty()) {
            return new Holder("", State.FREE, null);
        }
        String identity = LeaseNaming.identityOf(holder);
        Lease member = byMember.get(identity);
        if (member == null || member.getSpec() == null || !holder.equals(member.getSpec().getHolderIdentity())) {
            return new Holder(identity, State.EXPIRED, null); // its incarnation no longer holds the membership
        }
        Holder m = holder(member, now);
        return new Holder(identity, m.state(), m.age());
    }

    private static Holder holder(Lease lease, Instant now) {
        if (lease == null) {
            return new Holder("", State.MISSING, null);
        }
        LeaseSpec spec = lease.getSpec();
        String holder = spec == null || spec.getHolderIdentity() == null ? "" : spec.getHolderIdentity();
        if (holder.isEmpty()) {
            return new Holder("", State.FREE, null);
        }
        String identity = LeaseNaming.identityOf(holder);
        ZonedDateTime renewed = spec.getRenewTime() != null ? spec.getRenewTime() : spec.getAcquireTime();
        if (renewed == null) {
            return new Holder(identity, State.EXPIRED, null);
        }
        Duration age = Duration.between(renewed.toInstant(), now);
        if (age.isNegative()) {
            age = Duration.ZERO; // the writer's clock is a little ahead of ours
        }
        Integer seconds = spec.getLeaseDurationSeconds();
        boolean expired = seconds != null && age.compareTo(Duration.ofSeconds(seconds)) > 0;
        return new Holder(identity, expired ? State.EXPIRED : State.HELD, age);
    }

    private static String annotation(Lease lease, String key) {
        Map<String, String> a = lease.getMetadata().getAnnotations();
        return a == null ? "" : a.getOrDefault(key, "");
    }

    private static int parseCount(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    static String hex(BigInteger v) {
        return String.format(Locale.ROOT, "0x%016x", v);
    }

    /** "0.8s" below a minute, then "3m12s", then "2h5m". */
    static String formatAge(Duration d) {
        long ms = d.toMillis();
        if (ms < 60_000) {
            return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
        }
        if (ms < 3_600_000) {
            return d.toMinutes() + "m" + d.toSecondsPart() + "s";
        }
        return d.toHours() + "h" + d.toMinutesPart() + "m";
    }

    /** Shards each member holds now (held Leases only), by identity. */
    public Map<String, Integer> heldCounts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (ShardRow r : rows) {
            if (r.holder().state() == State.HELD) {
                counts.merge(r.holder().identity(), 1, Integer::sum);
            }
        }
        return counts;
    }

    public String toText() {
        StringBuilder b = new StringBuilder();
        long live = members.stream().filter(m -> m.state() == State.HELD).count();
        b.append("sharding group '").append(group).append("' in namespace '").append(namespace).append("': ")
                .append(shards).append(" shards, ").append(live).append(live == 1 ? " live member" : " live members")
                .append(", coordinator ").append(coordinator.state() == State.HELD
                        ? coordinator.identity() + " (renewed " + coordinator.ageText() + " ago)"
                        : "none (" + coordinator.state().label() + ")")
                .append(", layout ").append(layout)
                .append("\n\n");
        List<String[]> table = new ArrayList<>();
        table.add(new String[] {"SHARD", "RANGE", "OBJECTS", "DESIRED", "HOLDER", "AGE", "TRANSITIONS"});
        for (ShardRow r : rows) {
            table.add(new String[] {Integer.toString(r.shard()), r.range(), r.objects() < 0 ? "-" : Long.toString(r.objects()),
                    dash(r.desiredOwner()), dash(r.holder().identity()), r.holder().ageText(),
                    r.transitions() < 0 ? "-" : Integer.toString(r.transitions())});
        }
        appendTable(b, table);
        b.append('\n');
        Map<String, Integer> held = heldCounts();
        List<String[]> memberTable = new ArrayList<>();
        memberTable.add(new String[] {"MEMBER", "AGE", "SHARDS", "OBJECTS"});
        for (Holder m : members) {
            long n = memberObjects.getOrDefault(m.identity(), -1L);
            memberTable.add(new String[] {m.identity(), m.ageText(), Integer.toString(held.getOrDefault(m.identity(), 0)),
                    n < 0 ? "-" : Long.toString(n)});
        }
        appendTable(b, memberTable);
        b.append('\n');
        appendTable(b, List.of(new String[] {"COORDINATOR", "AGE"},
                new String[] {dash(coordinator.identity()), coordinator.ageText()}));
        return b.toString();
    }

    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("group", group);
        m.put("namespace", namespace);
        m.put("shards", shards);
        m.put("coordinator", coordinator.json());
        m.put("layout", layout);
        List<Object> shardList = new ArrayList<>();
        for (ShardRow r : rows) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("shard", r.shard());
            row.put("start", hex(r.start()));
            row.put("end", hex(r.endInclusive()));
            row.put("desiredOwner", r.desiredOwner().isEmpty() ? null : r.desiredOwner());
            row.put("holder", r.holder().identity().isEmpty() ? null : r.holder().identity());
            row.put("state", r.holder().state().label());
            row.put("age", r.holder().ageText());
            row.put("ageMs", r.holder().age() == null ? null : r.holder().age().toMillis());
            row.put("transitions", r.transitions() < 0 ? null : r.transitions());
            row.put("objects", r.objects() < 0 ? null : r.objects());
            shardList.add(row);
        }
        m.put("assignments", shardList);
        Map<String, Integer> held = heldCounts();
        List<Object> memberList = new ArrayList<>();
        for (Holder h : members) {
            Map<String, Object> j = h.json();
            j.put("shardsHeld", held.getOrDefault(h.identity(), 0));
            long n = memberObjects.getOrDefault(h.identity(), -1L);
            j.put("objects", n < 0 ? null : n);
            memberList.add(j);
        }
        m.put("members", memberList);
        return Json.write(m);
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    private static void appendTable(StringBuilder b, List<String[]> rows) {
        int[] width = new int[rows.getFirst().length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(i == r.length - 1 ? r[i] : String.format(Locale.ROOT, "%-" + (width[i] + 2) + "s", r[i]));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
    }
}
