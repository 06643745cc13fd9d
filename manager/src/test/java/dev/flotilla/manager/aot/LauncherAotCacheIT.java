package dev.flotilla.manager.aot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.testing.docs.MarkdownBlocks;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The CLI jar's AOT cache, as the build leaves it (failsafe, after the package phase trained it): the {@code flotilla}
 * launcher starts the jar from it. The launcher runs with {@code -XX:AOTMode=on} in {@code JAVA_TOOL_OPTIONS}, which
 * makes a missing {@code -XX:AOTCache}, or a cache the JVM cannot use with that jar and those flags, an error.
 */
class LauncherAotCacheIT {

    @Test
    void theLauncherStartsTheJarFromTheCacheTheBuildTrained() throws Exception {
        Path repo = MarkdownBlocks.repositoryFile(".").toAbsolutePath().normalize();
        Path cache = repo.resolve("manager/target/flotilla.aot");
        assertThat(cache).as("the build trains it (scripts/aot-training.sh) when the REAL binaries are built").isRegularFile();
        assertThat(Files.getLastModifiedTime(cache)).as("trained on this jar, after it was built")
                .isGreaterThan(Files.getLastModifiedTime(repo.resolve("manager/target/flotilla.jar")));

        ProcessBuilder b = new ProcessBuilder("bash", repo.resolve("flotilla").toString(), "--version").redirectErrorStream(true);
        b.environment().put("JAVA_TOOL_OPTIONS", "-XX:AOTMode=on");
        Process p = b.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("./flotilla --version with AOTMode=on:\n%s", out).isZero();
        assertThat(out).contains("flotilla 0.1.0-SNAPSHOT").doesNotContain("[aot]");
    }
}
