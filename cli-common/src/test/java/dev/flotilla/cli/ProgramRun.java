package dev.flotilla.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Runs a flotilla program in-process and captures what it printed (tests of the CLI and the demo;
 * published in this module's test jar).
 *
 * <pre>{@code
 * ProgramRun.Result r = ProgramRun.run(Main::execute, "run", "--workers", "0");
 * assertThat(r.code()).isEqualTo(2);
 * }</pre>
 */
public final class ProgramRun {

    /** A program's in-process entry point: {@code execute(args, out, err)}. */
    @FunctionalInterface
    public interface Entry {
        int execute(String[] args, PrintStream out, PrintStream err);
    }

    public record Result(int code, String out, String err, long millis) {
        public List<String> errLines() {
            return err.lines().filter(l -> !l.isEmpty()).toList();
        }

        public List<String> outLines() {
            return out.lines().filter(l -> !l.isEmpty()).toList();
        }
    }

    private ProgramRun() {
    }

    public static Result run(Entry program, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long start = System.nanoTime();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = program.execute(args, o, e);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - start) / 1_000_000);
    }
}
