package dev.flotilla.chaos.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * One replica as a pod of the local topology: a pod name and labels (a Pod object on the API
 * server carries them, with a container status the engine keeps as a kubelet would), and the
 * {@code flotilla run} process of its one container, started in the pod's own cgroups with
 * libfaketime preloaded (its wall-clock offset read from a file the engine writes).
 */
final class ReplicaPod {

    private final String name;
    private final Path dir;
    private Process process;
    private String containerId;
    private String lastContainerId;
    private int restarts;
    private Instant startedAt;
    private boolean expectedDown;

    ReplicaPod(String name, Path dir) {
        this.name = Objects.requireNonNull(name, "name");
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            Files.writeString(clockFile(), "+0\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dir, e);
        }
    }

    String name() {
        return name;
    }

    Path log() {
        return dir.resolve("container.log");
    }

    Path clockFile() {
        return dir.resolve("faketime");
    }

    synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    synchronized int restarts() {
        return restarts;
    }

    synchronized String containerId() {
        return containerId;
    }

    synchronized Optional<String> lastContainerId() {
        return Optional.ofNullable(lastContainerId);
    }

    synchronized Instant startedAt() {
        return startedAt;
    }

    /** Whether the engine took this container down on purpose (pod-failure): not a crash for the kubelet to restart. */
    synchronized boolean expectedDown() {
        return expectedDown;
    }

    /** Starts the container: the first start, or a restart in the same pod (restart count + 1, a new container ID). */
    synchronized void startContainer(ReplicaLauncher launcher) {
        if (isAlive()) {
            throw new IllegalStateException(name + " is running");
        }
        if (containerId != null) {
            lastContainerId = containerId;
            restarts++;
        }
        containerId = "local://" + UUID.randomUUID();
        startedAt = Instant.now();
        expectedDown = false;
        process = launcher.start(name, this);
    }

    /** SIGKILL of the container; waits until it is gone. */
    synchronized void killContainer(boolean expectDown) {
        expectedDown = expectDown;
        if (process == null) {
            return;
        }
        process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The wall-clock offset libfaketime applies to this container ({@code +0}: none); read within a second. */
    void setClockOffset(Duration offset) {
        long s = offset.toSeconds();
        try {
            Files.writeString(clockFile(), (s < 0 ? "-" : "+") + Math.abs(s) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + clockFile(), e);
        }
    }

    /** The last lines of its log, for a report of why it failed. */
    List<String> tail(int lines) {
        try {
            List<String> all = Files.exists(log()) ? Files.readAllLines(log()) : List.of();
            return new ArrayList<>(all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return List.of("(cannot read " + log() + ": " + e.getMessage() + ")");
        }
    }

    Map<String, String> labels() {
        return Map.of(LocalTopology.APP_LABEL, LocalTopology.APP_NAME);
    }

    @Override
    public String toString() {
        return name;
    }
}
