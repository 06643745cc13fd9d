package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.cli.ExitCode;
import dev.flotilla.cli.ProgramRun;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.sharding.ShardingSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `flotilla run --config` refuses every key no component reads, before it connects anywhere:
 * one line on stderr naming the key and the file, exit 3.
 */
class RunSettingsFileTest {

    private static ProgramRun.Result run(Path dir, String content) throws Exception {
        Path config = dir.resolve("flotilla.properties");
        Files.writeString(config, content);
        // A kubeconfig that does not exist: if the keys passed, the run would stop there instead (also exit 3, other text).
        return Cli.run("run", "--identity", "a", "--config", config.toString(), "--kubeconfig", dir.resolve("absent").toString());
    }

    @Test
    void aMistypedPrefixIsRefusedNamingTheKeyAndTheFile(@TempDir Path dir) throws Exception {
        ProgramRun.Result r = run(dir, "resiliance.qps=5\n");
        assertThat(r.code()).as("stderr: %s", r.err()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().isEqualTo("flotilla: config " + dir.resolve("flotilla.properties")
                + ": resiliance.qps: unknown key: no component reads keys under 'resiliance.' (known prefixes: resilience., sharding.)");
    }

    @Test
    void anUnknownKeyUnderAKnownPrefixIsRefusedNamingTheKeyAndTheFile(@TempDir Path dir) throws Exception {
        ProgramRun.Result r = run(dir, "sharding.shard=8\n");
        assertThat(r.code()).as("stderr: %s", r.err()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line)
                .startsWith("flotilla: config " + dir.resolve("flotilla.properties") + ": sharding.shard: unknown key (sharding.* keys: ")
                .contains(ShardingSettings.KEY_SHARDS));

        ProgramRun.Result guard = run(dir, "resilience.qsp=5\n");
        assertThat(guard.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(guard.errLines()).singleElement().satisfies(line -> assertThat(line)
                .contains(": resilience.qsp: unknown key (resilience.* keys: ").contains(GuardConfig.KEY_QPS));
    }

    @Test
    void everyBadKeyIsNamedOnTheOneLine(@TempDir Path dir) throws Exception {
        ProgramRun.Result r = run(dir, "resiliance.qps=5\nsharding.shard=8\nresilience.qps=5\n");
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line)
                .contains("resiliance.qps: unknown key").contains("sharding.shard: unknown key").doesNotContain("resilience.qps:"));
    }

    @Test
    void knownKeysPassTheCheck(@TempDir Path dir) throws Exception {
        ProgramRun.Result r = run(dir, "resilience.qps=5\nsharding.shards=8\n");
        assertThat(r.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> assertThat(line).contains("kubeconfig").doesNotContain("unknown key"));
    }
}
