package dev.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CI chaos pipeline ({@code .github/workflows/chaos.yml}): actionlint (built from the Go module proxy by
 * {@code scripts/actionlint.sh}) passes on the repository's workflows and fails on a broken one, and every shell step
 * parses as bash.
 */
class ChaosWorkflowTest {

    static Path home;
    static Path actionlint;

    @BeforeAll
    static void build() throws Exception {
        home = ChaosDocumentsTest.home();
        Run built = run(home, List.of("bash", "scripts/actionlint.sh"), 600);
        assertThat(built.code()).as("scripts/actionlint.sh: %s", built.output()).isZero();
        actionlint = Path.of(built.output().strip().lines().reduce((a, b) -> b).orElseThrow());
    }

    record Run(int code, String output) {
    }

    static Run run(Path dir, List<String> command, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void actionlintPassesOnTheWorkflows() throws Exception {
        Run lint = run(home, List.of(actionlint.toString(), "-no-color"), 120);
        assertThat(lint.code()).as("actionlint: %s", lint.output()).isZero();
        assertThat(home.resolve(".github/workflows/chaos.yml")).exists();
    }

    @Test
    void aBrokenWorkflowFailsActionlintWithTheReason(@TempDir Path dir) throws Exception {
        String workflow = Files.readString(home.resolve(".github/workflows/chaos.yml"))
                .replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    timeout-minutes: soon")
                .replace("${{ github.ref }}", "${{ github.no_such_context }}");
        Path file = Files.createDirectories(dir.resolve(".github/workflows")).resolve("chaos.yml");
        Files.writeString(file, workflow);
        Run lint = run(dir, List.of(actionlint.toString(), "-no-color", file.toString()), 120);
        assertThat(lint.code()).as("actionlint on a broken workflow: %s", lint.output()).isNotZero();
        assertThat(lint.output()).contains("no_such_context").contains("timeout-minutes");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyShellStepParsesAsBash(@TempDir Path dir) throws Exception {
        Map<String, Object> workflow = new KubernetesSerialization()
                .unmarshal(Files.readString(home.resolve(".github/workflows/chaos.yml")), Map.class);
        List<String> checked = new ArrayList<>();
        for (var job : ((Map<String, Object>) workflow.get("jobs")).entrySet()) {
            for (Object step : (List<Object>) ((Map<String, Object>) job.getValue()).get("steps")) {
                Object script = ((Map<String, Object>) step).get("run");
                if (script == null) {
                    continue;
                }
                Path file = dir.resolve("step-" + checked.size() + ".sh");
                Files.writeString(file, (String) script);
                Run syntax = run(dir, List.of("bash", "-n", file.toString()), 30);
                assertThat(syntax.code()).as("%s: %s", job.getKey(), syntax.output()).isZero();
                checked.add(job.getKey() + ": " + ((Map<String, Object>) step).get("name"));
            }
        }
        assertThat(checked).hasSizeGreaterThanOrEqualTo(5);
    }
}
