package dev.flotilla.tuning.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A container's cgroups as a kubelet with the cgroupfs driver lays them out
 * ({@code <parent>/kubepods/pod<uid>/<container id>}), in each of {@link KernelHost#HIERARCHIES}, with the
 * processes started in it. The node agent finds it by that layout and maps it to the Pod whose uid and
 * container status name it, as it would on a real node.
 */
public final class ContainerCgroup implements AutoCloseable {

    private final String relative;
    private final List<Process> processes = new ArrayList<>();

    /**
     * @param parent      a directory of the test's own under each hierarchy (so nothing else on the host is touched)
     * @param podUid      the Pod's uid on the API server
     * @param containerId the id the Pod's container status carries (without the runtime prefix)
     */
    public ContainerCgroup(String parent, String podUid, String containerId) throws IOException {
        this.relative = parent + "/kubepods/pod" + podUid + "/" + containerId;
        for (String h : KernelHost.HIERARCHIES) {
            Files.createDirectories(dir(h));
        }
    }

    /** The cgroup's path below each hierarchy's root, starting with '/'. */
    public String path() {
        return "/" + relative;
    }

    public Path dir(String hierarchy) {
        return KernelHost.CGROUP_ROOT.resolve(hierarchy).resolve(relative);
    }

    /** The pod's cgroup (the container's parent), where the kubelet writes the pod's totals. */
    public Path podDir(String hierarchy) {
        return dir(hierarchy).getParent();
    }

    /**
     * A CFS quota of {@code quotaMicros} per {@code periodMicros}, as the kubelet writes a CPU limit on the container's
     * cgroup. Not on the pod's: the kubelet writes the same sum there for a one-container pod, and with equal quotas on
     * both levels the kernel throttled the pod's level first here (the container's cpu.stat, which cAdvisor and the
     * agent read, then showed 3% of periods throttled instead of 65-100%); a real node has the same blind spot.
     */
    public ContainerCgroup cpuLimit(long quotaMicros, long periodMicros) throws IOException {
        Files.writeString(dir("cpu").resolve("cpu.cfs_period_us"), Long.toString(periodMicros));
        Files.writeString(dir("cpu").resolve("cpu.cfs_quota_us"), Long.toString(quotaMicros));
        return this;
    }

    /**
     * cpu.shares for a CPU request in millicores, as the kubelet computes them (1024 per core, at least 2), on the
     * container's cgroup and the pod's: the pod's weight is what competes with the other pods under kubepods.
     */
    public ContainerCgroup cpuRequest(long millis) throws IOException {
        String shares = Long.toString(Math.max(2, millis * 1024 / 1000));
        Files.writeString(podDir("cpu").resolve("cpu.shares"), shares);
        Files.writeString(dir("cpu").resolve("cpu.shares"), shares);
        return this;
    }

    /** A memory limit on the container's and the pod's cgroup, with no swapping (the kubelet runs without swap). */
    public ContainerCgroup memoryLimit(long bytes) throws IOException {
        for (Path d : List.of(podDir("memory"), dir("memory"))) {
            Files.writeString(d.resolve("memory.limit_in_bytes"), Long.toString(bytes));
            Files.writeString(d.resolve("memory.swappiness"), "0");
        }
        return this;
    }

    /**
     * Starts {@code command} inside this cgroup: a shell moves itself into every hierarchy first, then
     * execs the command, so the command's first instruction already runs (and is counted) here.
     */
    public Process start(List<String> command, Path log) throws IOException {
        List<String> argv = new ArrayList<>(List.of("sh", "-c", script(), "sh"));
        argv.addAll(command);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        return p;
    }

    private String script() {
        StringBuilder s = new StringBuilder();
        for (String h : KernelHost.HIERARCHIES) {
            s.append("echo $$ > '").append(dir(h).resolve("cgroup.procs")).append("' || exit 97; ");
        }
        return s.append("exec \"$@\"").toString();
    }

    /** Stops the processes it started; the cgroups stay until {@link #close()}. */
    public void stopProcesses() throws InterruptedException {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : processes) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws Exception {
        stopProcesses();
        for (String h : KernelHost.HIERARCHIES) {
            removeUpwards(KernelHost.CGROUP_ROOT.resolve(h), dir(h));
        }
    }

    /**
     * Removes {@code leaf} and its empty parents up to (not including) {@code root}, once its processes are gone: a
     * killed process's children re-parented to init may take a moment to be reaped, and a cgroup with a process left
     * cannot be removed.
     */
    static void removeUpwards(Path root, Path leaf) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (Files.isDirectory(leaf) && !Files.readString(leaf.resolve("cgroup.procs")).isBlank() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        for (Path d = leaf; d != null && d.startsWith(root) && !d.equals(root); d = d.getParent()) {
            try {
                Files.deleteIfExists(d);
            } catch (IOException e) {
                break; // not empty: another container of the test still lives there
            }
        }
    }

    /**
     * Kills what is left in, and removes, the cgroups a previous run under {@code prefix} left behind (a test JVM that
     * was killed cannot clean up).
     */
    static void sweep(String prefix) throws Exception {
        for (String h : KernelHost.HIERARCHIES) {
            Path root = KernelHost.CGROUP_ROOT.resolve(h);
            List<Path> stale;
            try (var dirs = Files.list(root)) {
                stale = dirs.filter(d -> d.getFileName().toString().startsWith(prefix)).toList();
            }
            for (Path top : stale) {
                List<Path> all;
                try (var walk = Files.walk(top)) {
                    all = walk.filter(Files::isDirectory).sorted(java.util.Comparator.reverseOrder()).toList();
                }
                for (Path d : all) {
                    for (String pid : Files.readAllLines(d.resolve("cgroup.procs"))) {
                        ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                }
                for (Path d : all) {
                    removeUpwards(root, d);
                }
            }
        }
    }
}
