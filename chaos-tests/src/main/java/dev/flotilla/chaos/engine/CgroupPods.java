package dev.flotilla.chaos.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A cgroup per replica pod under cgroup v1's {@code cpu} and {@code memory} hierarchies, set up as
 * the kubelet would for the Deployment's memory limit ({@code memory.limit_in_bytes}). A process enters by writing its pid into
 * {@code cgroup.procs} before it execs, so everything it starts (stress-ng's workers) is counted
 * there too. Where the hierarchies cannot be written (not root), {@link #available()} says why and
 * StressChaos is refused.
 */
final class CgroupPods {

    static final Path CPU = Path.of("/sys/fs/cgroup/cpu");
    static final Path MEMORY = Path.of("/sys/fs/cgroup/memory");
    /** deploy/base/deployment.yaml: limits.memory 512Mi. */
    static final long MEMORY_LIMIT = 512L << 20;

    private final String parent;
    private final Optional<String> unavailable;

    CgroupPods(String parent) {
        this.parent = parent;
        this.unavailable = check();
    }

    /*
     * Each pod's group sits at the top of the hierarchy, beside the machine's other processes: under one
     * parent, all replicas would share a single top-level weight and starve against the API server and the
     * test JVM (each a top-level task of the same weight).
     */
    private Path cpuGroup(String pod) {
        return CPU.resolve(parent + "-" + pod);
    }

    private Path memoryGroup(String pod) {
        return MEMORY.resolve(parent + "-" + pod);
    }

    private List<Path> groups(Path hierarchy) {
        try (var all = Files.list(hierarchy)) {
            return all.filter(p -> p.getFileName().toString().startsWith(parent + "-") && Files.isDirectory(p)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Empty when the pods get cgroups; otherwise why not. */
    Optional<String> unavailable() {
        return unavailable;
    }

    boolean available() {
        return unavailable.isEmpty();
    }

    private Optional<String> check() {
        if (!Files.isDirectory(CPU) || !Files.isDirectory(MEMORY)) {
            return Optional.of("cgroup v1 cpu and memory hierarchies are not mounted at " + CPU + " and " + MEMORY);
        }
        if (!Files.isWritable(CPU) || !Files.isWritable(MEMORY)) {
            return Optional.of("cgroup v1 hierarchies at " + CPU + " and " + MEMORY + " are not writable (not root)");
        }
        return Optional.empty();
    }

    /** Creates the pod's cgroups (idempotent). */
    void create(String pod) {
        if (!available()) {
            return;
        }
        try {
            // cpu.shares stays at its default: the API server, etcd and the engine run outside any pod cgroup here, so
            // the 250m request's 256 shares would starve the replicas against them, which a node's kubepods tree does not.
            Files.createDirectories(cpuGroup(pod));
            Path mem = Files.createDirectories(memoryGroup(pod));
            Files.writeString(mem.resolve("memory.limit_in_bytes"), String.valueOf(MEMORY_LIMIT));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the cgroups of " + pod, e);
        }
    }

    /** The command prefix that puts a process in the pod's cgroups before it execs the rest. */
    List<String> enterCommand(String pod) {
        if (!available()) {
            return List.of();
        }
        create(pod);
        String cpu = cpuGroup(pod).resolve("cgroup.procs").toString();
        String mem = memoryGroup(pod).resolve("cgroup.procs").toString();
        return List.of("/bin/sh", "-c", "echo $$ > " + cpu + " && echo $$ > " + mem + " && exec \"$@\"", "sh");
    }

    /** The pod's memory cgroup's OOM kill count (memory.oom_control), 0 when unknown. */
    long oomKills(String pod) {
        Path f = memoryGroup(pod).resolve("memory.oom_control");
        try {
            for (String line : Files.readAllLines(f)) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring("oom_kill ".length()).trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    /** Removes the cgroups of every pod, once their processes are gone. */
    void removeAll() {
        if (!available()) {
            return;
        }
        for (Path hierarchy : List.of(CPU, MEMORY)) {
            groups(hierarchy).forEach(CgroupPods::rmdir);
        }
    }

    /** rmdir of a cgroup (its control files go with it); a cgroup that still has a process cannot be removed. */
    private static void rmdir(Path cgroup) {
        for (int attempt = 0; attempt < 50; attempt++) {
            try {
                Files.deleteIfExists(cgroup);
                return;
            } catch (IOException e) {
                try {
                    Thread.sleep(100); // a killed process leaves its cgroup a moment after it is reaped
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Pids still in any pod cgroup of this engine. */
    List<Long> leftoverPids() {
        if (!available()) {
            return List.of();
        }
        return groups(CPU).stream().flatMap(p -> {
            try {
                return Files.readAllLines(p.resolve("cgroup.procs")).stream();
            } catch (IOException e) {
                return java.util.stream.Stream.<String>empty();
            }
        }).filter(l -> !l.isBlank()).map(Long::parseLong).toList();
    }
}
