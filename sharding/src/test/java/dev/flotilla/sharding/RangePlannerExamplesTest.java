package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Javadoc examples of the range planner's public types, verbatim, so that they keep compiling. */
class RangePlannerExamplesTest {

    @Test
    void hashRange() {
        HashRange range = HashRange.parse("8000000000000000-ffffffffffffffff");
        boolean mine = range.contains(ShardSpace.hash("shop"));
        ShardSelector selector = ShardSelector.of(range.shardRange());   // for a sharded LIST/WATCH
        String annotation = range.text();                                 // "8000000000000000-ffffffffffffffff"
        assertThat(annotation).isEqualTo("8000000000000000-ffffffffffffffff");
        assertThat(mine).isEqualTo(Long.compareUnsigned(ShardSpace.hash("shop"), 0x8000000000000000L) >= 0);
        assertThat(selector.toExpression()).contains("'0x8000000000000000', '0x10000000000000000'");
    }

    @Test
    void namespaceWeights() {
        NamespaceWeights weights = NamespaceWeights.ofNamespaces(Map.of("shop", 120L, "billing", 40L));
        long all = weights.total();                                // 160
        long low = weights.weightIn(new HashRange(0L, Long.MAX_VALUE));
        assertThat(all).isEqualTo(160);
        assertThat(low).isBetween(0L, 160L);
    }

    @Test
    void rangePlan() {
        NamespaceWeights weights = NamespaceWeights.ofNamespaces(Map.of("shop", 120L, "billing", 40L));
        RangePlan plan = RangePlanner.plan(RangePlan.Input.coldStart(32, Set.of("replica-0", "replica-1"), weights));
        List<HashRange> mine = plan.rangesOf("replica-0");
        // Later: the same group, one more replica, fresh object counts.
        RangePlan next = RangePlanner.plan(RangePlan.Input.after(plan, Set.of("replica-0", "replica-1", "replica-2"), weights));
        assertThat(mine).isNotEmpty();
        assertThat(next.rangeChanged()).isEmpty();
    }

    @Test
    void input() {
        RangePlan.Input input = new RangePlan.Input(List.of(), Map.of(), Set.of("replica-0"), NamespaceWeights.none(), 32)
                .withTolerance(0.05)
                .withMaxRangeChanges(4);
        assertThat(input.tolerance()).isEqualTo(0.05);
        assertThat(input.maxRangeChanges()).isEqualTo(4);
    }

    @Test
    void rangePlanner() {
        NamespaceWeights weights = NamespaceWeights.ofNamespaces(Map.of("team-01", 10L, "team-02", 10L, "team-03", 10L));
        RangePlan first = RangePlanner.plan(RangePlan.Input.coldStart(32, Set.of("a", "b", "c"), weights));
        RangePlan afterLeave = RangePlanner.plan(RangePlan.Input.after(first, Set.of("a", "b"), weights));
        // afterLeave.ownerChanged() holds only the slots that "c" owned; afterLeave.rangeChanged() is empty.
        assertThat(afterLeave.rangeChanged()).isEmpty();
        assertThat(afterLeave.ownerChanged()).allSatisfy(slot -> assertThat(first.owners().get(slot)).isEqualTo("c"));
    }
}
