package dev.flotilla.tuning.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * What the real-kernel scenarios need from this machine: root, the kernel's BTF (the node agent's
 * programs attach by BTF id: no tracefs), and cgroup v1 cpu, cpuacct and memory controllers beside a
 * cgroup2 hierarchy (a pure cgroup2 host is reported as unsupported by these scenarios, which place
 * processes in both).
 * Without them a test fails with the reason, unless {@code FLOTILLA_EBPF=off} says to skip it.
 */
public final class KernelHost {

    public static final String SWITCH = "FLOTILLA_EBPF";
    public static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    /** The hierarchies a scenario container is placed in: v1 controllers for its limits, cgroup2 for its identity. */
    public static final List<String> HIERARCHIES = List.of("cpu", "cpuacct", "memory", "unified");

    private KernelHost() {
    }

    /** Fails with what is missing, or skips when {@code FLOTILLA_EBPF=off}. */
    public static void require() {
        if ("off".equals(System.getenv(SWITCH))) {
            Assumptions.abort(SWITCH + "=off: the real eBPF scenarios are skipped");
        }
        Optional<String> missing = missing();
        if (missing.isPresent()) {
            throw new AssertionError("the real eBPF scenarios cannot run here: " + missing.get()
                    + " (set " + SWITCH + "=off to skip them on a machine without eBPF)");
        }
    }

    /** What this machine lacks for the scenarios, if anything. */
    public static Optional<String> missing() {
        List<String> problems = new ArrayList<>();
        if (!"0".equals(uid())) {
            problems.add("not root (uid " + uid() + "): loading eBPF programs and writing cgroups need root");
        }
        if (!Files.exists(Path.of("/sys/kernel/btf/vmlinux"))) {
            problems.add("no kernel BTF at /sys/kernel/btf/vmlinux");
        }
        for (String h : HIERARCHIES) {
            if (!Files.isDirectory(CGROUP_ROOT.resolve(h))) {
                problems.add("no cgroup hierarchy at " + CGROUP_ROOT.resolve(h));
            }
        }
        return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
    }

    private static String uid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.substring(4).strip().split("\\s+")[1]; // the effective uid
                }
            }
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown";
    }
}
