package dev.flotilla.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One process of a {@link RealApiServer} (its kube-apiserver or its etcd) under the test's control,
 * for the faults a cluster suffers: killed, stopped, and started again with the same command line
 * (the same ports, certificates and data directory), as a supervisor would restart it.
 *
 * <pre>{@code
 * RealApiServer server = RealApiServer.start(true, true);
 * ServerProcess etcd = server.etcdProcess();
 * etcd.kill();            // SIGKILL: every write the API server takes now fails
 * etcd.start();           // the same flags, the same data
 * }</pre>
 */
public final class ServerProcess {

    private static final Duration STOP_LIMIT = Duration.ofSeconds(30);

    private final String name;
    private final List<String> command;
    private final Path log;
    private ProcessHandle current;
    private Process started;

    ServerProcess(String name, ProcessHandle process, Path log) {
        this.name = Objects.requireNonNull(name, "name");
        this.current = process;
        this.log = log;
        List<String> cmd = new ArrayList<>();
        cmd.add(process.info().command().orElseThrow(() -> new IllegalStateException("cannot read the command of " + name)));
        cmd.addAll(List.of(process.info().arguments().orElseThrow(() -> new IllegalStateException(
                "cannot read the arguments of " + name))));
        this.command = List.copyOf(cmd);
    }

    public String name() {
        return name;
    }

    /** The process's command line as it was started: the binary, then its arguments. */
    public List<String> command() {
        return command;
    }

    public synchronized boolean isAlive() {
        return current != null && current.isAlive();
    }

    /**
     * CPU time the running process has used since it started (user and system, from {@code /proc}), or
     * empty when it is not running or the platform does not say. A restart starts from zero.
     *
     * <pre>{@code
     * RealApiServer server = RealApiServer.start(true);
     * Duration before = server.apiServerProcess().cpuTime().orElse(Duration.ZERO);
     * }</pre>
     */
    public synchronized Optional<Duration> cpuTime() {
        return current == null || !current.isAlive() ? Optional.empty() : current.info().totalCpuDuration();
    }

    /** SIGKILL, then waits until it has exited. A process that is not running is no error. */
    public synchronized void kill() {
        end(true);
    }

    /** SIGTERM (a graceful stop), then waits until it has exited (SIGKILL after 30 s). */
    public synchronized void stop() {
        end(false);
    }

    /** Starts it again with the command line it was started with; its output goes to a file beside the server's. */
    public synchronized void start() {
        if (isAlive()) {
            throw new IllegalStateException(name + " is running (pid " + current.pid() + ")");
        }
        try {
            started = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + " again", e);
        }
        current = started.toHandle();
    }

    private void end(boolean force) {
        if (current == null || !current.isAlive()) {
            return;
        }
        ProcessHandle p = current;
        if (force) {
            p.destroyForcibly();
        } else {
            p.destroy();
        }
        try {
            p.onExit().get(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            p.destroyForcibly();
            p.onExit().orTimeout(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS).join();
        }
    }

    @Override
    public String toString() {
        return name + (isAlive() ? " (pid " + current.pid() + ")" : " (stopped)");
    }
}
