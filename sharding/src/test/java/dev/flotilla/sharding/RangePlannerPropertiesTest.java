package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Properties of {@link RangePlanner} over generated inputs. Each case comes from a seed (shown
 * in the test name and in every failure message), so a failure replays exactly.
 */
class RangePlannerPropertiesTest {

    private static final int[] SLOT_COUNTS = {1, 2, 3, 5, 8, 16, 32, 33, 64, 100, 256, 1024};

    static LongStream seeds() {
        return LongStream.range(0, 300);
    }

    /** A group and its objects, drawn from a seed. */
    record Case(long seed, int slots, Set<String> members, Map<Long, Long> objects) {

        NamespaceWeights weights() {
            return NamespaceWeights.ofHashes(objects);
        }

        static Case draw(long seed) {
            Random rnd = new Random(seed);
            int slots = SLOT_COUNTS[rnd.nextInt(SLOT_COUNTS.length)];
            Set<String> members = new TreeSet<>();
            int n = 1 + rnd.nextInt(6);
            while (members.size() < n) {
                members.add("replica-" + rnd.nextInt(40));
            }
            return new Case(seed, slots, members, objects(rnd));
        }

        private static Map<Long, Long> objects(Random rnd) {
            Map<Long, Long> m = new HashMap<>();
            switch (rnd.nextInt(6)) {
                case 0 -> { } // nothing known yet
                case 1 -> { // many light namespaces by name
                    int n = 1 + rnd.nextInt(600);
                    String prefix = List.of("team-", "tenant-", "ns", "app-x-").get(rnd.nextInt(4));
                    for (int i = 0; i < n; i++) {
                        m.put(ShardSpace.hash(prefix + i), 1L + rnd.nextInt(20));
                    }
                }
                case 2 -> { // long-tailed sizes
                    int n = 1 + rnd.nextInt(400);
                    for (int i = 1; i <= n; i++) {
                        m.put(rnd.nextLong(), (long) (5000 / Math.pow(i, 1.1)) + rnd.nextInt(3));
                    }
                }
                case 3 -> { // edges of the space, neighbouring hashes, zeros
                    long[] edges = {0L, 1L, 2L, Long.MAX_VALUE, Long.MIN_VALUE, -2L, -1L};
                    for (long h : edges) {
                        if (rnd.nextBoolean()) {
                            m.put(h, (long) rnd.nextInt(30));
                        }
                    }
                    long base = rnd.nextLong();
                    for (int i = 0; i < rnd.nextInt(50); i++) {
                        m.put(base + i, (long) rnd.nextInt(10));
                    }
                    for (int i = 0; i < rnd.nextInt(50); i++) {
                        m.put(rnd.nextLong(), (long) rnd.nextInt(10));
                    }
                }
                case 4 -> { // a few heavy among many light
                    for (int i = 0; i < 1 + rnd.nextInt(6); i++) {
                        m.put(rnd.nextLong(), 500L + rnd.nextInt(5000));
                    }
                    for (int i = 0; i < rnd.nextInt(500); i++) {
                        m.put(rnd.nextLong(), 1L + rnd.nextInt(30));
                    }
                }
                default -> { // fewer namespaces than members or slots
                    for (int i = 0; i < rnd.nextInt(8); i++) {
                        m.put(rnd.nextLong(), (long) rnd.nextInt(100));
                    }
                }
            }
            return m;
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void aColdStartPartitionsTheSpaceBalancesAndIsStable(long seed) {
        Case c = Case.draw(seed);
        NamespaceWeights w = c.weights();
        RangePlan plan = RangePlanner.plan(RangePlan.Input.coldStart(c.slots(), c.members(), w));
        checkWellFormed(c, plan, w, c.members());
        assertThat(plan.rangeChanged()).as("seed %d", seed).hasSize(c.slots());

        // Determinism, whatever order the members come in.
        Set<String> shuffled = new LinkedHashSet<>(new ArrayList<>(c.members()).reversed());
        assertThat(RangePlanner.plan(RangePlan.Input.coldStart(c.slots(), shuffled, w))).as("seed %d", seed).isEqualTo(plan);

        // Idempotence.
        if (!plan.capped()) {
            RangePlan again = RangePlanner.plan(RangePlan.Input.after(plan, c.members(), w));
            assertThat(again.layout()).as("seed %d", seed).isEqualTo(plan.layout());
            assertThat(again.owners()).as("seed %d", seed).isEqualTo(plan.owners());
            assertThat(again.rangeChanged()).as("seed %d", seed).isEmpty();
            assertThat(again.ownerChanged()).as("seed %d", seed).isEmpty();
        }

        // Slots dealt heaviest first to the least loaded: nobody exceeds the mean by more than one slot.
        long maxSlot = plan.layout().stream().mapToLong(w::weightIn).max().orElse(0);
        long mean = ceilDiv(w.total(), c.members().size());
        if (w.total() > 0) {
            assertThat(plan.maxLoad()).as("seed %d %s", seed, plan.loads()).isLessThanOrEqualTo(mean + maxSlot);
        }

        // The bound holds where namespaces are fine-grained against it: each at most a twentieth of a
        // member's share, and at least five slots a member (so slots can be that fine too).
        if (w.largest() * 20 * c.members().size() <= w.total() && c.slots() >= 5 * c.members().size()) {
            assertThat(plan.withinBound()).as("seed %d %s allowed %d", seed, plan.loads(), plan.maxLoadAllowed()).isTrue();
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void changesMoveLittleAndSettle(long seed) {
        Case c = Case.draw(seed);
        Random rnd = new Random(~seed);
        Map<Long, Long> objects = new HashMap<>(c.objects());
        Set<String> members = new TreeSet<>(c.members());
        RangePlan plan = RangePlanner.plan(RangePlan.Input.coldStart(c.slots(), members, NamespaceWeights.ofHashes(objects)));
        for (int step = 0; step < 8; step++) {
            String event;
            String joiner = null;
            String leaver = null;
            int kind = rnd.nextInt(4);
            if (kind == 0 && members.size() < 8) {
                do {
                    joiner = "replica-" + rnd.nextInt(60);
                } while (members.contains(joiner));
                members.add(joiner);
                event = "join " + joiner;
            } else if (kind == 1 && members.size() > 1) {
                leaver = new ArrayList<>(members).get(rnd.nextInt(members.size()));
                members.remove(leaver);
                event = "leave " + leaver;
            } else {
                List<Long> keys = new ArrayList<>(objects.keySet());
                for (int i = 0; i < 1 + rnd.nextInt(5); i++) {
                    if (!keys.isEmpty() && rnd.nextBoolean()) {
                        long k = keys.get(rnd.nextInt(keys.size()));
                        objects.put(k, Math.max(0, objects.get(k) + rnd.nextInt(200) - 50));
                    } else {
                        objects.put(rnd.nextLong(), (long) rnd.nextInt(100));
                    }
                }
                event = "objects";
            }
            NamespaceWeights w = NamespaceWeights.ofHashes(objects);
            RangePlan.Input input = RangePlan.Input.after(plan, members, w);
            RangePlan next = RangePlanner.plan(input);
            String why = "seed " + seed + " step " + step + " " + event;
            checkWellFormed(c, next, w, members);
            assertThat(next.rangeChanged().size()).as(why).isLessThanOrEqualTo(input.maxRangeChanges());
            assertThat(RangePlanner.plan(input)).as(why).isEqualTo(next);

            boolean wasBalanced = plan.withinBound() && !event.equals("objects");
            if (leaver != null) {
                Set<Integer> leaverSlots = slotsOf(plan, leaver);
                assertThat(next.ownerChanged()).as(why).containsAll(leaverSlots);
            }
            if (next.rangeChanged().isEmpty() && wasBalanced && w.total() > 0) {
                // Owners only. A joiner only receives, where slots are fine against the tolerance (each at
                // most half of it, so a giver always has a slot that brings it within its bound without
                // dropping below the mean); a leaver's slots alone move unless they could not all be placed.
                long maxSlotNow = next.layout().stream().mapToLong(w::weightIn).max().orElse(0);
                boolean fine = maxSlotNow * 2 * members.size() <= RangePlan.Input.DEFAULT_TOLERANCE * w.total();
                if (joiner != null && fine) {
                    for (int s : next.ownerChanged()) {
                        assertThat(next.owners().get(s)).as(why).isEqualTo(joiner);
                    }
                    // Nobody gives more than its excess over the mean, plus one slot.
                    long maxSlot = next.layout().stream().mapToLong(w::weightIn).max().orElse(0);
                    Map<String, Long> given = new HashMap<>();
                    for (int s : next.ownerChanged()) {
                        given.merge(plan.owners().get(s), w.weightIn(next.layout().get(s)), Long::sum);
                    }
                    Map<String, Long> oldLoads = loads(plan, w);
                    long mean = w.total() / members.size();
                    given.forEach((m, g) -> assertThat(g).as(why + " " + m).isLessThan(Math.max(0, oldLoads.get(m) - mean) + maxSlot + 1));
                    assertEvened(next, w, Set.of(joiner), why);
                }
                if (leaver != null) {
                    Set<Integer> others = new TreeSet<>(next.ownerChanged());
                    others.removeAll(slotsOf(plan, leaver));
                    if (!others.isEmpty()) {
                        // Then the leaver's slots could not all be placed within the bound (checked
                        // exhaustively where that is cheap).
                        RangePlan before = plan;
                        List<long[]> freed = new ArrayList<>();
                        for (int s : slotsOf(before, leaver)) {
                            HashRange r = before.layout().get(s);
                            if (w.weightIn(r) > 0) {
                                freed.add(new long[] {w.weightIn(r), top(w, r)});
                            }
                        }
                        freed.sort((a, b) -> Long.compare(b[0], a[0]));
                        if (freed.size() <= 7) {
                            Map<String, Long> oldLoads = loads(before, w);
                            List<String> staying = new ArrayList<>(members);
                            long[] load = staying.stream().mapToLong(oldLoads::get).toArray();
                            long[] tops = staying.stream().mapToLong(m -> topOf(before, m, w)).toArray();
                            assertThat(placeable(freed, 0, load, tops, Oracle.of(w, members.size()))).as(why + " moved " + others).isFalse();
                        }
                    }
                }
            }
            if (event.equals("objects") && !next.ownerChanged().isEmpty() && !next.capped()) {
                // The counts put a member over its bound (nothing else moves owners here): once acting,
                // the plan evens the group, not merely brings it back to the bound.
                assertEvened(next, w, members, why);
            }
            // Idempotence: planning again from this plan changes nothing unless the cap held it back.
            if (!next.capped()) {
                RangePlan again = RangePlanner.plan(RangePlan.Input.after(next, members, w));
                assertThat(again.rangeChanged()).as(why).isEmpty();
                assertThat(again.ownerChanged()).as(why + " loads " + next.loads() + " allowed " + next.allowed() + " then " + again.loads() + " prev " + plan.loads() + " within " + next.withinBound()).isEmpty();
            }
            plan = next;
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void onFineGrainedGroupsAJoinerOnlyReceivesAndALeaversSlotsAloneMove(long seed) {
        Random rnd = new Random(seed * 31 + 7);
        int slots = new int[] {64, 128, 256, 1024}[rnd.nextInt(4)];
        Set<String> members = new TreeSet<>();
        int n = 2 + rnd.nextInt(4);
        while (members.size() < n) {
            members.add("replica-" + rnd.nextInt(40));
        }
        Map<String, Long> objects = new HashMap<>();
        String prefix = List.of("team-", "tenant-", "ns", "shop-").get(rnd.nextInt(4));
        for (int i = 0; i < 300 + rnd.nextInt(3000); i++) {
            objects.put(prefix + i, 1L + rnd.nextInt(20));
        }
        NamespaceWeights w = NamespaceWeights.ofNamespaces(objects);
        String why = "seed " + seed + " R=" + slots + " " + members;
        RangePlan plan = RangePlanner.plan(RangePlan.Input.coldStart(slots, members, w));
        assertThat(plan.withinBound()).as(why + " " + plan.loads()).isTrue();

        String joiner;
        do {
            joiner = "replica-" + rnd.nextInt(60);
        } while (members.contains(joiner));
        Set<String> more = new TreeSet<>(members);
        more.add(joiner);
        RangePlan joined = RangePlanner.plan(RangePlan.Input.after(plan, more, w));
        assertThat(joined.rangeChanged()).as(why + " join").isEmpty();
        assertThat(joined.withinBound()).as(why + " join " + joined.loads()).isTrue();
        long maxSlot = plan.layout().stream().mapToLong(w::weightIn).max().orElse(0);
        Map<String, Long> given = new HashMap<>();
        for (int s : joined.ownerChanged()) {
            assertThat(joined.owners().get(s)).as(why + " join").isEqualTo(joiner);
            given.merge(plan.owners().get(s), w.weightIn(plan.layout().get(s)), Long::sum);
        }
        // Nobody gives more than its excess over the mean plus one slot, and the joiner took what evens it.
        long mean = w.total() / more.size();
        given.forEach((m, g) -> assertThat(g).as(why + " join " + m).isLessThan(Math.max(0, plan.loads().get(m) - mean) + maxSlot + 1));
        assertEvened(joined, w, Set.of(joiner), why + " join");

        String leaver = new ArrayList<>(members).get(rnd.nextInt(members.size()));
        Set<String> fewer = new TreeSet<>(members);
        fewer.remove(leaver);
        RangePlan left = RangePlanner.plan(RangePlan.Input.after(plan, fewer, w));
        assertThat(left.rangeChanged()).as(why + " leave").isEmpty();
        assertThat(left.ownerChanged()).as(why + " leave").isEqualTo(new TreeSet<>(slotsOf(plan, leaver)));
        assertThat(left.withinBound()).as(why + " leave " + left.loads()).isTrue();
    }

    /**
     * No slot of a member more loaded than the least-loaded of {@code receivers} would, moved to
     * it, lower the larger of the two loads while keeping the receiver within its bound and the
     * giver within the lowest bound any member has: the plan evened the group as far as whole
     * slots allow, not merely to the bound.
     */
    private static void assertEvened(RangePlan plan, NamespaceWeights w, Set<String> receivers, String why) {
        Map<String, Long> loads = plan.loads();
        String to = receivers.stream().min(Comparator.<String>comparingLong(loads::get).thenComparing(Comparator.naturalOrder())).orElseThrow();
        long lowestBound = plan.allowed().values().stream().mapToLong(Long::longValue).min().orElseThrow();
        for (Map.Entry<Integer, String> e : plan.owners().entrySet()) {
            String from = e.getValue();
            long gap = loads.get(from) - loads.get(to);
            long weight = w.weightIn(plan.layout().get(e.getKey()));
            boolean evens = !from.equals(to) && weight > 0 && weight < gap;
            assertThat(evens && loads.get(to) + weight <= plan.allowed().get(to) && loads.get(from) - weight <= lowestBound)
                    .as(why + ": slot " + e.getKey() + " (" + weight + " objects) of " + from + " would even it with " + to + ", loads " + loads)
                    .isFalse();
        }
    }

    private static void checkWellFormed(Case c, RangePlan plan, NamespaceWeights w, Set<String> members) {
        String why = "seed " + c.seed();
        assertThat(plan.layout()).as(why).hasSize(c.slots());
        // The ranges in hash order tile [0, 2^64) with no gap and no overlap.
        List<HashRange> sorted = new ArrayList<>(plan.layout());
        sorted.sort(Comparator.comparing(HashRange::start));
        BigInteger next = BigInteger.ZERO;
        for (HashRange r : sorted) {
            assertThat(r.start()).as(why + " " + r).isEqualTo(next);
            next = r.end();
        }
        assertThat(next).as(why).isEqualTo(BigInteger.ONE.shiftLeft(64));
        // So each namespace lies in exactly one slot: none is split, and the loads add up.
        int[] slotOf = slotOfEach(plan, w);
        for (int i = 0; i < w.size(); i++) {
            assertThat(plan.layout().get(slotOf[i]).contains(w.hash(i))).as(why).isTrue();
        }
        assertThat(plan.owners().keySet()).as(why).hasSize(c.slots());
        assertThat(members).as(why).containsAll(plan.owners().values());
        assertThat(plan.loads()).as(why).isEqualTo(loads(plan, w));
        assertThat(plan.loads().values().stream().mapToLong(Long::longValue).sum()).as(why).isEqualTo(w.total());
        // The per-member bound, computed here from its definition.
        Map<String, Long> tops = new HashMap<>();
        members.forEach(m -> tops.put(m, 0L));
        for (int i = 0; i < w.size(); i++) {
            tops.merge(plan.owners().get(slotOf[i]), w.weight(i), Math::max);
        }
        Oracle oracle = Oracle.of(w, members.size());
        for (String m : members) {
            assertThat(plan.allowed().get(m)).as(why + " allowed " + m).isEqualTo(oracle.allowed(tops.get(m)));
            assertThat(plan.allowed().get(m)).as(why).isLessThanOrEqualTo(plan.maxLoadAllowed());
        }
    }

    /** The slot each namespace (by index in {@code w}) falls in, by binary search over the ranges in hash order. */
    private static int[] slotOfEach(RangePlan plan, NamespaceWeights w) {
        Integer[] order = new Integer[plan.layout().size()];
        for (int s = 0; s < order.length; s++) {
            order[s] = s;
        }
        Arrays.sort(order, Comparator.comparing((Integer s) -> plan.layout().get(s).first(), Long::compareUnsigned));
        int[] slotOf = new int[w.size()];
        for (int i = 0; i < w.size(); i++) {
            int lo = 0;
            int hi = order.length - 1;
            while (lo < hi) { // the last range whose first hash is not above the namespace's
                int mid = (lo + hi + 1) >>> 1;
                if (Long.compareUnsigned(plan.layout().get(order[mid]).first(), w.hash(i)) <= 0) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            slotOf[i] = order[lo];
        }
        return slotOf;
    }

    /**
     * What a member whose heaviest namespace weighs {@code top} may hold: giants (heavier than the
     * mean of what the other members would share) are set aside, m' is the mean of the rest, and the
     * bound is max(top, m') + 10% of m'.
     */
    static long oracleAllowed(NamespaceWeights w, Set<String> members, long top) {
        return Oracle.of(w, members.size()).allowed(top);
    }

    /** The objects and members left once the giants are set aside. */
    record Oracle(long rest, long n) {

        static Oracle of(NamespaceWeights w, int members) {
            List<Long> sorted = new ArrayList<>();
            for (int i = 0; i < w.size(); i++) {
                sorted.add(w.weight(i));
            }
            sorted.sort(Comparator.reverseOrder());
            long rest = w.total();
            long n = members;
            for (long x : sorted) {
                if (n > 1 && x * n > rest) {
                    rest -= x;
                    n--;
                } else {
                    break;
                }
            }
            return new Oracle(rest, n);
        }

        long allowed(long top) {
            BigDecimal mean = BigDecimal.valueOf(rest).divide(BigDecimal.valueOf(n), 30, RoundingMode.FLOOR);
            BigDecimal slack = mean.multiply(BigDecimal.valueOf(RangePlan.Input.DEFAULT_TOLERANCE));
            return mean.max(BigDecimal.valueOf(top)).add(slack).setScale(0, RoundingMode.FLOOR).longValueExact();
        }
    }

    /** Whether slots {@code items[i..]} (weight, heaviest namespace) can all go to members within their bounds. */
    private static boolean placeable(List<long[]> items, int i, long[] load, long[] tops, Oracle oracle) {
        if (i == items.size()) {
            return true;
        }
        long[] item = items.get(i);
        for (int m = 0; m < load.length; m++) {
            long top = Math.max(tops[m], item[1]);
            if (load[m] + item[0] <= oracle.allowed(top)) {
                long oldTop = tops[m];
                load[m] += item[0];
                tops[m] = top;
                boolean ok = placeable(items, i + 1, load, tops, oracle);
                load[m] -= item[0];
                tops[m] = oldTop;
                if (ok) {
                    return true;
                }
            }
        }
        return false;
    }

    private static long topOf(RangePlan plan, String member, NamespaceWeights w) {
        int[] slotOf = slotOfEach(plan, w);
        long top = 0;
        for (int i = 0; i < w.size(); i++) {
            if (plan.owners().get(slotOf[i]).equals(member)) {
                top = Math.max(top, w.weight(i));
            }
        }
        return top;
    }

    private static long top(NamespaceWeights w, HashRange r) {
        long top = 0;
        for (int i = 0; i < w.size(); i++) {
            if (r.contains(w.hash(i))) {
                top = Math.max(top, w.weight(i));
            }
        }
        return top;
    }

    private static Map<String, Long> loads(RangePlan plan, NamespaceWeights w) {
        Map<String, Long> loads = new TreeMap<>();
        plan.loads().keySet().forEach(m -> loads.put(m, 0L));
        plan.owners().forEach((s, m) -> loads.merge(m, w.weightIn(plan.layout().get(s)), Long::sum));
        return loads;
    }

    private static Set<Integer> slotsOf(RangePlan plan, String member) {
        Set<Integer> slots = new HashSet<>();
        plan.owners().forEach((s, m) -> {
            if (m.equals(member)) {
                slots.add(s);
            }
        });
        return slots;
    }

    private static long ceilDiv(long a, long b) {
        return Math.ceilDiv(a, b);
    }
}
