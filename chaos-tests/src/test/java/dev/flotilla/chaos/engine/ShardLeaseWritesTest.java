package dev.flotilla.chaos.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The shard Lease history a range-ownership violation's report carries (ExperimentRunner.shardLeaseWrites). */
class ShardLeaseWritesTest {

    static final Instant T0 = Instant.parse("2026-12-07T00:00:00Z");

    static AuditedRequest write(String name, int at, int code, String holder, Map<String, String> annotations) {
        return new AuditedRequest("id-" + name + at, "flotilla-replica:a", "update", "leases", "", LocalTopology.NAMESPACE,
                name, T0.plusSeconds(at), T0.plusSeconds(at), code, false, Optional.of(holder), annotations,
                Optional.of(Duration.ofSeconds(10)));
    }

    @Test
    void listsTheAcceptedWritesOfShardLeasesInTheSpanOnly() {
        List<AuditedRequest> audit = List.of(
                write("flotilla-shard-1", 1, 200, "x", Map.of()), // before the span
                write("flotilla-shard-1", 5, 200, "", Map.of(LeaseNaming.ANNOTATION_DESIRED_OWNER, "b",
                        LeaseNaming.ANNOTATION_RANGE, "2000000000000000-7fffffffffffffff")),
                write("flotilla-shard-2", 6, 409, "a", Map.of()), // refused
                write("flotilla-member-a", 7, 200, "a_1", Map.of()), // not a shard Lease
                write("flotilla-shard-1", 8, 200, "b_2", Map.of(LeaseNaming.ANNOTATION_DESIRED_OWNER, "b")),
                write("flotilla-shard-3", 30, 200, "c", Map.of())); // after it
        assertThat(ExperimentRunner.shardLeaseWrites(audit, T0.plusSeconds(2), T0.plusSeconds(20))).containsExactly(
                "shard lease write: 2026-12-07T00:00:05Z shard 1 by flotilla-replica:a: holder '', desired owner 'b', "
                        + "range 2000000000000000-7fffffffffffffff",
                "shard lease write: 2026-12-07T00:00:08Z shard 1 by flotilla-replica:a: holder 'b_2', desired owner 'b', range -");
    }
}
