package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.bench.protocol.Message;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One contender JVM as the driver sees it: spawned with its logs (stderr) in a file, its protocol
 * lines (stdout) collected, and commands sent on stdin.
 */
final class ContenderProcess implements AutoCloseable {

    private final String label;
    private final Process process;
    private final long spawnedAtMillis;
    private final Path log;
    private final Writer stdin;
    private final List<Message> unread = new ArrayList<>();

    private ContenderProcess(String label, Process process, long spawnedAtMillis, Path log) {
        this.label = label;
        this.process = process;
        this.spawnedAtMillis = spawnedAtMillis;
        this.log = log;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread.ofVirtual().name("stdout-" + label).start(this::readStdout);
    }

    static ContenderProcess spawn(String label, List<String> command, Path log) throws IOException {
        Files.createDirectories(log.getParent());
        long spawned = System.currentTimeMillis();
        Process p = new ProcessBuilder(command).redirectError(log.toFile()).start();
        return new ContenderProcess(label, p, spawned, log);
    }

    /** The contender JVM (a cap's shell execs it, so the pid is the JVM's). */
    ProcessHandle handle() {
        return process.toHandle();
    }

    /**
     * CPU time so far of the JVM's JIT compiler threads ("C1/C2 CompilerThread"), from
     * {@code /proc/<pid>/task/*}; 0 where unreadable. A compiler thread the JVM has since retired takes
     * its time with it, so this is a lower bound.
     */
    long compilerCpuMillis() {
        Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
        long ticks = 0;
        try (var threads = Files.list(tasks)) {
            for (Path t : threads.toList()) {
                try {
                    String name = Files.readString(t.resolve("comm"));
                    if (!name.startsWith("C") || !name.contains("CompilerThre")) {
                        continue;
                    }
                    String stat = Files.readString(t.resolve("stat"));
                    // Fields after the command's closing parenthesis: state is the 3rd, utime the 14th, stime the 15th.
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                } catch (IOException | RuntimeException e) {
                    // the thread ended while being read
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return ticks * 1000 / CLOCK_TICKS_PER_SECOND;
    }

    /** USER_HZ, the unit of /proc's CPU times (100 on Linux). */
    private static final long CLOCK_TICKS_PER_SECOND = 100;

    long spawnedAtMillis() {
        return spawnedAtMillis;
    }

    private void readStdout() {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                Message.parse(line).ifPresent(m -> {
                    synchronized (unread) {
                        unread.add(m);
                        unread.notifyAll();
                    }
                });
            }
        } catch (IOException | RuntimeException e) {
            // the process ended; await() reports it with the log's tail
        } finally {
            synchronized (unread) {
                unread.notifyAll();
            }
        }
    }

    /** The next message named {@code event}, waiting at most {@code timeout}. */
    Message await(String event, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (unread) {
            while (true) {
                for (int i = 0; i < unread.size(); i++) {
                    Message m = unread.get(i);
                    if (m.event().equals(event)) {
                        unread.remove(i);
                        return m;
                    }
                    if (m.event().equals(ContenderSession.ERROR)) {
                        throw new IllegalStateException(label + " answered " + m.line());
                    }
                }
                long left = deadline - System.nanoTime();
                if (!process.isAlive()) {
                    throw new IllegalStateException(label + " exited with " + process.exitValue() + " before '" + event
                            + "'; last lines of " + log + ":\n" + tail());
                }
                if (left <= 0) {
                    throw new IllegalStateException(label + " sent no '" + event + "' within " + timeout + "; last lines of "
                            + log + ":\n" + tail());
                }
                unread.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 500)));
            }
        }
    }

    /** Sends {@code command} and waits for the reply of the same name. */
    Message ask(String command, Duration timeout) throws IOException, InterruptedException {
        send(command);
        return await(command, timeout);
    }

    void send(String command) throws IOException {
        stdin.write(command + "\n");
        stdin.flush();
    }

    private String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    /**
     * Ends the contender with SIGTERM (its JVM's shutdown hooks run, so a JFR recording is written),
     * then SIGKILL if it is still there after {@code timeout}. Nothing is measured after the last
     * answer, so a graceful drain would only cost time.
     */
    void stop(Duration timeout) throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop(Duration.ofSeconds(15));
    }
}
