package dev.flotilla.demo;

import dev.flotilla.cli.ProgramRun;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.testing.ApiServerBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {

    /**
     * The main job on the real API server: three sharded replicas, one killed without warning
     * midway; its shards must move to the survivors after its Leases expire (lease 6 s), every
     * mirror must converge, and the audit trail must show no namespace reconciled by two replicas
     * at once.
     */
    @Test
    void threeShardedReplicasSurviveAKillOnARealApiServer() throws Exception {
        // Like every REAL test: missing binaries fail here, naming the build command, instead of the demo building them.
        ApiServerBinaries.require();
        ProgramRun.Result r = ProgramRun.run(DemoCommand::execute, "--backend", "real", "--objects", "100", "--namespaces", "10", "--json",
                "--timeout", "90s");
        assertThat(r.code()).as("stdout: %s%nstderr: %s", r.out(), r.err()).isEqualTo(ExitCode.OK.code());
        assertThat(r.outLines()).as("only the JSON object").hasSize(1);
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertThat(json.path("result").asText()).isEqualTo("converged");
        assertThat(json.path("converged").asInt()).isEqualTo(100);
        assertThat(json.path("backend").asText()).contains("kube-apiserver v1.37.2");
        assertThat(json.path("replicas").asInt()).isEqualTo(3);
        // About one write per source and per update (100 + 10), fewer when an update lands before its source's first
        // reconcile (one create covers both; seen: 109); the kill may cost a few repeats, not many.
        assertThat(json.path("writes").asLong()).isBetween(100L, 140L);

        JsonNode sharding = json.path("sharding");
        assertThat(sharding.path("shards").asInt()).isEqualTo(DemoRun.SHARDS);
        String killed = sharding.path("killed").asText();
        assertThat(killed).matches("replica-[012]");
        assertThat(sharding.path("killedWasCoordinator").asBoolean()).isFalse();
        int killedShards = sharding.path("killedShards").asInt();
        assertThat(killedShards).isBetween(1, (DemoRun.SHARDS + 2) / 3);
        assertThat(sharding.path("killedSources").asInt()).as("the killed replica had work").isPositive();
        // Taken over only once its Leases expired (no graceful release), and soon after.
        long handover = sharding.path("handoverMs").asLong();
        assertThat(handover).isBetween(DemoRun.LEASE_DURATION.minus(DemoRun.RENEW_DEADLINE).plusSeconds(1).toMillis(),
                DemoRun.LEASE_DURATION.toMillis() + 6_000);
        assertThat(sharding.path("takenOver").asInt()).isEqualTo(killedShards);
        Set<String> survivors = new HashSet<>();
        int shardsAtEnd = 0;
        for (var e : sharding.path("shardsAtEnd").properties()) {
            survivors.add(e.getKey());
            shardsAtEnd += e.getValue().size();
        }
        assertThat(survivors).hasSize(2).doesNotContain(killed);
        assertThat(shardsAtEnd).isEqualTo(DemoRun.SHARDS);
        assertThat(sharding.path("coordinatorAtEnd").asText()).isIn(survivors);
        assertThat(sharding.path("overlaps").asInt()).isZero();
        assertThat(sharding.path("auditedReconciles").asLong()).isGreaterThanOrEqualTo(110L);
    }

    /** Runs {@code body} with no binaries and a stand-in build script that fails the way build.sh does without Go. */
    private static void withoutBinariesAndAFailingBuild(Path dir, Runnable body) throws Exception {
        Path home = dir.resolve("checkout");
        Files.createDirectories(home.resolve("testing/apiserver"));
        Files.writeString(home.resolve(ApiServerBuild.SCRIPT), """
                echo "[apiserver-build] ERROR: go toolchain not found (set GO=/path/to/go or put go on PATH)" >&2
                exit 1
                """);
        String binaries = System.getProperty(ApiServerBinaries.DIR_PROPERTY);
        String launcherHome = System.getProperty(ApiServerBuild.HOME_PROPERTY);
        System.setProperty(ApiServerBinaries.DIR_PROPERTY, dir.resolve("empty").toString());
        System.setProperty(ApiServerBuild.HOME_PROPERTY, home.toString());
        try {
            body.run();
        } finally {
            restore(ApiServerBinaries.DIR_PROPERTY, binaries);
            restore(ApiServerBuild.HOME_PROPERTY, launcherHome);
        }
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

    @Test
    void theRealBackendThatCannotBeBuiltIsAClearConfigurationErrorNotASilentMock(@TempDir Path dir) throws Exception {
        withoutBinariesAndAFailingBuild(dir, () -> {
            ProgramRun.Result r = ProgramRun.run(DemoCommand::execute, "--backend", "real", "--objects", "5");
            assertThat(r.code()).as("stderr: %s", r.err()).isEqualTo(ExitCode.CONFIG.code());
            assertThat(r.out()).contains("the real API server is not built yet: building kube-apiserver");
            assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line)
                    .contains("--backend real needs the kube-apiserver binaries")
                    .contains("building the kube-apiserver failed after").contains("go toolchain not found"));
        });
    }

    @Test
    void byDefaultABuildThatFailsFallsBackToTheMockSayingWhy(@TempDir Path dir) throws Exception {
        withoutBinariesAndAFailingBuild(dir, () -> {
            ProgramRun.Result r = ProgramRun.run(DemoCommand::execute, "--objects", "20", "--namespaces", "2", "--timeout", "60s");
            assertThat(r.code()).as("stdout: %s%nstderr: %s", r.out(), r.err()).isEqualTo(ExitCode.OK.code());
            assertThat(r.out()).contains("note: no real API server: building the kube-apiserver failed after")
                    .contains("go toolchain not found").contains("running on fabric8's mock API server instead")
                    .contains("backend: fabric8 mock API server");
        });
    }

    @Test
    void convergesAndPrintsOneJsonObject() {
        ProgramRun.Result r = ProgramRun.run(DemoCommand::execute, "--backend", "mock", "--objects", "60", "--namespaces", "3", "--json", "--timeout", "60s");
        assertThat(r.code()).as("stderr: %s", r.err()).isEqualTo(ExitCode.OK.code());
        assertThat(r.err()).isEmpty();
        assertThat(r.outLines()).as("only the JSON object, no progress line").hasSize(1);
        String json = r.outLines().get(0);
        assertThat(json).startsWith("{").endsWith("}")
                .contains("\"result\":\"converged\"")
                .contains("\"objects\":60")
                .contains("\"namespaces\":3")
                .contains("\"converged\":60")
                .contains("\"updates\":6")
                .contains("\"reason\":null")
                .containsPattern("\"metricsUrl\":\"http://127\\.0\\.0\\.1:\\d+/metrics\"")
                .containsPattern("\"timeToConvergeMs\":\\d+")
                .containsPattern("\"reconciles\":[1-9]\\d*")
                .contains("fabric8 mock API server")
                .contains("\"replicas\":1,\"sharding\":null,\"note\":\"the mock API server cannot run sharded replicas");
        // 5% of 60 first attempts fail (the choice is seeded): each failure is retried.
        assertThat(field(json, "injectedFailures")).isPositive();
        assertThat(field(json, "retries")).isGreaterThanOrEqualTo(field(json, "injectedFailures"));
        // No write amplification: about one apply per source and per update (60 + 6). A few more are
        // possible when a reconcile races the watch event of its own previous apply; twice as many is not.
        assertThat(field(json, "writes")).isBetween(60L, 80L);
    }

    @Test
    void textModeShowsProgressAndSummary() {
        ProgramRun.Result r = ProgramRun.run(DemoCommand::execute, "--backend", "mock", "--objects", "20", "--namespaces", "2", "--failure-rate", "0", "--updates", "0",
                "--health-port", "-1");
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out()).contains("flotilla demo: 20 ConfigMaps in 2 namespaces")
                .contains("converging: ")
                .contains("all mirrors converged")
                .contains("converged         20/20 (100%)")
                .contains("metrics           off")
                .contains("note: the mock API server cannot run sharded replicas")
                .contains("replicas          1 (unsharded)");
    }

    @Test
    void notConvergingInTimeExitsOneWithOneLine() {
        ProgramRun.Result r = ProgramRun.run(DemoCommand::execute, "--backend", "mock", "--objects", "30", "--namespaces", "2", "--json", "--timeout", "1ms");
        assertThat(r.code()).isEqualTo(ExitCode.FAILURE.code());
        assertThat(r.errLines()).singleElement().satisfies(line ->
                assertThat(line).startsWith("flotilla: demo not converged within 1ms: ").contains("mirrors up to date"));
        assertThat(r.out()).contains("\"result\":\"timeout\"");
    }

    private static long field(String json, String name) {
        var m = java.util.regex.Pattern.compile("\"" + name + "\":(\\d+)").matcher(json);
        assertThat(m.find()).as(name).isTrue();
        return Long.parseLong(m.group(1));
    }
}
