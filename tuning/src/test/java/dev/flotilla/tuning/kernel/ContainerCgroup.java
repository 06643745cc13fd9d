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

    /** A CFS quota of {@code quotaMicros} per {@code periodMicros}, as the kubelet writes a CPU limit. */
    public ContainerCgroup cpuLimit(long quotaMicros, long periodMicros) throws IOException {
        Files.writeString(dir("cpu").resolve("cpu.cfs_period_us"), Long.toString(periodMicros));
        Files.writeString(dir("cpu").resolve("cpu.cfs_quota_us"), Long.toString(quotaMicros));
        return this;
    }

    /** cpu.shares for a CPU request in millicores, as the kubelet computes them (1024 per core, at least 2). */
    public ContainerCgroup cpuRequest(long millis) throws IOException {
        Files.writeString(dir("cpu").resolve("cpu.shares"), Long.toString(Math.max(2, millis * 1024 / 1000)));
        return this;
    }

    public ContainerCgroup memoryLimit(long bytes) throws IOException {
        Files.writeString(dir("memory").resolve("memory.limit_in_bytes"), Long.toString(bytes));
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
            Path leaf = dir(h);
            // A cgroup is removed only once empty; the container's, its pod's, kubepods and the test's parent, leaf first.
            for (Path d = leaf; d != null && d.startsWith(KernelHost.CGROUP_ROOT.resolve(h)) && !d.equals(KernelHost.CGROUP_ROOT.resolve(h));
                    d = d.getParent()) {
                try {
                    Files.deleteIfExists(d);
                } catch (IOException e) {
                    break; // not empty: another container of the test still lives there
                }
            }
        }
    }
}
