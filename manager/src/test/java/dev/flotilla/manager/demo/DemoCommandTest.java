package dev.flotilla.manager.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.manager.Cli;
import dev.flotilla.manager.ExitCode;
import dev.flotilla.testing.ApiServerBinaries;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {

    @Test
    void convergesOnARealApiServerAndSaysSo() {
        Cli.Result r = Cli.run("demo", "--backend", "real", "--objects", "60", "--namespaces", "3", "--json",
                "--timeout", "60s");
        assertThat(r.code()).as("stderr: %s", r.err()).isEqualTo(ExitCode.OK.code());
        String json = r.outLines().get(0);
        assertThat(json).contains("\"result\":\"converged\"").contains("\"converged\":60")
                .contains("kube-apiserver v1.37.2");
        assertThat(field(json, "writes")).isBetween(60L, 80L);
    }

    @Test
    void theRealBackendWithoutBinariesIsAClearConfigurationErrorNotASilentMock(@TempDir Path empty) {
        String before = System.getProperty(ApiServerBinaries.DIR_PROPERTY);
        System.setProperty(ApiServerBinaries.DIR_PROPERTY, empty.toString());
        try {
            Cli.Result r = Cli.run("demo", "--backend", "real", "--objects", "5");
            assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
            assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line)
                    .contains("--backend real needs the kube-apiserver binaries").contains("testing/apiserver/build.sh"));
        } finally {
            if (before == null) {
                System.clearProperty(ApiServerBinaries.DIR_PROPERTY);
            } else {
                System.setProperty(ApiServerBinaries.DIR_PROPERTY, before);
            }
        }
    }

    @Test
    void convergesAndPrintsOneJsonObject() {
        Cli.Result r = Cli.run("demo", "--backend", "mock", "--objects", "60", "--namespaces", "3", "--json", "--timeout", "60s");
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
                .contains("fabric8 mock API server");
        // 5% of 60 first attempts fail (the choice is seeded): each failure is retried.
        assertThat(field(json, "injectedFailures")).isPositive();
        assertThat(field(json, "retries")).isGreaterThanOrEqualTo(field(json, "injectedFailures"));
        // No write amplification: about one apply per source and per update (60 + 6). A few more are
        // possible when a reconcile races the watch event of its own previous apply; twice as many is not.
        assertThat(field(json, "writes")).isBetween(60L, 80L);
    }

    @Test
    void textModeShowsProgressAndSummary() {
        Cli.Result r = Cli.run("demo", "--backend", "mock", "--objects", "20", "--namespaces", "2", "--failure-rate", "0", "--updates", "0",
                "--health-port", "-1");
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out()).contains("flotilla demo: 20 ConfigMaps in 2 namespaces")
                .contains("converging: ")
                .contains("all mirrors converged")
                .contains("converged         20/20 (100%)")
                .contains("metrics           off");
    }

    @Test
    void notConvergingInTimeExitsOneWithOneLine() {
        Cli.Result r = Cli.run("demo", "--backend", "mock", "--objects", "30", "--namespaces", "2", "--json", "--timeout", "1ms");
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
