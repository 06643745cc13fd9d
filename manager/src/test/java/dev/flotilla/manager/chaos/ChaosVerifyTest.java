package dev.flotilla.manager.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.cli.ExitCode;
import dev.flotilla.cli.ProgramRun;
import dev.flotilla.manager.Cli;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardingConfig;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flotilla chaos verify} in-process on a hand-written audit log: a group of two replicas
 * (ServiceAccounts in flotilla-system, 2 shards, 6 s lease, 1 s retry period) where r0 is killed at
 * 10 s and r1 takes its shard over.
 */
class ChaosVerifyTest {

    private static final String NS = "flotilla-system";
    private static final LeaseNaming NAMING = new LeaseNaming("g");
    private static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");
    private static final String SA = "system:serviceaccount:" + NS + ":";

    @TempDir
    Path dir;

    private final List<String> lines = new ArrayList<>();
    private int id;

    private void event(long millis, String user, String verb, String resource, String namespace, String name,
            String responseObject) {
        lines.add(("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"RequestResponse\",\"auditID\":\"a%d\","
                + "\"stage\":\"ResponseComplete\",\"requestURI\":\"/x\",\"verb\":\"%s\",\"user\":{\"username\":\"%s\"},"
                + "\"objectRef\":{\"resource\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s\"},\"responseStatus\":{\"code\":200},"
                + "%s\"requestReceivedTimestamp\":\"%s\",\"stageTimestamp\":\"%s\"}")
                .formatted(++id, verb, user, resource, namespace, name,
                        responseObject == null ? "" : "\"responseObject\":" + responseObject + ",",
                        T0.plusMillis(millis), T0.plusMillis(millis)));
    }

    private void lease(long millis, String identity, String name, String holder) {
        event(millis, SA + identity, "update", "leases", NS, name, "{\"kind\":\"Lease\",\"metadata\":{\"name\":\"" + name + "\",\"annotations\":{\""
                        + LeaseNaming.ANNOTATION_SHARDS + "\":\"2\"}},\"spec\":{\"holderIdentity\":\"" + holder
                        + "\",\"leaseDurationSeconds\":6}}");
    }

    /** r0 renews until 10 s, r1 until 40 s; each takes a shard at 0.5 s; r1 takes r0's at {@code takeoverMillis}. */
    private Path killedAtTen(long takeoverMillis) throws Exception {
        for (long t = 0; t <= 40_000; t += 1_000) {
            if (t <= 10_000) {
                lease(t, "r0", NAMING.memberLease("r0"), "r0_a");
            }
            lease(t, "r1", NAMING.memberLease("r1"), "r1_b");
            event(t + 100, SA + "r1", "get", "configmaps", "team-a", "cm", null);
        }
        lease(500, "r0", NAMING.shardLease(0), "r0_a");
        lease(500, "r1", NAMING.shardLease(1), "r1_b");
        lease(takeoverMillis, "r1", NAMING.shardLease(0), "r1_b");
        for (int i = 0; i < 300; i++) {
            event(20_000 + i, "admin", "create", "configmaps", "team-a", "load-" + i, null); // not judged
        }
        return write();
    }

    private Path write() throws Exception {
        Path log = dir.resolve("audit.log");
        Files.write(log, lines);
        return log;
    }

    private ProgramRun.Result verify(Path log, String... more) {
        List<String> args = new ArrayList<>(List.of("chaos", "verify", "--audit-log", log.toString(), "--lease-namespace",
                NS, "--group", "g", "--shards", "2", "--lease-duration", "6s", "--retry-period", "1s", "--fault-end",
                T0.plusSeconds(10).toString()));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void aTakeoverWithinTheBoundPassesAndWritesJsonAndMarkdown() throws Exception {
        Path json = dir.resolve("verdict.json");
        Path md = dir.resolve("verdict.md");
        ProgramRun.Result r = verify(killedAtTen(16_500), "--json", json.toString(), "--markdown", md.toString());
        assertThat(r.code()).as("stdout %s stderr %s", r.out(), r.err()).isEqualTo(ExitCode.OK.code());
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("single writer: holds").contains("request budget: holds (2 identities; peak 10 of 250")
                .contains("no retry storm after recovery: holds").contains("range ownership: holds");
        Map<?, ?> verdict = new KubernetesSerialization().unmarshal(Files.readString(json), Map.class);
        assertThat(verdict.get("holds")).isEqualTo(true);
        assertThat(Files.readString(md)).startsWith("# Chaos verdict: every invariant holds");
    }

    @Test
    void aLateTakeoverAndARetryStormExitOneNamingThem() throws Exception {
        killedAtTen(30_000);
        for (int i = 0; i < 300; i++) {
            event(12_000 + i, SA + "r1", "list", "configmaps", "", "", null);
        }
        ProgramRun.Result r = verify(write());
        assertThat(r.code()).as("stdout %s stderr %s", r.out(), r.err()).isEqualTo(ExitCode.FAILURE.code());
        assertThat(r.errLines()).singleElement().asString()
                .isEqualTo("flotilla: 3 violations of request budget, no retry storm after recovery, range ownership "
                        + "(listed on stdout)");
        assertThat(r.out()).contains("range ownership: shard 0 had no live owner from " + T0.plusSeconds(16) + " to "
                + T0.plusSeconds(30)).contains("request budget: " + SA + "r1: 310 requests in the 10 s from");
    }

    @Test
    void aMalformedLineIsNamedWithFileAndLineAndExitsThree() throws Exception {
        killedAtTen(16_500);
        lines.add(5, "{\"kind\":\"Event\",\"stage\":\"ResponseComplete\",\"requestReceivedTimestamp\":\"yesterday\"}");
        Path log = write();
        ProgramRun.Result r = verify(log);
        assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().asString().isEqualTo("flotilla: " + log
                + ":6: requestReceivedTimestamp 'yesterday' is not an RFC 3339 time");

        ProgramRun.Result missing = verify(dir.resolve("nope.log"));
        assertThat(missing.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(missing.errLines()).singleElement().asString().startsWith("flotilla: cannot read the audit log "
                + dir.resolve("nope.log"));
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        Path log = killedAtTen(16_500);
        assertThat(Cli.run("chaos", "verify").errLines()).singleElement().asString()
                .contains("Missing required option: '--audit-log=FILE'");
        ProgramRun.Result badTime = verify(log, "--since", "noon");
        assertThat(badTime.code()).isEqualTo(ExitCode.USAGE.code());
        assertThat(badTime.errLines()).singleElement().asString().contains("'noon' is not an RFC 3339 time");
        assertThat(verify(log, "--shards", "0").code()).isEqualTo(ExitCode.USAGE.code());
        assertThat(verify(log, "--since", T0.plusSeconds(20).toString(), "--until", T0.toString()).code())
                .isEqualTo(ExitCode.USAGE.code());
    }

    @Test
    void chaosRunIsTheChaosJarsAndSaysSo() {
        ProgramRun.Result r = Cli.run("chaos", "run", "scenario.yaml");
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code());
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("flotilla: 'chaos run' is run by the chaos jar, not by this program: ./flotilla chaos run FILE");
        assertThat(Cli.run("chaos").errLines()).singleElement().asString().contains("missing command: verify");
    }

    /** The defaults are run's: the help text's durations and rates are ShardingConfig's and GuardConfig's. */
    @Test
    void theHelpShowsRunsDefaults() {
        String help = Cli.run("chaos", "verify", "--help").out();
        assertThat(help).contains("Default: " + ShardingConfig.DEFAULT_LEASE_DURATION.toSeconds() + "s, as for run")
                .contains("Default: " + ShardingConfig.DEFAULT_RETRY_PERIOD.toSeconds() + "s, as for run")
                .contains("Default: " + GuardConfig.DEFAULT_QPS).contains("Default: " + GuardConfig.DEFAULT_BURST)
                .satisfies(h -> assertThat(h.replaceAll("\\s+", " ")).contains("lease-qps x 1.1 x 10 + lease-burst."));
    }
}
