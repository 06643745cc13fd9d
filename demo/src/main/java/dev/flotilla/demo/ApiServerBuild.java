package dev.flotilla.demo;

import dev.flotilla.core.settings.Durations;
import dev.flotilla.testing.ApiServerBinaries;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Builds the real API server's binaries for the demo on a machine that has none yet, by running
 * the repository's {@value #SCRIPT} (the one build recipe; {@code ./test.sh} runs it too). Its
 * progress lines are passed through as they come, with a reminder of the elapsed time whenever
 * it is silent for a while (the Go build of kube-apiserver prints nothing for minutes).
 *
 * <pre>{@code
 * ApiServerBuild build = new ApiServerBuild(ApiServerBuild.findScript(), System.out, Duration.ofSeconds(30));
 * switch (build.run()) {
 *     case ApiServerBuild.Built b -> System.out.println("binaries in " + b.dir());
 *     case ApiServerBuild.Unavailable u -> System.out.println("no real API server: " + u.reason());
 * }
 * }</pre>
 */
final class ApiServerBuild {

    /** The build script, relative to the repository root. */
    static final String SCRIPT = "testing/apiserver/build.sh";
    /** Set by the {@code ./flotilla} launcher to the repository root. */
    static final String HOME_PROPERTY = "flotilla.home";
    /** What a cold build costs, measured on the 2-core CI machine (README states the same). */
    static final String COLD_BUILD_TIME = "about 12 minutes on 2 cores";
    /** Lines of the script's output kept for the failure reason. */
    private static final int TAIL = 20;

    /** What running the build came to. */
    sealed interface Outcome permits Built, Unavailable {
    }

    /** The binaries are in {@code dir}; building (or finding them up to date) took {@code took}. */
    record Built(Path dir, Duration took) implements Outcome {
        Built {
            Objects.requireNonNull(dir, "dir");
            Objects.requireNonNull(took, "took");
        }
    }

    /** No binaries: {@code reason} says why in one line (no script, no Go, the build failed and where its log is). */
    record Unavailable(String reason) implements Outcome {
        Unavailable {
            Objects.requireNonNull(reason, "reason");
        }
    }

    private final Optional<Path> script;
    private final PrintStream progress;
    private final Duration reminderEvery;

    /**
     * @param script        the build script, empty when there is none (then {@link #run} says so)
     * @param progress      where the script's progress goes
     * @param reminderEvery how long the script may be silent before an elapsed-time line is printed
     */
    ApiServerBuild(Optional<Path> script, PrintStream progress, Duration reminderEvery) {
        this.script = Objects.requireNonNull(script, "script");
        this.progress = Objects.requireNonNull(progress, "progress");
        this.reminderEvery = Objects.requireNonNull(reminderEvery, "reminderEvery");
    }

    /**
     * The build script: under {@code -Dflotilla.home} if set (the launcher sets it), else next to
     * this program's jar ({@code <root>/demo/target/flotilla-demo.jar}); empty if neither has it.
     */
    static Optional<Path> findScript() {
        String home = System.getProperty(HOME_PROPERTY);
        if (home != null && !home.isBlank()) {
            return existing(Path.of(home).resolve(SCRIPT));
        }
        try {
            Path jar = Path.of(ApiServerBuild.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // demo/target/flotilla-demo.jar (or demo/target/classes) -> the repository root
            Path root = jar.getParent() == null || jar.getParent().getParent() == null ? null : jar.getParent().getParent().getParent();
            return root == null ? Optional.empty() : existing(root.resolve(SCRIPT));
        } catch (URISyntaxException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<Path> existing(Path p) {
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** Runs the script to the end; never throws for a failed build, which is an {@link Unavailable}. */
    Outcome run() throws InterruptedException {
        if (script.isEmpty()) {
            return new Unavailable("the build script " + SCRIPT + " is not next to this program (run it from a checkout, "
                    + "or set -D" + HOME_PROPERTY + "=<checkout>)");
        }
        BuildLog log = BuildLog.open(progress);
        ProcessBuilder pb = new ProcessBuilder("bash", script.get().toString())
                .directory(script.get().getParent().toFile())
                .redirectErrorStream(true);
        // The script and this program must agree on where the binaries go.
        pb.environment().put(ApiServerBinaries.DIR_ENV, ApiServerBinaries.baseDir().toString());
        long start = System.nanoTime();
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            log.delete();
            return new Unavailable("cannot run " + script.get() + ": " + e.getMessage());
        }
        // Go's compilers are the script's children: if this program is stopped (Ctrl-C, SIGTERM), they go too.
        Thread reaper = new Thread(() -> destroyTree(process), "apiserver-build-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
        try {
            return follow(process, log, start);
        } catch (InterruptedException e) {
            destroyTree(process);
            throw e;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: it does the same
            }
        }
    }

    private Outcome follow(Process process, BuildLog log, long start) throws InterruptedException {
        LinkedBlockingQueue<Optional<String>> lines = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofVirtual().name("apiserver-build-output").start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.add(Optional.of(line));
                }
            } catch (IOException e) {
                lines.add(Optional.of("(reading the build's output failed: " + e.getMessage() + ")"));
            } finally {
                lines.add(Optional.empty());
            }
        });
        Deque<String> tail = new ArrayDeque<>();
        try {
            while (true) {
                Optional<String> next = lines.poll(reminderEvery.toMillis(), TimeUnit.MILLISECONDS);
                if (next == null) {
                    progress.println("  ... still building, " + Durations.format(elapsed(start)) + " elapsed");
                    continue;
                }
                if (next.isEmpty()) {
                    break;
                }
                String line = next.get();
                log.write(line);
                if (tail.size() == TAIL) {
                    tail.removeFirst();
                }
                tail.addLast(line);
                // The script's last stdout line is the binary directory: not progress.
                if (line.startsWith("[apiserver-build")) {
                    progress.println("  " + line);
                }
            }
        } finally {
            log.close();
        }
        int code = process.waitFor();
        reader.join();
        if (code == 0 && ApiServerBinaries.present()) {
            log.delete(); // nothing to look into
            return new Built(ApiServerBinaries.binaryDir(), elapsed(start));
        }
        String why = tail.stream().filter(l -> l.contains("ERROR")).reduce((a, b) -> b)
                .map(l -> l.replaceFirst("^\\[apiserver-build[^]]*]\\s*", ""))
                .orElse(code == 0 ? "it exited 0 but " + ApiServerBinaries.binaryDir() + " has no binaries" : "it exited " + code);
        return new Unavailable("building the kube-apiserver failed after " + Durations.format(elapsed(start)) + ": " + why
                + log.where());
    }

    /** Stops the script and everything it started (go, compile, link), children first. */
    private static void destroyTree(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /**
     * The build's full output in a temporary file, kept only when the build fails. A log that
     * cannot be created or written costs the log, not the build: that is said once.
     */
    private static final class BuildLog {
        private final PrintStream progress;
        private Path file;
        private BufferedWriter out;

        private BuildLog(PrintStream progress, Path file, BufferedWriter out) {
            this.progress = progress;
            this.file = file;
            this.out = out;
        }

        static BuildLog open(PrintStream progress) {
            Path file = null;
            try {
                file = Files.createTempFile("flotilla-apiserver-build-", ".log");
                return new BuildLog(progress, file, Files.newBufferedWriter(file));
            } catch (IOException e) {
                progress.println("  (no build log: " + e.getMessage() + ")");
                deleteQuietly(file);
                return new BuildLog(progress, null, null);
            }
        }

        void write(String line) {
            if (out == null) {
                return;
            }
            try {
                out.write(line);
                out.newLine();
                out.flush();
            } catch (IOException e) {
                progress.println("  (the build log " + file + " stopped being written: " + e.getMessage() + ")");
                close();
                out = null;
            }
        }

        void close() {
            if (out != null) {
                try {
                    out.close();
                } catch (IOException ignored) {
                    // the log is an aid; the build's outcome does not depend on it
                }
            }
        }

        void delete() {
            close();
            out = null;
            deleteQuietly(file);
            file = null;
        }

        /** " (log: <file>)", or nothing when there is none. */
        String where() {
            return file == null ? "" : " (log: " + file + ")";
        }

        private static void deleteQuietly(Path p) {
            if (p != null) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // a temporary file left behind
                }
            }
        }
    }

    private static Duration elapsed(long startNanos) {
        return Duration.ofSeconds(Math.max(0, (System.nanoTime() - startNanos) / 1_000_000_000L));
    }
}
