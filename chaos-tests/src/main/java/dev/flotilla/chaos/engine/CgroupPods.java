package dev.flotilla.chaos.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A cgroup per replica pod under cgroup v1's {@code cpu} and {@code memory} hierarchies, set up as
 * the kubelet would for the Deployment's resources: {@code cpu.shares} from the CPU request and
 * {@code memory.limit_in_bytes} from the memory limit. A process enters by writing its pid into
 * {@code cgroup.procs} before it execs, so everything it starts (stress-ng's workers) is counted
 * there too. Where the hierarchies cannot be written (not root), {@link #available()} says why and
 * StressChaos is refused.
 */
final class CgroupPods {

    static final Path CPU = Path.of("/sys/fs/cgroup/cpu");
    static final Path MEMORY = Path.of("/sys/fs/cgroup/memory");
    /** deploy/base/deployment.yaml: requests.cpu 250m (kubelet: 256 shares), limits.memory 512Mi. */
    static final long CPU_SHARES = 256;
    static final long MEMORY_LIMIT = 512L << 20;

    private final String parent;
    private final Optional<String> unavailable;

    CgroupPods(String parent) {
        this.parent = parent;
        this.unavailable = check();
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
            Path cpu = Files.createDirectories(CPU.resolve(parent).resolve(pod));
            Files.writeString(cpu.resolve("cpu.shares"), String.valueOf(CPU_SHARES));
            Path mem = Files.createDirectories(MEMORY.resolve(parent).resolve(pod));
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
        String cpu = CPU.resolve(parent).resolve(pod).resolve("cgroup.procs").toString();
        String mem = MEMORY.resolve(parent).resolve(pod).resolve("cgroup.procs").toString();
        return List.of("/bin/sh", "-c", "echo $$ > " + cpu + " && echo $$ > " + mem + " && exec \"$@\"", "sh");
    }

    /** The pod's memory cgroup's OOM kill count (memory.oom_control), 0 when unknown. */
    long oomKills(String pod) {
        Path f = MEMORY.resolve(parent).resolve(pod).resolve("memory.oom_control");
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
        for (Path root : List.of(CPU.resolve(parent), MEMORY.resolve(parent))) {
            try (var pods = Files.list(root)) {
                for (Path p : pods.toList()) {
                    Files.deleteIfExists(p); // rmdir; fails while a process is still inside
                }
                Files.deleteIfExists(root);
            } catch (IOException e) {
                // best effort: a cgroup with a process left is reported by the leftover check
            }
        }
    }

    /** Pids still in any pod cgroup of this engine. */
    List<Long> leftoverPids() {
        if (!available() || !Files.isDirectory(CPU.resolve(parent))) {
            return List.of();
        }
        try (var pods = Files.list(CPU.resolve(parent))) {
            return pods.flatMap(p -> {
                try {
                    return Files.readAllLines(p.resolve("cgroup.procs")).stream();
                } catch (IOException e) {
                    return java.util.stream.Stream.empty();
                }
            }).filter(l -> !l.isBlank()).map(Long::parseLong).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
