package dev.flotilla.manager;

import dev.flotilla.cli.ProgramRun;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.core.settings.SettingsFile;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API guard's settings reach `flotilla run` through --config and flags, and bad ones stop it with one line. */
class RunGuardConfigTest {

    @Test
    void anInvalidGuardSettingIsAConfigurationErrorNamingTheFileAndTheKey(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("flotilla.properties");
        Files.writeString(config, "resilience.qps=abc\n");
        ProgramRun.Result r = Cli.run("run", "--config", config.toString(), "--kubeconfig", dir.resolve("absent").toString());
        assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line)
                .contains("config " + config).contains("resilience.qps=abc: not a number"));
    }

    @Test
    void anUnreadableFileIsAConfigurationError(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("absent.properties");
        ProgramRun.Result r = Cli.run("run", "--config", config.toString(), "--kubeconfig", dir.resolve("absent").toString());
        assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line)
                .contains("config " + config + ": cannot read"));
    }

    @Test
    void flagsOverrideTheFileAndAreValidated(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("flotilla.properties");
        Files.writeString(config, "resilience.qps=50\nresilience.burst=many\n");
        RunCommand run = new RunCommand();
        run.burst = 7;
        SettingsFile file = SettingsFile.read(config);
        assertThat(run.guardConfig(file).rateLimits().qps()).isEqualTo(50);
        // The flag replaces the file's bad value before it is read.
        assertThat(run.guardConfig(file).rateLimits().burst()).isEqualTo(7);
        run.qps = -1.0;
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> run.guardConfig(file)))
                .hasMessageContaining("config " + config + " with --qps/--burst: resilience.qps must be a positive number");
        ProgramRun.Result r = Cli.run("run", "--qps", "-1", "--kubeconfig", dir.resolve("absent").toString());
        assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line).contains("--qps/--burst: resilience.qps"));
        assertThat(Cli.run("run", "--qps", "fast").code()).isEqualTo(ExitCode.USAGE.code());
    }
}
