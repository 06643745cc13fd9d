package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ShardAssignerTest {

    static final int S = 32;

    private static Set<String> members(int n) {
        Set<String> m = new LinkedHashSet<>();
        for (int i = 0; i < n; i++) {
            m.add("replica-" + i);
        }
        return m;
    }

    private static int moved(Map<Integer, String> before, Map<Integer, String> after) {
        int moved = 0;
        for (var e : after.entrySet()) {
            if (before.get(e.getKey()) != null && !before.get(e.getKey()).equals(e.getValue())) {
                moved++;
            }
        }
        return moved;
    }

    private static Map<String, Integer> loads(Map<Integer, String> plan) {
        Map<String, Integer> loads = new HashMap<>();
        plan.values().forEach(m -> loads.merge(m, 1, Integer::sum));
        return loads;
    }

    @Test
    void everyShardIsOwnedAndNobodyOwnsMoreThanCeilSOverN() {
        for (int n = 1; n <= 5; n++) {
            Map<Integer, String> plan = ShardAssigner.plan(S, Map.of(), members(n));
            assertThat(plan).hasSize(S);
            int ceil = (S + n - 1) / n;
            assertThat(loads(plan).values()).allSatisfy(l -> assertThat(l).isLessThanOrEqualTo(ceil));
            assertThat(ShardAssigner.plan(S, Map.of(), members(n))).as("deterministic").isEqualTo(plan);
        }
    }

    @Test
    void scalingUpMovesAtMostCeilSOverNPlusOneShardsAndOnlyToTheNewcomer() {
        Map<Integer, String> plan = ShardAssigner.plan(S, Map.of(), members(1));
        for (int n = 1; n < 5; n++) {
            Map<Integer, String> before = plan;
            Map<Integer, String> next = ShardAssigner.plan(S, before, members(n + 1));
            String newcomer = "replica-" + n;
            int bound = (S + n) / (n + 1) + 1; // ceil(S/(N+1)) + 1
            assertThat(moved(before, next)).as("%d -> %d members", n, n + 1).isLessThanOrEqualTo(bound);
            assertThat(next).hasSize(S);
            next.forEach((shard, owner) -> {
                if (!owner.equals(before.get(shard))) {
                    assertThat(owner).as("shard %d moved", shard).isEqualTo(newcomer);
                }
            });
            plan = next;
        }
    }

    @Test
    void scalingDownMovesOnlyTheLeavingMembersShards() {
        for (int n = 5; n > 1; n--) {
            Map<Integer, String> plan = ShardAssigner.plan(S, Map.of(), members(n));
            String leaving = "replica-" + (n / 2);
            Set<String> rest = new LinkedHashSet<>(members(n));
            rest.remove(leaving);
            Map<Integer, String> next = ShardAssigner.plan(S, plan, rest);
            for (var e : plan.entrySet()) {
                if (!e.getValue().equals(leaving)) {
                    assertThat(next.get(e.getKey())).as("shard %d of a member that stayed", e.getKey()).isEqualTo(e.getValue());
                }
            }
            assertThat(next).hasSize(S).doesNotContainValue(leaving);
        }
    }

    @Test
    void anOwnerThatIsNotALiveMemberIsIgnored() {
        Map<Integer, String> current = new HashMap<>(ShardAssigner.plan(S, Map.of(), members(3)));
        current.put(7, "intruder-edited-by-hand");
        Map<Integer, String> next = ShardAssigner.plan(S, current, members(3));
        assertThat(next).hasSize(S).doesNotContainValue("intruder-edited-by-hand");
        assertThat(moved(current, next)).isLessThanOrEqualTo(1);
        assertThat(ShardAssigner.plan(S, current, Set.of())).isEmpty();
    }
}
