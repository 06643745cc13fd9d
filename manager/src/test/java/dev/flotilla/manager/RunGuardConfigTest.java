package dev.flotilla.manager;

import dev.flotilla.cli.ProgramRun;
import dev.flotilla.cli.ExitCode;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API guard's settings reach `flotilla run` through --config and flags, and bad ones stop it with one line. */
class RunGuardConfigTest {

    @Test
    void anInvalidGuardSettingIsAConfigurationErrorNamingTheKey(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("flotilla.properties");
        Files.writeString(config, "resilience.qps=abc\n");
        ProgramRun.Result r = Cli.run("run", "--config", config.toString(), "--kubeconfig", dir.resolve("absent").toString());
        assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line)
                .contains(config.toString()).contains("resilience.qps=abc"));
    }

    @Test
    void flagsOverrideTheFileAndAreValidated(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("flotilla.properties");
        Files.writeString(config, "resilience.qps=50\n");
        RunCommand run = new RunCommand();
        run.configFile = config;
        run.burst = 7;
        assertThat(run.guardConfig().qps()).isEqualTo(50);
        assertThat(run.guardConfig().burst()).isEqualTo(7);
        run.qps = -1.0;
        ProgramRun.Result r = Cli.run("run", "--qps", "-1", "--kubeconfig", dir.resolve("absent").toString());
        assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line).contains("resilience.qps"));
        assertThat(Cli.run("run", "--qps", "fast").code()).isEqualTo(ExitCode.USAGE.code());
    }
}
