package dev.flotilla.sharding;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What {@link RangePlanner#plan} decided: a layout of slots (each an inclusive {@link HashRange};
 * together they partition the 64-bit hash space), the member that owns each slot, and which slots
 * changed range or owner relative to the input, each such change being a fenced handover in
 * production.
 *
 * <pre>{@code
 * NamespaceWeights weights = NamespaceWeights.ofNamespaces(Map.of("shop", 120L, "billing", 40L));
 * RangePlan plan = RangePlanner.plan(RangePlan.Input.coldStart(32, Set.of("replica-0", "replica-1"), weights));
 * List<HashRange> mine = plan.rangesOf("replica-0");
 * // Later: the same group, one more replica, fresh object counts.
 * RangePlan next = RangePlanner.plan(RangePlan.Input.after(plan, Set.of("replica-0", "replica-1", "replica-2"), weights));
 * }</pre>
 *
 * @param layout         slot index -> range; a partition of the whole space
 * @param owners         slot -> member for every slot (empty when there were no members)
 * @param rangeChanged   slots whose range differs from the input layout (all, when the layout was built afresh)
 * @param ownerChanged   slots whose owner differs from the input owners
 * @param loads          member -> objects in the slots it owns, for every live member
 * @param allowed        member -> the most objects it may hold (see {@link RangePlanner}), never above
 *                       {@code maxLoadAllowed}
 * @param maxLoadAllowed the group bound: {@code floor(max(largest namespace, mean) + tolerance * mean)}
 * @param capped         a member is over its bound and a re-split the planner wanted was refused by
 *                       the cap on range changes: a later plan will move further
 */
public record RangePlan(
        List<HashRange> layout,
        Map<Integer, String> owners,
        SortedSet<Integer> rangeChanged,
        SortedSet<Integer> ownerChanged,
        Map<String, Long> loads,
        Map<String, Long> allowed,
        long maxLoadAllowed,
        boolean capped) {

    public RangePlan {
        layout = List.copyOf(layout);
        checkPartition(layout);
        owners = Collections.unmodifiableMap(new TreeMap<>(owners));
        for (Map.Entry<Integer, String> e : owners.entrySet()) {
            checkSlot(e.getKey(), layout.size(), "owners");
            Objects.requireNonNull(e.getValue(), "owner of slot " + e.getKey());
        }
        if (!owners.isEmpty() && owners.size() != layout.size()) {
            throw new IllegalArgumentException("a plan owns every slot or none; it owns " + owners.size() + " of " + layout.size());
        }
        rangeChanged = Collections.unmodifiableSortedSet(new TreeSet<>(rangeChanged));
        ownerChanged = Collections.unmodifiableSortedSet(new TreeSet<>(ownerChanged));
        for (int slot : rangeChanged) {
            checkSlot(slot, layout.size(), "rangeChanged");
        }
        for (int slot : ownerChanged) {
            checkSlot(slot, layout.size(), "ownerChanged");
        }
        loads = Collections.unmodifiableMap(new TreeMap<>(loads));
        loads.forEach((member, load) -> {
            if (load < 0) {
                throw new IllegalArgumentException("load of " + member + " is negative: " + load);
            }
        });
        allowed = Collections.unmodifiableMap(new TreeMap<>(allowed));
        if (!allowed.keySet().equals(loads.keySet())) {
            throw new IllegalArgumentException("allowed names " + allowed.keySet() + ", loads name " + loads.keySet());
        }
        if (maxLoadAllowed < 0) {
            throw new IllegalArgumentException("maxLoadAllowed is negative: " + maxLoadAllowed);
        }
    }

    /** The ranges {@code member} owns, in slot order (empty when it owns none). */
    public List<HashRange> rangesOf(String member) {
        List<HashRange> mine = new ArrayList<>();
        owners.forEach((slot, owner) -> {
            if (owner.equals(member)) {
                mine.add(layout.get(slot));
            }
        });
        return List.copyOf(mine);
    }

    /** The most objects any member owns. */
    public long maxLoad() {
        return loads.values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    /** Objects per member, the most over the mean (1.0 when there are no objects or no members). */
    public double maxOverMean() {
        long total = loads.values().stream().mapToLong(Long::longValue).sum();
        return total == 0 ? 1.0 : maxLoad() * (double) loads.size() / total;
    }

    /** Whether every member holds no more than it is {@link #allowed()} (and so no more than {@link #maxLoadAllowed()}). */
    public boolean withinBound() {
        return loads.entrySet().stream().allMatch(e -> e.getValue() <= allowed.get(e.getKey()));
    }

    /**
     * What {@link RangePlanner#plan} plans from.
     *
     * <pre>{@code
     * RangePlan.Input input = new RangePlan.Input(List.of(), Map.of(), Set.of("replica-0"), NamespaceWeights.none(), 32)
     *         .withTolerance(0.05)
     *         .withMaxRangeChanges(4);
     * }</pre>
     *
     * @param layout          the current layout (slot -> range, a partition of the space), or empty on a cold start;
     *                        one of another size than {@code slots} is replaced by a new layout
     * @param owners          the current owner of each slot of {@code layout}; owners that are not members are ignored
     * @param members         the live members
     * @param weights         objects per namespace hash
     * @param slots           R, the number of slots the plan has (1..{@value ShardSpace#MAX_SHARDS})
     * @param tolerance       how far above the mean a member may be, as a fraction of the mean (default 0.10)
     * @param maxRangeChanges at most this many slots of an existing layout change range in one plan
     *                        (default {@code max(3, slots/4)})
     */
    public record Input(
            List<HashRange> layout,
            Map<Integer, String> owners,
            Set<String> members,
            NamespaceWeights weights,
            int slots,
            double tolerance,
            int maxRangeChanges) {

        public static final double DEFAULT_TOLERANCE = 0.10;

        public Input {
            layout = List.copyOf(layout);
            if (!layout.isEmpty()) {
                checkPartition(layout);
            }
            owners = Collections.unmodifiableMap(new TreeMap<>(owners));
            for (Map.Entry<Integer, String> e : owners.entrySet()) {
                checkSlot(e.getKey(), layout.size(), "owners");
                Objects.requireNonNull(e.getValue(), "owner of slot " + e.getKey());
            }
            members = Collections.unmodifiableSortedSet(new TreeSet<>(members));
            Objects.requireNonNull(weights, "weights");
            new ShardSpace(slots); // validates the slot count with ShardSpace's message
            if (!Double.isFinite(tolerance) || tolerance < 0) {
                throw new IllegalArgumentException("tolerance must be a finite fraction >= 0, got " + tolerance);
            }
            if (maxRangeChanges < 0) {
                throw new IllegalArgumentException("maxRangeChanges must be >= 0, got " + maxRangeChanges);
            }
        }

        /** With the default tolerance and cap on range changes. */
        public Input(List<HashRange> layout, Map<Integer, String> owners, Set<String> members, NamespaceWeights weights, int slots) {
            this(layout, owners, members, weights, slots, DEFAULT_TOLERANCE, defaultMaxRangeChanges(slots));
        }

        /** A group with no layout yet. */
        public static Input coldStart(int slots, Set<String> members, NamespaceWeights weights) {
            return new Input(List.of(), Map.of(), members, weights, slots);
        }

        /** The next plan after {@code previous}, with the members and weights seen now. */
        public static Input after(RangePlan previous, Set<String> members, NamespaceWeights weights) {
            return new Input(previous.layout(), previous.owners(), members, weights, previous.layout().size());
        }

        public Input withTolerance(double newTolerance) {
            return new Input(layout, owners, members, weights, slots, newTolerance, maxRangeChanges);
        }

        public Input withMaxRangeChanges(int newMax) {
            return new Input(layout, owners, members, weights, slots, tolerance, newMax);
        }

        /**
         * {@code max(3, slots/4)}: one step (a range cut in two, a pair merged elsewhere to free a slot for
         * the piece) changes three slots, so fewer would stall a small group for good; a quarter of the
         * slots at most otherwise.
         */
        public static int defaultMaxRangeChanges(int slots) {
            return Math.max(3, slots / 4);
        }
    }

    /** Checks that {@code layout} covers every hash exactly once (in any slot order). */
    static void checkPartition(List<HashRange> layout) {
        if (layout.isEmpty()) {
            throw new IllegalArgumentException("a layout needs at least one range");
        }
        List<HashRange> sorted = new ArrayList<>(layout);
        sorted.sort(Comparator.comparing(HashRange::first, Long::compareUnsigned));
        if (sorted.getFirst().first() != 0L) {
            throw new IllegalArgumentException("layout does not start at hash 0: its lowest range is " + sorted.getFirst());
        }
        for (int i = 1; i < sorted.size(); i++) {
            HashRange prev = sorted.get(i - 1);
            HashRange next = sorted.get(i);
            if (prev.last() == -1L || next.first() != prev.last() + 1) {
                throw new IllegalArgumentException("layout ranges " + prev + " and " + next + " overlap or leave a gap");
            }
        }
        if (sorted.getLast().last() != -1L) {
            throw new IllegalArgumentException("layout does not reach hash 2^64-1: its highest range is " + sorted.getLast());
        }
    }

    private static void checkSlot(Integer slot, int slots, String what) {
        Objects.requireNonNull(slot, what + " slot");
        if (slot < 0 || slot >= slots) {
            throw new IllegalArgumentException(what + " names slot " + slot + ", outside 0.." + (slots - 1));
        }
    }
}
