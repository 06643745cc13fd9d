package dev.flotilla.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.testing.ApiServerBinaries;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's first-run build, with stand-in build scripts: progress passes through, failures become reasons. */
class ApiServerBuildTest {

    @TempDir
    Path dir;
    private String before;
    private final ByteArrayOutputStream progress = new ByteArrayOutputStream();

    @BeforeEach
    void emptyBinaryDir() {
        before = System.getProperty(ApiServerBinaries.DIR_PROPERTY);
        System.setProperty(ApiServerBinaries.DIR_PROPERTY, dir.resolve("kubeapitest").toString());
    }

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty(ApiServerBinaries.DIR_PROPERTY);
        } else {
            System.setProperty(ApiServerBinaries.DIR_PROPERTY, before);
        }
    }

    private Path script(String body) throws Exception {
        Path s = dir.resolve("build.sh");
        Files.writeString(s, "#!/usr/bin/env bash\nset -euo pipefail\n" + body);
        return s;
    }

    private ApiServerBuild.Outcome run(Path script, Duration reminder) throws Exception {
        return new ApiServerBuild(Optional.of(script), new PrintStream(progress, true, StandardCharsets.UTF_8), reminder).run();
    }

    private String progress() {
        return progress.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aBuildThatInstallsTheBinariesIsBuiltAndItsProgressShown() throws Exception {
        // The stand-in installs where the script is told to, as build.sh does: $FLOTILLA_KUBE_API_TEST_DIR/k8s/<version>-<os>-<arch>.
        long logsBefore = buildLogs();
        Path s = script("""
                echo "[apiserver-build +0s] building" >&2
                d="$FLOTILLA_KUBE_API_TEST_DIR/k8s/%s"
                mkdir -p "$d"
                sleep 1.5
                for b in kube-apiserver etcd kubectl; do printf '#!/bin/sh\\n' > "$d/$b"; chmod +x "$d/$b"; done
                echo "[apiserver-build +2s] installed" >&2
                echo "$d"
                """.formatted(ApiServerBinaries.binaryDir().getFileName()));
        ApiServerBuild.Outcome outcome = run(s, Duration.ofMillis(500));
        assertThat(outcome).isInstanceOfSatisfying(ApiServerBuild.Built.class,
                b -> assertThat(b.dir()).isEqualTo(ApiServerBinaries.binaryDir()));
        assertThat(progress()).contains("  [apiserver-build +0s] building", "  [apiserver-build +2s] installed")
                .as("silence gets an elapsed-time reminder").contains("... still building, ")
                .as("the binary directory line is not progress").doesNotContain("\n  " + ApiServerBinaries.binaryDir());
        assertThat(buildLogs()).as("a successful build leaves no log behind").isEqualTo(logsBefore);
    }

    private static long buildLogs() throws Exception {
        try (var files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(f -> f.getFileName().toString().startsWith("flotilla-apiserver-build-")).count();
        }
    }

    @Test
    void interruptingTheBuildStopsTheScriptAndWhatItStarted() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        Path s = script("""
                sleep 300 &
                echo $! > "%s"
                wait
                """.formatted(pidFile));
        Thread builder = Thread.ofPlatform().start(() -> {
            try {
                run(s, Duration.ofSeconds(30));
            } catch (Exception e) {
                // interrupted: expected
            }
        });
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!(Files.exists(pidFile) && !Files.readString(pidFile).isBlank()) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        ProcessHandle child = ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip())).orElseThrow();
        assertThat(child.isAlive()).isTrue();
        builder.interrupt();
        builder.join(Duration.ofSeconds(10));
        assertThat(builder.isAlive()).isFalse();
        child.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(child.isAlive()).as("the script's child (a compiler, in a real build) is stopped too").isFalse();
    }

    @Test
    void aFailedBuildIsUnavailableWithTheScriptsReasonAndItsLog() throws Exception {
        Path s = script("""
                echo "[apiserver-build +0s] resolving" >&2
                echo "[apiserver-build] ERROR: go toolchain not found (set GO=/path/to/go or put go on PATH)" >&2
                exit 1
                """);
        ApiServerBuild.Outcome outcome = run(s, Duration.ofSeconds(30));
        assertThat(outcome).isInstanceOfSatisfying(ApiServerBuild.Unavailable.class, u -> {
            assertThat(u.reason()).startsWith("building the kube-apiserver failed after ")
                    .contains(": go toolchain not found (set GO=/path/to/go or put go on PATH) (log: ");
            Path log = Path.of(u.reason().replaceFirst(".*\\(log: (.*)\\)$", "$1"));
            assertThat(log).content().contains("ERROR: go toolchain not found");
            try {
                Files.delete(log);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Test
    void aBuildThatSucceedsWithoutBinariesIsNotBelieved() throws Exception {
        ApiServerBuild.Outcome outcome = run(script("echo done\n"), Duration.ofSeconds(30));
        assertThat(outcome).isInstanceOfSatisfying(ApiServerBuild.Unavailable.class,
                u -> assertThat(u.reason()).contains("it exited 0 but " + ApiServerBinaries.binaryDir() + " has no binaries"));
    }

    @Test
    void noScriptIsUnavailableSayingSo() throws Exception {
        ApiServerBuild.Outcome outcome = new ApiServerBuild(Optional.empty(), new PrintStream(progress, true, StandardCharsets.UTF_8),
                Duration.ofSeconds(30)).run();
        assertThat(outcome).isInstanceOfSatisfying(ApiServerBuild.Unavailable.class,
                u -> assertThat(u.reason()).contains(ApiServerBuild.SCRIPT).contains("-D" + ApiServerBuild.HOME_PROPERTY));
    }

    @Test
    void theReadmeStatesTheSameColdBuildTimeTheDemoAnnounces() throws Exception {
        String readme = Files.readString(dev.flotilla.testing.docs.MarkdownBlocks.repositoryFile("README.md"));
        assertThat(readme.replaceAll("\\s+", " ")).contains(ApiServerBuild.COLD_BUILD_TIME);
    }

    @Test
    void theScriptIsFoundUnderTheLaunchersHome() throws Exception {
        Path home = dir.resolve("checkout");
        Files.createDirectories(home.resolve("testing/apiserver"));
        Files.writeString(home.resolve(ApiServerBuild.SCRIPT), "");
        String was = System.getProperty(ApiServerBuild.HOME_PROPERTY);
        System.setProperty(ApiServerBuild.HOME_PROPERTY, home.toString());
        try {
            assertThat(ApiServerBuild.findScript()).contains(home.resolve(ApiServerBuild.SCRIPT));
            System.setProperty(ApiServerBuild.HOME_PROPERTY, dir.resolve("nowhere").toString());
            assertThat(ApiServerBuild.findScript()).isEmpty();
        } finally {
            if (was == null) {
                System.clearProperty(ApiServerBuild.HOME_PROPERTY);
            } else {
                System.setProperty(ApiServerBuild.HOME_PROPERTY, was);
            }
        }
        // Without the property: next to the classes, i.e. this checkout's script.
        assertThat(ApiServerBuild.findScript()).hasValueSatisfying(p -> assertThat(p.endsWith(ApiServerBuild.SCRIPT)).as(p.toString()).isTrue());
    }
}
