package dev.flotilla.sharding;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Decides which live member should own each shard: balanced to within one shard, and moving as
 * few shards as possible from the current owners. Pure and deterministic, so a newly elected
 * coordinator that reads the current owners from the shard Leases computes the same plan.
 *
 * <ol>
 *   <li>Shards whose owner is not a live member (dead, or a Lease edited to name a stranger) are free.</li>
 *   <li>Targets: {@code S/N} shards each, and one more for the {@code S%N} members that hold the most
 *       now (ties by name), so that members keep what they have wherever balance allows.</li>
 *   <li>A member above its target sheds the shards it ranks lowest (rendezvous weight).</li>
 *   <li>Free shards go, in order of their strongest preference, to the highest-ranked member
 *       with room (rendezvous hashing with bounded load).</li>
 * </ol>
 *
 * Consequences the tests pin: nobody owns more than {@code ceil(S/N)}; a member joining takes
 * at most {@code ceil(S/(N+1))} shards and nothing else moves; a member leaving moves only its
 * own shards (while {@code S >= N*(N-1)}, e.g. 32 shards and up to 6 members).
 *
 * <pre>{@code
 * Map<Integer, String> currentOwners = Map.of(0, "replica-0", 1, "replica-2"); // replica-2 has left
 * Map<Integer, String> plan = ShardAssigner.plan(32, currentOwners, Set.of("replica-0", "replica-1"));
 * }</pre>
 */
public final class ShardAssigner {

    private ShardAssigner() {
    }

    /**
     * @param shards  S
     * @param current shard -> owner now (absent: unowned); owners that are not members are ignored
     * @param members live members; empty gives an empty plan
     * @return shard -> member for every shard (empty when there are no members)
     */
    public static Map<Integer, String> plan(int shards, Map<Integer, String> current, Set<String> members) {
        new ShardSpace(shards); // validates S
        Objects.requireNonNull(current, "current");
        Objects.requireNonNull(members, "members");
        if (members.isEmpty()) {
            return Map.of();
        }
        List<String> live = new ArrayList<>(new TreeSet<>(members));
        // Every rendezvous weight this plan compares, computed once (the sorts below would hash each many times).
        Map<String, long[]> weights = new HashMap<>();
        for (String m : live) {
            long[] w = new long[shards];
            for (int s = 0; s < shards; s++) {
                w[s] = weight(m, s);
            }
            weights.put(m, w);
        }
        Map<String, List<Integer>> held = new HashMap<>();
        live.forEach(m -> held.put(m, new ArrayList<>()));
        for (int shard = 0; shard < shards; shard++) {
            String owner = current.get(shard);
            if (owner != null && held.containsKey(owner)) {
                held.get(owner).add(shard);
            }
        }
        int base = shards / live.size();
        int extra = shards % live.size();
        List<String> byLoad = new ArrayList<>(live);
        byLoad.sort(Comparator.<String>comparingInt(m -> held.get(m).size()).reversed().thenComparing(m -> m));
        Map<String, Integer> target = new HashMap<>();
        for (int i = 0; i < byLoad.size(); i++) {
            target.put(byLoad.get(i), base + (i < extra ? 1 : 0));
        }

        Map<Integer, String> plan = new TreeMap<>();
        List<Integer> free = new ArrayList<>();
        for (String member : live) {
            long[] w = weights.get(member);
            List<Integer> mine = new ArrayList<>(held.get(member));
            mine.sort(Comparator.comparingLong((Integer s) -> w[s]).reversed().thenComparing(s -> s));
            int keep = Math.min(mine.size(), target.get(member));
            for (int i = 0; i < mine.size(); i++) {
                if (i < keep) {
                    plan.put(mine.get(i), member);
                } else {
                    free.add(mine.get(i));
                }
            }
        }
        for (int shard = 0; shard < shards; shard++) {
            if (!plan.containsKey(shard) && !free.contains(shard)) {
                free.add(shard);
            }
        }
        Map<String, Integer> load = new HashMap<>();
        live.forEach(m -> load.put(m, 0));
        plan.values().forEach(m -> load.merge(m, 1, Integer::sum));
        long[] best = new long[shards];
        for (int s = 0; s < shards; s++) {
            best[s] = Long.MIN_VALUE;
            for (String m : live) {
                best[s] = Math.max(best[s], weights.get(m)[s]);
            }
        }
        // Strongest preferences first, so a shard's favourite member still has room for it.
        free.sort(Comparator.comparingLong((Integer s) -> best[s]).reversed().thenComparing(s -> s));
        for (int shard : free) {
            List<String> ranked = new ArrayList<>(live);
            ranked.sort(Comparator.comparingLong((String m) -> weights.get(m)[shard]).reversed().thenComparing(m -> m));
            for (String member : ranked) {
                if (load.get(member) < target.get(member)) {
                    plan.put(shard, member);
                    load.merge(member, 1, Integer::sum);
                    break;
                }
            }
        }
        return plan;
    }

    /** Rendezvous weight of (member, shard): FNV-1a, then a 64-bit finalizer so close names spread. */
    static long weight(String member, int shard) {
        long h = ShardSpace.hash(member + "\u0000" + shard);
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
