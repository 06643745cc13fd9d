package dev.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.cli.Program;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The command's contract where no cluster is needed: documents are refused before anything starts. */
class ChaosCommandTest {

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Program.execute(new ChaosCommand(), args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void oneRefusedDocumentAmongGoodOnesStopsTheRunBeforeAnythingStartsWithOneLine() throws Exception {
        Path good = ChaosDocumentsTest.home().resolve("deploy/chaos/pod-kill-one.yaml");
        Path bad = Path.of(getClass().getResource("/invalid/corrupt.yaml").toURI());
        long before = ProcessHandle.current().descendants().count();
        Run r = run("run", good.toString(), bad.toString());
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err().lines().toList()).singleElement().asString()
                .startsWith("flotilla: corrupt.yaml: NetworkChaos spec.action 'corrupt' is not run by the local engine");
        assertThat(ProcessHandle.current().descendants().count()).as("nothing started").isEqualTo(before);
    }

    @Test
    void aMissingFileOrNoFileIsAUsageOrConfigurationError() {
        assertThat(run("run").code()).isEqualTo(2);
        Run missing = run("run", "no-such-experiment.yaml");
        assertThat(missing.code()).isEqualTo(3);
        assertThat(missing.err()).contains("no-such-experiment.yaml: cannot read");
        assertThat(run("run", "--replicas", "0", ChaosDocumentsTest.home().resolve("deploy/chaos/pod-kill-one.yaml").toString())
                .code()).isEqualTo(2);
    }
}
