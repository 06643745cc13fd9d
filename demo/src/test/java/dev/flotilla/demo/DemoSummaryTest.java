package dev.flotilla.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the demo reports a sharded run, as text and as JSON. */
class DemoSummaryTest {

    private static DemoSummary sharded(long handoverMs, int overlaps) {
        Map<String, List<Integer>> atEnd = new LinkedHashMap<>();
        atEnd.put("replica-0", List.of(0, 1, 2, 3, 7, 9, 10));
        atEnd.put("replica-2", List.of(4, 5, 6, 8, 11));
        var outcome = new DemoSummary.ShardingOutcome(12, "6s", "4s", "1s", "replica-1", false, 4200, 4, 3, 90,
                handoverMs, handoverMs < 0 ? 2 : 4, atEnd, "replica-0", 650, overlaps,
                overlaps == 0 ? null : "namespace n: replica-0 [1, 5) and replica-2 [2, 6)");
        return new DemoSummary("converged", null, 300, 10, 4, 300, 14000, 14100, 650, 17, 17, 17, 30, 313, 1800,
                "kube-apiserver", "http://127.0.0.1:1/metrics", 3, outcome, null);
    }

    @Test
    void textTellsWhoWasKilledHowLongTheHandoverTookWhoOwnsWhatAndTheOverlapCheck() {
        String text = sharded(6260, 0).toText();
        assertThat(text).contains("  replicas          3 sharded, 12 shards, leases 6s/4s/1s (duration/renew deadline/retry)\n")
                .contains("  killed            replica-1 at 4.2s without warning: it held 4 shards (3 of the namespaces, 90 sources)\n")
                .contains("  handover          6260 ms from the kill until all 4 of its shards were active on the survivors\n")
                .contains("  shards at end     replica-0 7 [0-3,7,9-10], replica-2 5 [4-6,8,11]; coordinator replica-0\n")
                .contains("  overlap check     0 overlaps in 650 audited reconciles");
        assertThat(sharded(-1, 1).toText())
                .contains("  handover          incomplete: 2/4 of its shards active on the survivors\n")
                .contains("1 overlaps in 650 audited reconciles").contains("first: namespace n: replica-0 [1, 5)");
    }

    @Test
    void jsonNestsTheShardingOutcome() {
        assertThat(sharded(6260, 0).toJson()).contains("\"replicas\":3,\"sharding\":{\"shards\":12,\"leaseDuration\":\"6s\","
                + "\"renewDeadline\":\"4s\",\"retryPeriod\":\"1s\",\"killed\":\"replica-1\",\"killedWasCoordinator\":false,"
                + "\"killAtMs\":4200,\"killedShards\":4,\"killedNamespaces\":3,\"killedSources\":90,\"handoverMs\":6260,"
                + "\"takenOver\":4,\"shardsAtEnd\":{\"replica-0\":[0,1,2,3,7,9,10],\"replica-2\":[4,5,6,8,11]},"
                + "\"coordinatorAtEnd\":\"replica-0\",\"auditedReconciles\":650,\"overlaps\":0,\"firstOverlap\":null},"
                + "\"note\":null,\"reason\":null}");
    }

    @Test
    void shardListsAreWrittenAsRanges() {
        assertThat(DemoSummary.ranges(List.of())).isEmpty();
        assertThat(DemoSummary.ranges(List.of(5))).isEqualTo("5");
        assertThat(DemoSummary.ranges(List.of(0, 1, 2, 4, 6, 7))).isEqualTo("0-2,4,6-7");
    }
}
