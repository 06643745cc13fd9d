package dev.flotilla.manager.shards;

import dev.flotilla.cli.ProgramRun;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.manager.Cli;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.sharding.LeaseNaming;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report `flotilla shards` prints, from hand-made Leases and a fixed clock. */
class ShardReportTest {

    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    private static final LeaseNaming NAMING = new LeaseNaming("g");

    private static Lease lease(String name, String role, String holder, Duration ago, Map<String, String> annotations,
            int transitions) {
        return new LeaseBuilder().withNewMetadata().withName(name).withNamespace("ops")
                .withLabels(Map.of(LeaseNaming.LABEL_GROUP, "g", LeaseNaming.LABEL_ROLE, role))
                .withAnnotations(annotations).endMetadata()
                .withNewSpec().withHolderIdentity(holder).withLeaseDurationSeconds(6).withLeaseTransitions(transitions)
                .withRenewTime(ago == null ? null : NOW.minus(ago).atZone(ZoneOffset.UTC)).endSpec().build();
    }

    private static Lease shard(int i, String desired, String holder, Duration ago) {
        return lease(NAMING.shardLease(i), LeaseNaming.ROLE_SHARD, holder, ago,
                Map.of(LeaseNaming.ANNOTATION_SHARDS, "4", LeaseNaming.ANNOTATION_DESIRED_OWNER, desired), i);
    }

    private static List<Lease> group() {
        List<Lease> leases = new ArrayList<>();
        leases.add(shard(0, "a", "a_1f2e", Duration.ofMillis(800)));
        leases.add(shard(1, "b", "", null));                         // released, not yet taken
        leases.add(shard(2, "b", "c_99aa", Duration.ofSeconds(9)));  // its holder died 9 s ago
        // no Lease for shard 3 yet
        leases.add(lease(NAMING.memberLease("a"), LeaseNaming.ROLE_MEMBER, "a_1f2e", Duration.ofMillis(300), Map.of(), 0));
        leases.add(lease(NAMING.memberLease("b"), LeaseNaming.ROLE_MEMBER, "b_77", Duration.ofSeconds(75), Map.of(), 0));
        leases.add(lease(NAMING.coordinatorLease(), LeaseNaming.ROLE_COORDINATOR, "a_1f2e", Duration.ofMillis(400), Map.of(), 2));
        return leases;
    }

    @Test
    void oneRowPerShardWithRangeDesiredOwnerHolderAgeAndTransitions() {
        ShardReport r = ShardReport.of("g", "ops", group(), NOW);
        assertThat(r.shards()).as("from the shard Leases' annotation").isEqualTo(4);
        assertThat(r.rows()).hasSize(4);
        assertThat(r.rows()).extracting(ShardReport.ShardRow::range).containsExactly(
                "0x0000000000000000-0x3fffffffffffffff", "0x4000000000000000-0x7fffffffffffffff",
                "0x8000000000000000-0xbfffffffffffffff", "0xc000000000000000-0xffffffffffffffff");
        assertThat(r.rows().get(0).holder()).isEqualTo(new ShardReport.Holder("a", ShardReport.State.HELD, Duration.ofMillis(800)));
        assertThat(r.rows().get(0).holder().ageText()).isEqualTo("0.8s");
        assertThat(r.rows().get(1).holder().ageText()).isEqualTo("free");
        assertThat(r.rows().get(2).holder().identity()).isEqualTo("c");
        assertThat(r.rows().get(2).holder().ageText()).isEqualTo("expired");
        assertThat(r.rows().get(3).holder().state()).isEqualTo(ShardReport.State.MISSING);
        assertThat(r.rows().get(2).transitions()).isEqualTo(2);
        assertThat(r.coordinator().identity()).isEqualTo("a");
        assertThat(r.members()).extracting(ShardReport.Holder::identity).containsExactly("a", "b");
        assertThat(r.members().get(1).ageText()).isEqualTo("expired");
        assertThat(r.heldCounts()).isEqualTo(Map.of("a", 1));
    }

    @Test
    void textHasTheTablesAndJsonTheSameFacts() {
        ShardReport r = ShardReport.of("g", "ops", group(), NOW);
        String text = r.toText();
        assertThat(text).startsWith("sharding group 'g' in namespace 'ops': 4 shards, 1 live member, coordinator a (renewed 0.4s ago)"
                + ", layout unknown\n");
        assertThat(text).containsPattern("(?m)^SHARD\\s+RANGE\\s+OBJECTS\\s+DESIRED\\s+HOLDER\\s+AGE\\s+TRANSITIONS$")
                .containsPattern("(?m)^0\\s+0x0000000000000000-0x3fffffffffffffff\\s+0\\s+a\\s+a\\s+0\\.8s\\s+0$")
                .containsPattern("(?m)^1\\s+0x4000000000000000-0x7fffffffffffffff\\s+0\\s+b\\s+-\\s+free\\s+1$")
                .containsPattern("(?m)^3\\s+0xc000000000000000-0xffffffffffffffff\\s+0\\s+-\\s+-\\s+-\\s+-$")
                .containsPattern("(?m)^MEMBER\\s+AGE\\s+SHARDS\\s+OBJECTS$").containsPattern("(?m)^a\\s+0\\.3s\\s+1\\s+0$")
                .containsPattern("(?m)^COORDINATOR\\s+AGE$").containsPattern("(?m)^a\\s+0\\.4s$");
        String json = r.toJson();
        assertThat(json).startsWith("{\"group\":\"g\",\"namespace\":\"ops\",\"shards\":4,")
                .contains("\"coordinator\":{\"identity\":\"a\",\"state\":\"held\",\"age\":\"0.4s\",\"ageMs\":400}")
                .contains("{\"shard\":0,\"start\":\"0x0000000000000000\",\"end\":\"0x3fffffffffffffff\",\"desiredOwner\":\"a\","
                        + "\"holder\":\"a\",\"state\":\"held\",\"age\":\"0.8s\",\"ageMs\":800,\"transitions\":0,\"objects\":0}")
                .contains("{\"shard\":3,\"start\":\"0xc000000000000000\",\"end\":\"0xffffffffffffffff\",\"desiredOwner\":null,"
                        + "\"holder\":null,\"state\":\"missing\",\"age\":\"-\",\"ageMs\":null,\"transitions\":null,\"objects\":0}")
                .contains("{\"identity\":\"b\",\"state\":\"expired\",\"age\":\"expired\",\"ageMs\":75000,\"shardsHeld\":0,"
                        + "\"objects\":0}")
                .contains("\"layout\":\"unknown\"");
    }

    @Test
    void agesReadLikeDurations() {
        assertThat(ShardReport.formatAge(Duration.ofMillis(40))).isEqualTo("0.0s");
        assertThat(ShardReport.formatAge(Duration.ofMillis(59_949))).isEqualTo("59.9s");
        assertThat(ShardReport.formatAge(Duration.ofSeconds(192))).isEqualTo("3m12s");
        assertThat(ShardReport.formatAge(Duration.ofMinutes(125))).isEqualTo("2h5m");
    }

    @Test
    void anUnreachableServerIsExitFourInOneLine(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: c
                  cluster: {server: "https://127.0.0.1:%d", insecure-skip-tls-verify: true}
                contexts:
                - name: c
                  context: {cluster: c, user: u}
                current-context: c
                users:
                - name: u
                  user: {token: t}
                """.formatted(port));
        ProgramRun.Result r = Cli.run("shards", "--kubeconfig", kubeconfig.toString(), "--allow-insecure-api-server");
        assertThat(r.code()).isEqualTo(ExitCode.UNREACHABLE.code());
        assertThat(r.errLines()).singleElement().satisfies(l -> assertThat(l)
                .startsWith("flotilla: cannot reach the API server at https://127.0.0.1:" + port));
    }

    @Test
    void aProtocolTwoShardIsJudgedByItsHoldersMembershipNotByItsOwnNeverRenewedLease() {
        Map<String, String> v2 = Map.of(LeaseNaming.ANNOTATION_SHARDS, "3", LeaseNaming.ANNOTATION_DESIRED_OWNER, "a",
                LeaseNaming.ANNOTATION_PROTOCOL, LeaseNaming.PROTOCOL);
        List<Lease> leases = List.of(
                lease(NAMING.shardLease(0), LeaseNaming.ROLE_SHARD, "a_1f2e", Duration.ofMinutes(30), v2, 1), // taken 30 min ago
                lease(NAMING.shardLease(1), LeaseNaming.ROLE_SHARD, "b_old", Duration.ofMinutes(30), v2, 1),  // a dead incarnation
                lease(NAMING.shardLease(2), LeaseNaming.ROLE_SHARD, "c_99aa", Duration.ofSeconds(1), v2, 1),  // no membership
                lease(NAMING.memberLease("a"), LeaseNaming.ROLE_MEMBER, "a_1f2e", Duration.ofMillis(300), Map.of(), 0),
                lease(NAMING.memberLease("b"), LeaseNaming.ROLE_MEMBER, "b_77", Duration.ofMillis(500), Map.of(), 0));
        ShardReport r = ShardReport.of("g", "ops", leases, NOW);
        assertThat(r.rows()).extracting(row -> row.holder().state()).containsExactly(ShardReport.State.HELD,
                ShardReport.State.EXPIRED, ShardReport.State.EXPIRED);
        assertThat(r.rows().get(0).holder().ageText()).as("the membership's renewal").isEqualTo("0.3s");
        assertThat(r.heldCounts()).containsExactly(Map.entry("a", 1));
    }

    @Test
    void rangesComeFromTheLeasesAndObjectsFromTheMembersCounts() {
        String low = "0000000000000000-00000000ffffffff";
        String high = "0000000100000000-ffffffffffffffff";
        long shop = dev.flotilla.sharding.ShardSpace.hash("shop");
        String counts = dev.flotilla.sharding.NamespaceWeights.ofNamespaces(Map.of("shop", 12L, "billing", 5L)).text(100);
        List<Lease> leases = List.of(
                lease(NAMING.shardLease(0), LeaseNaming.ROLE_SHARD, "a_1", Duration.ofSeconds(1), Map.of(LeaseNaming.ANNOTATION_SHARDS, "2",
                        LeaseNaming.ANNOTATION_DESIRED_OWNER, "a", LeaseNaming.ANNOTATION_RANGE, low), 1),
                lease(NAMING.shardLease(1), LeaseNaming.ROLE_SHARD, "a_1", Duration.ofSeconds(1), Map.of(LeaseNaming.ANNOTATION_SHARDS, "2",
                        LeaseNaming.ANNOTATION_DESIRED_OWNER, "a", LeaseNaming.ANNOTATION_RANGE, high), 1),
                lease(NAMING.shardLease(2), LeaseNaming.ROLE_SHARD, "", null, Map.of(LeaseNaming.ANNOTATION_SHARDS, "4",
                        LeaseNaming.ANNOTATION_DESIRED_OWNER, ""), 3), // beyond the count: handed back
                lease(NAMING.memberLease("a"), LeaseNaming.ROLE_MEMBER, "a_1", Duration.ofMillis(300),
                        Map.of(LeaseNaming.ANNOTATION_OBJECTS, counts), 0),
                lease(NAMING.coordinatorLease(), LeaseNaming.ROLE_COORDINATOR, "a_1", Duration.ofMillis(400),
                        Map.of(LeaseNaming.ANNOTATION_LAYOUT_SETTLED, "true"), 0));
        ShardReport r = ShardReport.of("g", "ops", leases, NOW);
        assertThat(r.shards()).isEqualTo(2);
        assertThat(r.rows()).extracting(ShardReport.ShardRow::range).containsExactly("0x0000000000000000-0x00000000ffffffff",
                "0x0000000100000000-0xffffffffffffffff", "0x8000000000000000-0xbfffffffffffffff");
        long inLow = Long.compareUnsigned(shop, 0xffffffffL) <= 0 ? 12 : 0;
        assertThat(r.rows().get(0).objects() + r.rows().get(1).objects()).isEqualTo(17);
        assertThat(r.rows().get(0).objects()).isGreaterThanOrEqualTo(inLow);
        assertThat(r.memberObjects()).containsEntry("a", 17L);
        assertThat(r.layout()).isEqualTo("settled");
        assertThat(r.toText()).contains(", layout settled\n").containsPattern("(?m)^a\\s+0\\.3s\\s+2\\s+17$");
    }
}
