package dev.flotilla.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.cli.ExitCode;
import dev.flotilla.cli.ProgramRun;
import dev.flotilla.cli.Version;
import org.junit.jupiter.api.Test;

/** The demo's own command line: bad values are one-line usage errors (exit 2), help and version exit 0. */
class DemoOptionsTest {

    private static void assertOneUsageLine(ProgramRun.Result r, String... fragments) {
        assertThat(r.code()).as("stderr: %s", r.err()).isEqualTo(ExitCode.USAGE.code());
        assertThat(r.errLines()).singleElement().satisfies(line -> {
            assertThat(line).startsWith("flotilla: ");
            for (String f : fragments) {
                assertThat(line).contains(f);
            }
        });
    }

    @Test
    void outOfRangeValuesAreUsageErrorsNamingTheOption() {
        assertOneUsageLine(ProgramRun.run(DemoCommand::execute, "--workers", "0"), "--workers");
        assertOneUsageLine(ProgramRun.run(DemoCommand::execute, "--failure-rate", "0.95"), "--failure-rate", "0..0.9");
        assertOneUsageLine(ProgramRun.run(DemoCommand::execute, "--updates", "-0.1"), "--updates");
        assertOneUsageLine(ProgramRun.run(DemoCommand::execute, "--objects", "0"), "--objects");
        assertOneUsageLine(ProgramRun.run(DemoCommand::execute, "--timeout", "soon"), "--timeout");
        assertOneUsageLine(ProgramRun.run(DemoCommand::execute, "--bogus"), "Unknown option: '--bogus'",
                "try 'flotilla demo --help'");
    }

    @Test
    void helpAndVersionExitZero() {
        ProgramRun.Result help = ProgramRun.run(DemoCommand::execute, "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Usage: flotilla demo").contains("--backend").contains("--replicas");
        ProgramRun.Result version = ProgramRun.run(DemoCommand::execute, "--version");
        assertThat(version.code()).isZero();
        assertThat(version.out().strip()).isEqualTo("flotilla " + Version.get());
    }
}
