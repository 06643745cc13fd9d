package dev.flotilla.sharding;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;

/**
 * Plans object-weighted hash ranges: R slots whose ranges partition the namespace hash space,
 * each owned by a live member, so that members hold about the same number of OBJECTS (not
 * slots). A namespace is indivisible: all its objects share one hash. Pure and deterministic
 * (ties go to the lower slot index, the lower hash, then the member name), so a newly elected
 * coordinator computes the same plan from the same Leases.
 *
 * <p>The balance bound. Namespaces heavier than the mean of what is left once they are set
 * aside (each on a member of its own) are "giants"; the rest is shared by the other members, with
 * mean {@code m'} (the plain mean when there are no giants). A member may hold
 * {@code max(its heaviest namespace, m') + tolerance * m'} objects: {@code (1 + tolerance) * mean}
 * when there are no giants, and a giant's holder little beyond the giant. This is never above the
 * group bound {@code max(largest namespace, mean) + tolerance * mean}
 * ({@link RangePlan#maxLoadAllowed()}), and unlike that bound it keeps the other members balanced
 * when one namespace alone exceeds the mean.
 *
 * <p>Each change of a slot's range or owner is a fenced handover, so the planner changes as little
 * as it can, in this order:
 * <ol>
 *   <li>No layout yet (or one of another slot count): a new layout, ranges of about total/R objects
 *       (consecutive namespaces packed up to the least capacity that needs no more than R ranges,
 *       spare slots splitting the heaviest ranges at their weighted median), a namespace heavier than
 *       total/R alone in its range where the slot count allows; slots are then dealt heaviest first
 *       to the least-loaded member (LPT). With no objects known at all the layout is
 *       {@link ShardSpace}'s equal-width one and owners follow {@link ShardAssigner}, so an unloaded
 *       group behaves as before.</li>
 *   <li>All slots owned by live members and every member within its bound: nothing changes
 *       (but for a joiner, which gets its share: a member joining a group of 10 or more leaves
 *       everyone within the default 10%).</li>
 *   <li>Otherwise owners move first: the slots of members that left go heaviest first to the
 *       least-loaded member; then while a member is over its bound, one of its slots moves to the
 *       least-loaded member that has not given in this pass (after a join: to the joiner). The move
 *       preferred leaves the receiver within its bound and the giver at or above the mean: the
 *       smallest such slot that brings the giver within its bound, else the largest such slot.
 *       The bound is when to act, not where to stop: once a member is over it (or a member
 *       joined, or at a cold start), slots go on moving from the most loaded member to the
 *       least-loaded one (after a join: to the joiner) while that lowers the larger of the two
 *       loads, so the plan evens the group as far as whole slots allow (50 namespaces of 100
 *       objects on two members: 2,500 / 2,500, where stopping at the bound left 2,700 / 2,300).
 *       Failing a single move, a swap also returns to the giver a slot the receiver was to take
 *       from it; a member holding a giant it cannot give lets the next member give. After a join
 *       the others move only if the joiner's share leaves a member over its bound. A leave whose
 *       slots fit within the bound moves only them.</li>
 *   <li>Only when moving owners cannot meet the bound do ranges change: a slot of the member most
 *       over its bound is cut in two (a piece of about what evens it with the least-loaded member,
 *       or else at the weighted median) and the lightest pair of adjacent ranges is merged to free a
 *       slot for the piece. A step is kept only if it lowers the loads (sorted, compared from the
 *       top), and steps repeat while at most {@code maxRangeChanges} slots change range in this
 *       plan; {@link RangePlan#capped()} says when that cap stopped it.</li>
 *   <li>A member that joined also gets empty slots (no objects move) from the member with the most
 *       slots until their counts differ by at most one: a member's slots are its Leases and informers,
 *       and all of them move when it fails.</li>
 * </ol>
 *
 * <pre>{@code
 * NamespaceWeights weights = NamespaceWeights.ofNamespaces(Map.of("team-01", 10L, "team-02", 10L, "team-03", 10L));
 * RangePlan first = RangePlanner.plan(RangePlan.Input.coldStart(32, Set.of("a", "b", "c"), weights));
 * RangePlan afterLeave = RangePlanner.plan(RangePlan.Input.after(first, Set.of("a", "b"), weights));
 * // afterLeave.ownerChanged() holds only the slots that "c" owned; afterLeave.rangeChanged() is empty.
 * }</pre>
 */
public final class RangePlanner {

    private static final BigInteger TWO_TO_64 = BigInteger.ONE.shiftLeft(64);
    private static final BigInteger MAX_HASH = TWO_TO_64.subtract(BigInteger.ONE);
    /** Split candidates (the over-bound member's heaviest splittable slots) tried per re-split step. */
    private static final int SPLIT_CANDIDATES = 2;
    /** Merge candidates (lightest adjacent pairs) tried per split candidate. */
    private static final int MERGE_CANDIDATES = 4;

    private RangePlanner() {
    }

    /** The plan for {@code input}; see the class comment for what it decides and in which order. */
    public static RangePlan plan(RangePlan.Input input) {
        return new Run(input).plan();
    }

    /** One planning run: the input's derived values and the working state. Not shared. */
    private static final class Run {
        private final RangePlan.Input input;
        private final int slots;
        private final String[] members;
        /** Hashes of positive weight, ascending unsigned, with their weights and prefix sums. */
        private final long[] hashes;
        private final long[] weights;
        private final long[] prefix;
        /** Range-maximum tree over {@link #weights}: leaves at [n, 2n). */
        private final long[] maxTree;
        private final long total;
        /** The group bound: floor(max(largest, mean) + tolerance * mean). */
        private final long groupBound;
        /** Objects and members left once the giants are set aside, and their floor mean m'. */
        private final long restTotal;
        private final long restMembers;
        private final long restMean;
        /** floor((1 + tolerance) * m') and floor(tolerance * m'). */
        private final long allowedBase;
        private final long allowedAboveTop;
        /** Per member: held a slot when this plan began (none at a cold start); the others are joiners. */
        private final boolean[] heldBefore;

        Run(RangePlan.Input input) {
            this.input = input;
            this.slots = input.slots();
            this.members = input.members().toArray(String[]::new); // sorted: Input keeps a sorted set
            NamespaceWeights w = input.weights();
            int positive = 0;
            for (int i = 0; i < w.size(); i++) {
                if (w.weight(i) > 0) {
                    positive++;
                }
            }
            // Zero-weight namespaces carry no load, so they never need a boundary of their own.
            hashes = new long[positive];
            weights = new long[positive];
            prefix = new long[positive + 1];
            int j = 0;
            for (int i = 0; i < w.size(); i++) {
                if (w.weight(i) > 0) {
                    hashes[j] = w.hash(i);
                    weights[j] = w.weight(i);
                    prefix[j + 1] = prefix[j] + weights[j];
                    j++;
                }
            }
            maxTree = new long[2 * positive];
            System.arraycopy(weights, 0, maxTree, positive, positive);
            for (int i = positive - 1; i > 0; i--) {
                maxTree[i] = Math.max(maxTree[2 * i], maxTree[2 * i + 1]);
            }
            total = prefix[positive];
            int n = Math.max(1, members.length);
            double tolerance = input.tolerance();
            groupBound = floorOf(BigDecimal.valueOf(w.largest()).multiply(BigDecimal.valueOf(n)).max(BigDecimal.valueOf(total))
                    .add(BigDecimal.valueOf(tolerance).multiply(BigDecimal.valueOf(total))), n);
            // Giants: heaviest first, each heavier than the mean of what the members left would share.
            long[] sorted = weights.clone();
            Arrays.sort(sorted);
            long rest = total;
            long restN = n;
            for (int i = sorted.length - 1; i >= 0 && restN > 1 && sorted[i] > rest / restN; i--) {
                rest -= sorted[i];
                restN--;
            }
            restTotal = rest;
            restMembers = restN;
            restMean = rest / restN;
            allowedBase = floorOf(BigDecimal.valueOf(rest).multiply(BigDecimal.ONE.add(BigDecimal.valueOf(tolerance))), restN);
            allowedAboveTop = floorOf(BigDecimal.valueOf(rest).multiply(BigDecimal.valueOf(tolerance)), restN);
            heldBefore = new boolean[members.length];
        }

        private static long floorOf(BigDecimal numerator, long denominator) {
            BigDecimal q = numerator.divide(BigDecimal.valueOf(denominator), 0, RoundingMode.FLOOR);
            return q.min(BigDecimal.valueOf(Long.MAX_VALUE)).longValueExact();
        }

        /** What a member whose heaviest namespace weighs {@code top} may hold. */
        private long allowed(long top) {
            // top > floor(rest/n) <=> top > rest/n for integers: the member holds a giant (or the like).
            return top > restTotal / restMembers ? top + allowedAboveTop : allowedBase;
        }

        RangePlan plan() {
            List<HashRange> current = input.layout();
            boolean fresh = current.size() != slots; // includes the cold start (empty layout)
            HashRange[] ranges = fresh
                    ? (total == 0 ? equalWidth(slots) : weightedLayout())
                    : current.toArray(HashRange[]::new);
            if (members.length == 0) {
                return result(ranges, new int[0], false, fresh);
            }
            if (total == 0) {
                // Nothing to weigh: balance slot counts exactly as the count-based assigner does.
                Map<Integer, String> keep = fresh ? Map.of() : liveOwners();
                Map<Integer, String> byCount = ShardAssigner.plan(slots, keep, input.members());
                Map<String, Integer> index = memberIndex();
                int[] owner = new int[slots];
                byCount.forEach((slot, m) -> owner[slot] = index.get(m));
                return result(ranges, owner, false, fresh);
            }
            State st = new State(ranges, members.length);
            for (int s = 0; s < slots; s++) {
                st.weight[s] = weightIn(ranges[s]);
                st.top[s] = topIn(ranges[s]);
            }
            if (!fresh) {
                Map<String, Integer> index = memberIndex();
                liveOwners().forEach((slot, m) -> st.assign(slot, index.get(m)));
                System.arraycopy(st.owner, 0, st.origin, 0, slots);
                for (int o : st.origin) {
                    if (o >= 0) {
                        heldBefore[o] = true;
                    }
                }
                if (st.allOwned() && mostOver(st, st.memberTops()) < 0) {
                    // A member joining 10 or more leaves everyone within the 10% bound: it still gets load.
                    even(st, false);
                    evenEmptySlots(st);
                    return result(st.ranges, st.owner, false, false);
                }
            }
            assignFree(st);
            // The bound says when to act; once a member is over it, the plan evens the group as far as
            // whole ranges allow. A leave whose ranges fit within the bound moves only them.
            boolean overBound = mostOver(st, st.memberTops()) >= 0;
            rebalance(st);
            even(st, overBound);
            State out = st;
            boolean capped = false;
            if (mostOver(st, st.memberTops()) >= 0) {
                Improved improved = resplit(st, fresh);
                out = improved.state();
                capped = improved.capped();
                even(out, true);
            }
            evenEmptySlots(out);
            return result(out.ranges, out.owner, capped, fresh);
        }

        /**
         * Moves empty slots (no objects, so no load moves) from the member with the most slots to a
         * member that joined (held nothing before this plan) while it has the fewest and their counts
         * differ by more than one. A member's slots are its Leases and its informers, and a failover
         * moves all of them: weighting alone piles empty ranges on long-lived members (one held 20
         * of 32 after a series of failovers, and its SIGKILL took 1.3 s longer to hand over). Only
         * toward a joiner, which receives anyway: a leave or a change of objects moves nothing more
         * for it, and a settled group never.
         */
        private void evenEmptySlots(State st) {
            boolean[] held = new boolean[st.count.length];
            for (int o : st.origin) {
                if (o >= 0) {
                    held[o] = true;
                }
            }
            while (true) {
                int most = 0;
                int fewest = -1; // among the joiners
                for (int m = 0; m < st.count.length; m++) {
                    if (st.count[m] > st.count[most]) {
                        most = m;
                    }
                    if (!held[m] && (fewest < 0 || st.count[m] < st.count[fewest])) {
                        fewest = m;
                    }
                }
                if (fewest < 0 || st.count[most] - st.count[fewest] <= 1) {
                    return;
                }
                int empty = -1;
                for (int s = 0; s < slots; s++) {
                    // The last empty slot of the fullest member: a move it already has planned (to it) goes first.
                    if (st.owner[s] == most && st.weight[s] == 0 && (empty < 0 || st.handoverDelta(s, fewest) < st.handoverDelta(empty, fewest))) {
                        empty = s;
                    }
                }
                if (empty < 0) {
                    return;
                }
                st.assign(empty, fewest);
            }
        }

        private Map<Integer, String> liveOwners() {
            Map<Integer, String> live = new HashMap<>();
            Set<String> m = input.members();
            input.owners().forEach((slot, owner) -> {
                if (m.contains(owner)) {
                    live.put(slot, owner);
                }
            });
            return live;
        }

        private Map<String, Integer> memberIndex() {
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < members.length; i++) {
                index.put(members[i], i);
            }
            return index;
        }

        private RangePlan result(HashRange[] ranges, int[] owner, boolean capped, boolean fresh) {
            Map<Integer, String> owners = new HashMap<>();
            for (int s = 0; s < owner.length; s++) {
                owners.put(s, members[owner[s]]);
            }
            TreeSet<Integer> rangeChanged = new TreeSet<>();
            TreeSet<Integer> ownerChanged = new TreeSet<>();
            for (int s = 0; s < slots; s++) {
                if (fresh || !ranges[s].equals(input.layout().get(s))) {
                    rangeChanged.add(s);
                }
                if (owners.containsKey(s) && !owners.get(s).equals(input.owners().get(s))) {
                    ownerChanged.add(s);
                }
            }
            Map<String, Long> loads = new HashMap<>();
            Map<String, Long> tops = new HashMap<>();
            for (String m : members) {
                loads.put(m, 0L);
                tops.put(m, 0L);
            }
            owners.forEach((slot, m) -> {
                loads.merge(m, weightIn(ranges[slot]), Long::sum);
                tops.merge(m, topIn(ranges[slot]), Math::max);
            });
            Map<String, Long> allowed = new HashMap<>();
            tops.forEach((m, top) -> allowed.put(m, allowed(top)));
            return new RangePlan(List.of(ranges), owners, rangeChanged, ownerChanged, loads, allowed, groupBound, capped);
        }

        // ---- weights of ranges ------------------------------------------------------------------

        private long weightIn(HashRange r) {
            return prefix[upper(r.last())] - prefix[lower(r.first())];
        }

        /** The heaviest namespace in {@code r} (0 when none). */
        private long topIn(HashRange r) {
            int n = weights.length;
            long max = 0;
            for (int lo = lower(r.first()) + n, hi = upper(r.last()) + n; lo < hi; lo >>= 1, hi >>= 1) {
                if ((lo & 1) == 1) {
                    max = Math.max(max, maxTree[lo++]);
                }
                if ((hi & 1) == 1) {
                    max = Math.max(max, maxTree[--hi]);
                }
            }
            return max;
        }

        /** First positive-weight index whose hash is not below {@code hash}. */
        private int lower(long hash) {
            int lo = 0;
            int hi = hashes.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (Long.compareUnsigned(hashes[mid], hash) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

        /** First positive-weight index whose hash is above {@code hash}. */
        private int upper(long hash) {
            int lo = 0;
            int hi = hashes.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (Long.compareUnsigned(hashes[mid], hash) <= 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

        // ---- layouts ----------------------------------------------------------------------------

        /** ShardSpace's ranges: slot i = [ceil(i*2^64/R), ceil((i+1)*2^64/R)). */
        private static HashRange[] equalWidth(int r) {
            ShardSpace space = new ShardSpace(r);
            HashRange[] ranges = new HashRange[r];
            for (int i = 0; i < r; i++) {
                ranges[i] = HashRange.of(space, i);
            }
            return ranges;
        }

        /**
         * A new layout from the weights: groups of consecutive namespaces of at most C objects with C
         * the least that needs no more than R groups (heavy namespaces alone), spare slots first
         * splitting the heaviest groups, then as empty ranges in the widest gaps between namespaces,
         * where namespaces not seen yet are most likely to land.
         */
        private HashRange[] weightedLayout() {
            int n = hashes.length;
            boolean[] alone = isolateHeavy();
            long capacity;
            if (countGroups(0, alone) <= slots) {
                capacity = 0;
            } else {
                long lo = 0;      // too small
                long hi = total;  // enough: everything not alone fits one group
                while (hi - lo > 1) {
                    long mid = lo + (hi - lo) / 2;
                    if (countGroups(mid, alone) <= slots) {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                capacity = hi;
            }
            List<int[]> groups = groups(capacity, alone);
            // Spare slots split the heaviest groups of two or more namespaces, halving their weight.
            PriorityQueue<int[]> splittable = new PriorityQueue<>(
                    Comparator.<int[]>comparingLong(g -> -(prefix[g[1]] - prefix[g[0]])).thenComparingInt(g -> g[0]));
            List<int[]> done = new ArrayList<>();
            for (int[] g : groups) {
                (g[1] - g[0] >= 2 ? splittable : done).add(g);
            }
            int spare = slots - groups.size();
            while (spare > 0 && !splittable.isEmpty()) {
                int[] g = splittable.poll();
                int cut = bestSplit(g[0], g[1]);
                for (int[] half : List.of(new int[] {g[0], cut}, new int[] {cut, g[1]})) {
                    (half[1] - half[0] >= 2 ? splittable : done).add(half);
                }
                spare--;
            }
            done.addAll(splittable);
            // cutsIn[j]: boundaries placed in gap j (0: below the first hash, n: above the last).
            int[] cutsIn = new int[n + 1];
            for (int[] g : done) {
                if (g[0] > 0) {
                    cutsIn[g[0]]++;
                }
            }
            BigInteger[] room = new BigInteger[n + 1];
            for (int j = 0; j <= n; j++) {
                room[j] = gapRoom(j);
            }
            if (spare > 0) {
                // Widest gap per boundary already in it first; ties to the lower gap.
                PriorityQueue<Integer> gaps = new PriorityQueue<>((a, b) -> {
                    int c = room[b].multiply(BigInteger.valueOf(cutsIn[a] + 1L))
                            .compareTo(room[a].multiply(BigInteger.valueOf(cutsIn[b] + 1L)));
                    return c != 0 ? c : Integer.compare(a, b);
                });
                for (int j = 0; j <= n; j++) {
                    if (room[j].compareTo(BigInteger.valueOf(cutsIn[j])) > 0) {
                        gaps.add(j);
                    }
                }
                while (spare > 0) {
                    int j = gaps.poll(); // never empty: the space holds 2^64-1 possible boundaries
                    cutsIn[j]++;
                    spare--;
                    if (room[j].compareTo(BigInteger.valueOf(cutsIn[j])) > 0) {
                        gaps.add(j);
                    }
                }
            }
            List<BigInteger> starts = new ArrayList<>();
            starts.add(BigInteger.ZERO);
            for (int j = 0; j <= n; j++) {
                int k = cutsIn[j];
                BigInteger below = j == 0 ? BigInteger.ZERO : HashRange.unsigned(hashes[j - 1]);
                BigInteger spread = room[j].subtract(BigInteger.valueOf(k));
                for (int i = 1; i <= k; i++) {
                    // Boundaries evenly through the gap, each at least one hash past the last.
                    BigInteger step = spread.multiply(BigInteger.valueOf(i)).divide(BigInteger.valueOf(k + 1L));
                    starts.add(below.add(BigInteger.valueOf(i)).add(step));
                }
            }
            HashRange[] ranges = new HashRange[slots];
            for (int s = 0; s < slots; s++) {
                BigInteger end = s + 1 < slots ? starts.get(s + 1) : TWO_TO_64;
                ranges[s] = HashRange.ofExclusive(starts.get(s), end);
            }
            return ranges;
        }

        /** How many boundaries fit in gap j: the hash values a range could start at there. */
        private BigInteger gapRoom(int j) {
            int n = hashes.length;
            if (j == 0) {
                return HashRange.unsigned(hashes[0]);             // starts 1..h[0]
            }
            if (j == n) {
                return MAX_HASH.subtract(HashRange.unsigned(hashes[n - 1])); // starts h[n-1]+1..2^64-1
            }
            return HashRange.unsigned(hashes[j]).subtract(HashRange.unsigned(hashes[j - 1]));
        }

        /**
         * Marks the namespaces heavier than total/R that get a range of their own: all of them when
         * the slot count allows (each may also cut its neighbours into one more run), else the heaviest
         * that fit.
         */
        private boolean[] isolateHeavy() {
            int n = hashes.length;
            long threshold = total / slots; // w > total/R  <=>  w > floor(total/R) for integers
            List<Integer> heavy = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (weights[i] > threshold) {
                    heavy.add(i);
                }
            }
            heavy.sort(Comparator.<Integer>comparingLong(i -> -weights[i]).thenComparingInt(i -> i));
            int lo = 0;
            int hi = heavy.size();
            while (lo < hi) { // the largest k whose isolation needs at most R groups; monotone in k
                int mid = (lo + hi + 1) >>> 1;
                if (countGroups(Long.MAX_VALUE, mark(heavy, mid)) <= slots) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            return mark(heavy, lo);
        }

        private boolean[] mark(List<Integer> heavy, int k) {
            boolean[] alone = new boolean[hashes.length];
            for (int i = 0; i < k; i++) {
                alone[heavy.get(i)] = true;
            }
            return alone;
        }

        private int countGroups(long capacity, boolean[] alone) {
            return groups(capacity, alone).size();
        }

        /** Greedy left-to-right groups of at most {@code capacity}; marked or larger namespaces alone. */
        private List<int[]> groups(long capacity, boolean[] alone) {
            List<int[]> out = new ArrayList<>();
            int start = -1;
            long sum = 0;
            for (int i = 0; i < hashes.length; i++) {
                if (alone[i] || weights[i] > capacity) {
                    if (start >= 0) {
                        out.add(new int[] {start, i});
                    }
                    out.add(new int[] {i, i + 1});
                    start = -1;
                    sum = 0;
                    continue;
                }
                if (start >= 0 && sum + weights[i] > capacity) {
                    out.add(new int[] {start, i});
                    start = -1;
                    sum = 0;
                }
                if (start < 0) {
                    start = i;
                }
                sum += weights[i];
            }
            if (start >= 0) {
                out.add(new int[] {start, hashes.length});
            }
            return out;
        }

        /** The index in (from, to) that splits namespaces [from, to) into the most even halves. */
        private int bestSplit(int from, int to) {
            // First cut whose left half reaches half the weight; it or the cut before it is best.
            int lo = from + 1;
            int hi = to - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (prefix[mid] - prefix[from] >= prefix[to] - prefix[mid]) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            int best = lo;
            if (lo - 1 > from && worseHalf(from, lo - 1, to) <= worseHalf(from, lo, to)) {
                best = lo - 1;
            }
            return best;
        }

        private long worseHalf(int from, int cut, int to) {
            return Math.max(prefix[cut] - prefix[from], prefix[to] - prefix[cut]);
        }

        // ---- owners -----------------------------------------------------------------------------

        /** The member furthest over its bound (ties: first by name), or -1 when every member is within. */
        private int mostOver(State st, long[] tops) {
            int worst = -1;
            long worstExcess = 0;
            for (int m = 0; m < members.length; m++) {
                long excess = st.load[m] - allowed(tops[m]);
                if (excess > worstExcess) {
                    worst = m;
                    worstExcess = excess;
                }
            }
            return worst;
        }

        /**
         * Unowned slots, heaviest first, each to the least-loaded member it fits within that
         * member's bound, or to the least-loaded member when it fits none (LPT that respects the bound).
         */
        private void assignFree(State st) {
            List<Integer> free = new ArrayList<>();
            for (int s = 0; s < slots; s++) {
                if (st.owner[s] < 0) {
                    free.add(s);
                }
            }
            free.sort(Comparator.<Integer>comparingLong(s -> -st.weight[s]).thenComparingInt(s -> s));
            long[] tops = st.memberTops();
            for (int s : free) {
                int to;
                if (st.weight[s] == 0) {
                    to = st.fewestSlots(); // empty ranges carry no load now but catch new namespaces
                } else {
                    boolean[] full = new boolean[members.length];
                    for (int m = 0; m < members.length; m++) {
                        full[m] = st.load[m] + st.weight[s] > allowed(Math.max(tops[m], st.top[s]));
                    }
                    to = st.lightest(full);
                    if (to < 0) {
                        to = st.lightest(null);
                    }
                }
                st.assign(s, to);
                tops[to] = Math.max(tops[to], st.top[s]);
            }
        }

        /**
         * While a member is over its bound, moves one of its slots to the least-loaded member that
         * has not given in this pass, or else to the least-loaded member. Every move leaves the
         * larger of the pair's loads below the giver's, so the sum of squared loads falls and this
         * ends; it stops early when no move helps.
         */
        private void rebalance(State st) {
            // A member that gave does not receive in the same pass, so load flows one way: from the
            // members over their bound to the others (to the joiner, after a join).
            boolean[] gave = new boolean[members.length];
            long guard = (long) slots * (members.length + 1) + 16;
            while (guard-- > 0) {
                long[] tops = st.memberTops();
                int m = mostOver(st, tops);
                if (m < 0) {
                    return;
                }
                int t = st.lightest(gave);
                int best = t < 0 || t == m ? -1 : bestMove(st, tops, m, t);
                if (best < 0) {
                    t = st.lightest(null);
                    best = t == m ? -1 : bestMove(st, tops, m, t);
                }
                if (best < 0) {
                    return;
                }
                st.assign(best, t);
                gave[m] = true;
            }
        }

        /**
         * Goes on moving slots from a more loaded member (the most loaded first that has such a
         * move) to the least-loaded receiver while a move lowers the larger of the pair's loads,
         * leaves the receiver within its bound and puts no giver newly over its own; failing a
         * single move, a swap that also gives the receiver's slot from that member back (at no
         * handover). Receivers are the joiners (members that held nothing when the plan began,
         * every member at a cold start); then, with {@code anyMember}, every member, if there was
         * no joiner or a member is still over its bound. The bound says when a group must change;
         * once a plan changes it anyway, stopping at the bound left it up to the tolerance above
         * the mean for good (two replicas at 2,700 / 2,300 objects, so the pair ran at 5,000 /
         * 2,700 = 1.85 times one replica at best). Each move lowers the sum of squared loads, so
         * this ends, and a giver gives at most its excess over the mean plus one slot.
         */
        private void even(State st, boolean anyMember) {
            boolean joined = false;
            for (boolean h : heldBefore) {
                joined |= !h;
            }
            if (joined) {
                evenToward(st, heldBefore);
            }
            // A joiner full to its bound can leave a member over it and another well under: that
            // evens between them, as the next plan would.
            if (anyMember && (!joined || mostOver(st, st.memberTops()) >= 0)) {
                evenToward(st, new boolean[members.length]);
            }
        }

        /** {@link #even}'s moves, to the members not marked in {@code notReceiving}. */
        private void evenToward(State st, boolean[] notReceiving) {
            long guard = (long) slots * members.length + 16;
            while (guard-- > 0) {
                int t = st.lightest(notReceiving); // the lightest receiver
                Integer[] givers = new Integer[members.length];
                for (int i = 0; i < givers.length; i++) {
                    givers[i] = i;
                }
                // Most loaded first (ties to the lower index): with a giant namespace the most loaded
                // member cannot give it, and the others still even.
                Arrays.sort(givers, Comparator.<Integer>comparingLong(i -> -st.load[i]).thenComparingInt(i -> i));
                boolean moved = false;
                for (int m : givers) {
                    if (st.load[m] <= st.load[t]) {
                        break;
                    }
                    if (m != t && evenPair(st, m, t)) {
                        moved = true;
                        break;
                    }
                }
                if (!moved) {
                    return;
                }
            }
        }

        /**
         * One move from {@code m} to {@code t} that lowers the larger of their loads: a slot of
         * m, or failing one a swap that also gives t's slot from m back to it (in this plan it came
         * from m, so returning it cancels a handover, and after a join every handover still goes to
         * the joiner); it evens by the difference of the two. False when none is allowed.
         */
        private boolean evenPair(State st, int m, int t) {
            long gap = st.load[m] - st.load[t];
            List<Integer> given = new ArrayList<>();
            List<Integer> back = new ArrayList<>();
            for (int s = 0; s < slots; s++) {
                if (st.owner[s] == m && st.weight[s] > 0) {
                    given.add(s);
                } else if (st.owner[s] == t && st.origin[s] == m) {
                    back.add(s);
                }
            }
            Tops mTops = tops(st, m);
            Tops tTops = tops(st, t);
            boolean mWasOver = st.load[m] > allowed(mTops.top());
            int best = -1;
            int bestBack = -1;
            long[] bestKey = null;
            for (int pass = 0; pass < 2 && best < 0; pass++) {
                List<Integer> backs = pass == 0 ? List.of(-1) : back;
                for (int s : given) {
                    for (int b : backs) {
                        long d = st.weight[s] - (b < 0 ? 0 : st.weight[b]);
                        if (d <= 0 || d >= gap) {
                            continue;
                        }
                        // Each side's heaviest namespace after the move decides its bound.
                        long tTop = Math.max(tTops.without(b), st.top[s]);
                        long mTop = Math.max(mTops.without(s), b < 0 ? 0 : st.top[b]);
                        if (st.load[t] + d > allowed(tTop) || (!mWasOver && st.load[m] - d > allowed(mTop))) {
                            continue;
                        }
                        long handovers = st.handoverDelta(s, t) + (b < 0 ? 0 : st.handoverDelta(b, m));
                        long[] key = {Math.max(st.load[m] - d, st.load[t] + d), handovers, s, b};
                        if (bestKey == null || Arrays.compare(key, bestKey) < 0) {
                            best = s;
                            bestBack = b;
                            bestKey = key;
                        }
                    }
                }
            }
            if (best < 0) {
                return false;
            }
            st.assign(best, t);
            if (bestBack >= 0) {
                st.assign(bestBack, m);
            }
            return true;
        }

        /** A member's heaviest namespace, the slot it is in, and the heaviest in its other slots. */
        private record Tops(long top, int slot, long second) {
            long without(int s) {
                return s == slot ? second : top;
            }
        }

        private Tops tops(State st, int member) {
            long top = 0;
            int slot = -1;
            long second = 0;
            for (int s = 0; s < slots; s++) {
                if (st.owner[s] != member) {
                    continue;
                }
                if (slot < 0 || st.top[s] > top) {
                    second = Math.max(second, top);
                    top = st.top[s];
                    slot = s;
                } else {
                    second = Math.max(second, st.top[s]);
                }
            }
            return new Tops(top, slot, second);
        }

        /**
         * The slot of {@code m} best moved to {@code t}, or -1 when none lowers the pair's larger
         * load. A clean move leaves {@code t} within its bound and {@code m} at or above both the
         * mean and {@code t}; among clean moves, fewest new handovers first (a slot already moving in
         * this plan moves again for free), then the smallest that brings {@code m} within its bound,
         * then the largest. Failing a clean move, the one that evens the pair best.
         */
        private int bestMove(State st, long[] tops, int m, int t) {
            long gap = st.load[m] - st.load[t];
            long excess = st.load[m] - allowed(tops[m]);
            int best = -1;
            long[] bestKey = null;
            for (int s = 0; s < slots; s++) {
                long w = st.weight[s];
                if (st.owner[s] != m || w <= 0 || w >= gap) {
                    continue;
                }
                long room = allowed(Math.max(tops[t], st.top[s])) - st.load[t];
                boolean clean = w <= room && st.load[m] - w >= Math.max(restMean, st.load[t] + w);
                long[] key = clean
                        ? new long[] {0, st.handoverDelta(s, t), w >= excess ? 0 : 1, w >= excess ? w : -w}
                        : new long[] {1, st.handoverDelta(s, t), 0, Math.max(st.load[m] - w, st.load[t] + w)};
                if (bestKey == null || Arrays.compare(key, bestKey) < 0) {
                    best = s;
                    bestKey = key;
                }
            }
            return best;
        }

        // ---- re-splitting -----------------------------------------------------------------------

        private record Improved(State state, boolean capped) {
        }

        /** A way to split slot {@code slot}: namespaces before {@code cut} go left; the piece side moves. */
        private record Split(int slot, int cut, boolean pieceIsLeft) {
        }

        /**
         * Split-and-merge steps while a member is over its bound, each kept only if it lowers the
         * sorted loads. On an existing layout at most maxRangeChanges slots change range in total.
         */
        private Improved resplit(State start, boolean fresh) {
            State st = start;
            BitSet changed = new BitSet(slots);
            int cap = fresh ? slots : input.maxRangeChanges();
            boolean capped = false;
            for (int round = 0; round < slots; round++) {
                long[] tops = st.memberTops();
                int m = mostOver(st, tops);
                if (m < 0) {
                    break;
                }
                capped = false;
                State next = null;
                BitSet nextChanged = null;
                List<int[]> pairs = lightestAdjacentPairs(st, changed);
                search:
                for (Split split : splits(st, m, tops)) {
                    int c = split.slot();
                    int tried = 0;
                    for (int[] pair : pairs) {
                        if (pair[0] == c || pair[1] == c) {
                            continue;
                        }
                        if (tried++ == MERGE_CANDIDATES) {
                            break;
                        }
                        BitSet touched = (BitSet) changed.clone();
                        touched.set(c);
                        touched.set(pair[0]);
                        touched.set(pair[1]);
                        if (!fresh && touched.cardinality() > cap) {
                            capped = true;
                            continue;
                        }
                        State trial = st.copy();
                        splitAndMerge(trial, split, pair[0], pair[1]);
                        rebalance(trial);
                        if (lowerLoads(trial, st)) {
                            next = trial;
                            nextChanged = touched;
                            break search;
                        }
                    }
                }
                if (next == null) {
                    break;
                }
                st = next;
                changed = nextChanged;
                capped = false;
            }
            return new Improved(st, capped && mostOver(st, st.memberTops()) >= 0);
        }

        /**
         * Candidate splits of {@code m}'s heaviest splittable slots: first a piece of about what
         * evens {@code m} with the least-loaded member (no more than m's excess), then the weighted median.
         */
        private List<Split> splits(State st, int m, long[] tops) {
            long excess = st.load[m] - allowed(tops[m]);
            long target = Math.min(excess, (st.load[m] - st.load[st.lightest(null)]) / 2);
            List<Integer> candidates = new ArrayList<>();
            for (int s = 0; s < slots; s++) {
                if (st.owner[s] == m && upper(st.ranges[s].last()) - lower(st.ranges[s].first()) >= 2) {
                    candidates.add(s);
                }
            }
            candidates.sort(Comparator.<Integer>comparingLong(s -> -st.weight[s]).thenComparingInt(s -> s));
            List<Split> out = new ArrayList<>();
            for (int c : candidates.subList(0, Math.min(SPLIT_CANDIDATES, candidates.size()))) {
                int from = lower(st.ranges[c].first());
                int to = upper(st.ranges[c].last());
                long weight = prefix[to] - prefix[from];
                int left = closestCut(from, to, target);
                int right = closestCut(from, to, weight - target);
                long leftMiss = Math.abs(prefix[left] - prefix[from] - target);
                long rightMiss = Math.abs(prefix[to] - prefix[right] - target);
                Split targeted = leftMiss <= rightMiss ? new Split(c, left, true) : new Split(c, right, false);
                int median = bestSplit(from, to);
                Split halves = new Split(c, median, prefix[median] - prefix[from] <= prefix[to] - prefix[median]);
                out.add(targeted);
                if (!halves.equals(targeted)) {
                    out.add(halves);
                }
            }
            return out;
        }

        /** The cut in (from, to) whose left part weighs closest to {@code target}; ties to the lower cut. */
        private int closestCut(int from, int to, long target) {
            int lo = from + 1;
            int hi = to - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (prefix[mid] - prefix[from] >= target) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            if (lo - 1 > from && Math.abs(prefix[lo - 1] - prefix[from] - target) <= Math.abs(prefix[lo] - prefix[from] - target)) {
                return lo - 1;
            }
            return lo;
        }

        /**
         * Pairs of slots adjacent in hash order: lightest combined weight first, then those that add
         * fewest slots to the ones already changing, then lower hashes.
         */
        private List<int[]> lightestAdjacentPairs(State st, BitSet changed) {
            Integer[] order = new Integer[slots];
            for (int s = 0; s < slots; s++) {
                order[s] = s;
            }
            Arrays.sort(order, Comparator.comparing((Integer s) -> st.ranges[s].first(), Long::compareUnsigned));
            List<int[]> pairs = new ArrayList<>();
            for (int i = 0; i + 1 < slots; i++) {
                int added = (changed.get(order[i]) ? 0 : 1) + (changed.get(order[i + 1]) ? 0 : 1);
                pairs.add(new int[] {order[i], order[i + 1], i, added});
            }
            pairs.sort(Comparator.<int[]>comparingLong(p -> st.weight[p[0]] + st.weight[p[1]])
                    .thenComparingInt(p -> p[3])
                    .thenComparingInt(p -> p[2]));
            return pairs;
        }

        /**
         * Cuts slot {@code split.slot()} in two (mid-gap between two namespaces, so a new namespace
         * may fall either side); the slot keeps the non-piece side and its owner. The adjacent slots
         * {@code x} then {@code y} merge into the heavier of the two, which keeps its owner; the freed
         * slot takes the piece and goes to the least-loaded member.
         */
        private void splitAndMerge(State st, Split split, int x, int y) {
            int c = split.slot();
            HashRange range = st.ranges[c];
            int from = lower(range.first());
            int to = upper(range.last());
            int cutIndex = split.cut();
            long below = hashes[cutIndex - 1];
            long gap = hashes[cutIndex] - below; // >= 1 as an unsigned value
            long cut = below + 1 + ((gap - 1) >>> 1);
            HashRange left = new HashRange(range.first(), cut - 1);
            HashRange right = new HashRange(cut, range.last());
            HashRange piece = split.pieceIsLeft() ? left : right;
            HashRange kept = split.pieceIsLeft() ? right : left;

            HashRange merged = new HashRange(st.ranges[x].first(), st.ranges[y].last());
            long mergedWeight = st.weight[x] + st.weight[y];
            long mergedTop = Math.max(st.top[x], st.top[y]);
            int keep = st.weight[y] > st.weight[x] ? y : x;
            int freed = keep == x ? y : x;

            // Their ranges change, so any owner of these slots is a handover anyway.
            st.origin[c] = -2;
            st.origin[keep] = -2;
            st.origin[freed] = -2;
            st.setRange(keep, merged, mergedWeight, mergedTop);
            st.setRange(c, kept, weightIn(kept), topIn(kept));
            st.unassign(freed);
            st.setRange(freed, piece, weightIn(piece), topIn(piece));
            st.assign(freed, st.lightest(null));
        }

        /** Whether {@code a}'s loads, sorted from the top, are lexicographically below {@code b}'s. */
        private static boolean lowerLoads(State a, State b) {
            long[] x = a.load.clone();
            long[] y = b.load.clone();
            Arrays.sort(x);
            Arrays.sort(y);
            for (int i = x.length - 1; i >= 0; i--) {
                if (x[i] != y[i]) {
                    return x[i] < y[i];
                }
            }
            return false;
        }
    }

    /** Slots (range, weight, heaviest namespace, owner) and member loads, mutable within one run. */
    private static final class State {
        final HashRange[] ranges;
        final long[] weight;
        /** Per slot: its heaviest namespace's weight. */
        final long[] top;
        final int[] owner;
        final long[] load;
        final int[] count;
        /**
         * The live owner each slot had in the input (-1: none; -2: its range changes, so any owner
         * is a handover anyway), to tell which moves cost a handover.
         */
        final int[] origin;

        State(HashRange[] ranges, int members) {
            this.ranges = ranges.clone();
            this.weight = new long[ranges.length];
            this.top = new long[ranges.length];
            this.owner = new int[ranges.length];
            Arrays.fill(owner, -1);
            this.load = new long[members];
            this.count = new int[members];
            this.origin = new int[ranges.length];
            Arrays.fill(origin, -1);
        }

        private State(State other) {
            ranges = other.ranges.clone();
            weight = other.weight.clone();
            top = other.top.clone();
            owner = other.owner.clone();
            load = other.load.clone();
            count = other.count.clone();
            origin = other.origin.clone();
        }

        State copy() {
            return new State(this);
        }

        boolean allOwned() {
            for (int o : owner) {
                if (o < 0) {
                    return false;
                }
            }
            return true;
        }

        /** Per member: the heaviest namespace among its slots. */
        long[] memberTops() {
            long[] tops = new long[load.length];
            for (int s = 0; s < owner.length; s++) {
                if (owner[s] >= 0) {
                    tops[owner[s]] = Math.max(tops[owner[s]], top[s]);
                }
            }
            return tops;
        }

        /** Handovers a move of {@code slot} to {@code member} adds (-1, 0 or 1) to those already planned. */
        int handoverDelta(int slot, int member) {
            int o = origin[slot];
            return (member != o ? 1 : 0) - (owner[slot] != o ? 1 : 0);
        }

        void assign(int slot, int member) {
            unassign(slot);
            owner[slot] = member;
            load[member] += weight[slot];
            count[member]++;
        }

        void unassign(int slot) {
            int o = owner[slot];
            if (o >= 0) {
                load[o] -= weight[slot];
                count[o]--;
                owner[slot] = -1;
            }
        }

        void setRange(int slot, HashRange range, long newWeight, long newTop) {
            int o = owner[slot];
            if (o >= 0) {
                load[o] += newWeight - weight[slot];
            }
            ranges[slot] = range;
            weight[slot] = newWeight;
            top[slot] = newTop;
        }

        /** Fewest slots; ties to the first by name. */
        int fewestSlots() {
            int best = 0;
            for (int m = 1; m < count.length; m++) {
                if (count[m] < count[best]) {
                    best = m;
                }
            }
            return best;
        }

        /** Least load, then fewest slots, among the members not marked in {@code skip} (null: all); -1 if none. */
        int lightest(boolean[] skip) {
            int best = -1;
            for (int m = 0; m < load.length; m++) {
                if (skip != null && skip[m]) {
                    continue;
                }
                if (best < 0 || load[m] < load[best] || (load[m] == load[best] && count[m] < count[best])) {
                    best = m;
                }
            }
            return best;
        }
    }
}
