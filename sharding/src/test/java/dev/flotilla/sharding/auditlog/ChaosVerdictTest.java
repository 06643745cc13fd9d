package dev.flotilla.sharding.auditlog;

import static dev.flotilla.sharding.auditlog.AuditLines.at;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three checks combined, as JSON and Markdown. */
class ChaosVerdictTest {

    private static final LeaseNaming NAMING = new LeaseNaming("g");
    private static final String NS = "ops";
    private static final ShardSpace SPACE = new ShardSpace(1);

    @TempDir
    Path dir;

    private final AuditLines log = new AuditLines();

    private ChaosVerdict verdict() throws Exception {
        List<AuditedRequest> requests = log.read(dir);
        return new ChaosVerdict(new SingleWriterCheck(SPACE, NAMING, NS).violations(requests),
                new RequestBudgetCheck(1, 0, 100, u -> u.startsWith("r")).check(requests, at(0), at(20_000),
                        Optional.of(at(5_000))),
                new RangeOwnershipCheck(SPACE, NAMING, NS, Duration.ofSeconds(6), Duration.ofSeconds(1))
                        .check(requests, at(0), at(20_000), at(5_000)));
    }

    /** r0 holds the only shard throughout and writes its namespace now and then. */
    private void steady() {
        for (long t = 0; t <= 20_000; t += 2_000) {
            log.lease(t, "r0", NS, NAMING.memberLease("r0"), "r0_a", Map.of(), 6);
        }
        log.lease(0, "r0", NS, NAMING.shardLease(0), "r0_a", Map.of(), 6);
        log.request(1_000, "r0", "update", "configmaps", "team-a", "cm", 200);
    }

    @Test
    void aCleanRunHoldsInJsonAndMarkdown() throws Exception {
        steady();
        ChaosVerdict v = verdict();
        assertThat(v.holds()).as("%s", v.failures()).isTrue();
        Map<?, ?> json = new KubernetesSerialization().unmarshal(v.toJson(), Map.class);
        assertThat(json.get("holds")).isEqualTo(true);
        assertThat(json.get("failures")).isEqualTo(List.of());
        assertThat(((Map<?, ?>) json.get("requestBudget")).get("budget")).isEqualTo(11.0);
        assertThat(((Map<?, ?>) json.get("ownership")).get("shards")).asList().singleElement()
                .satisfies(s -> assertThat(((Map<?, ?>) s).get("unownedSeconds")).isEqualTo(0.0));
        assertThat(v.toMarkdown()).startsWith("# Chaos verdict: every invariant holds")
                .contains("| single writer | holds |").contains("| request budget | holds |")
                .contains("| no retry storm after recovery | holds |").contains("| range ownership | holds |")
                .doesNotContain("Violations:");
    }

    @Test
    void everyViolationIsListedUnderItsInvariant() throws Exception {
        steady();
        log.lease(12_000, "r1", NS, NAMING.shardLease(0), "r1_b", Map.of(), 6);  // taken while r0 is live
        log.request(12_500, "r0", "update", "configmaps", "team-a", "cm", 200);   // and r0 still writes
        for (int i = 0; i < 12; i++) {
            log.request(13_000 + i, "r0", "get", "configmaps", "team-a", "cm", 200);
        }
        ChaosVerdict v = verdict();
        assertThat(v.holds()).isFalse();
        assertThat(v.failures()).anySatisfy(f -> assertThat(f).startsWith("single writer: ").contains("r1 acquired shard 0"))
                .anySatisfy(f -> assertThat(f).startsWith("request budget: r0: 13 requests").contains("retry storm"))
                .anySatisfy(f -> assertThat(f).startsWith("range ownership: shard 0 had no live owner from " + at(12_000)));
        Map<?, ?> json = new KubernetesSerialization().unmarshal(v.toJson(), Map.class);
        assertThat(json.get("holds")).isEqualTo(false);
        assertThat(((Map<?, ?>) json.get("singleWriter")).get("violations")).asList().hasSize(1);
        assertThat(v.toMarkdown()).startsWith("# Chaos verdict: VIOLATED").contains("| single writer | VIOLATED |")
                .contains("| range ownership | VIOLATED |").contains("Violations:\n\n- single writer: ");
    }
}
