package dev.flotilla.manager;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Runs the CLI in-process and captures what it prints. */
public final class Cli {

    public record Result(int code, String out, String err, long millis) {
        public List<String> errLines() {
            return err.lines().filter(l -> !l.isEmpty()).toList();
        }

        public List<String> outLines() {
            return out.lines().filter(l -> !l.isEmpty()).toList();
        }
    }

    private Cli() {
    }

    public static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long start = System.nanoTime();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.execute(args, o, e);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - start) / 1_000_000);
    }
}
