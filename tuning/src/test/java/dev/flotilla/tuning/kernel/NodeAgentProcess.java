package dev.flotilla.tuning.kernel;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Flotilla's node agent (node-agent/, built by its build.sh: a no-op when cached) as a process of the
 * test, reading this machine's kernel and listing the Pods of {@code nodeName} from the test's API server.
 */
public final class NodeAgentProcess implements AutoCloseable {

    private final Process process;
    private final Path dir;
    private final int port;

    private NodeAgentProcess(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.port = port;
    }

    /** The agent's binary: node-agent/build.sh's answer, building it when the sources changed. */
    public static Path binary() throws IOException, InterruptedException {
        Path script = repoRoot().resolve("node-agent/build.sh");
        Process build = new ProcessBuilder("bash", script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(build.getInputStream().readAllBytes()).strip();
        if (build.waitFor() != 0 || out.isEmpty()) {
            throw new AssertionError("node-agent/build.sh failed (exit " + build.exitValue() + "); its output is above");
        }
        return Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
    }

    static Path repoRoot() {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("node-agent/build.sh"))) {
                return p;
            }
        }
        throw new IllegalStateException("no node-agent/build.sh above " + here);
    }

    public static NodeAgentProcess start(String kubeconfigYaml, String nodeName, List<String> extraFlags) throws Exception {
        Path binary = binary();
        Path dir = Files.createTempDirectory("flotilla-node-agent-");
        Files.writeString(dir.resolve("kubeconfig"), kubeconfigYaml);
        int port = dev.flotilla.tuning.signals.PrometheusServer.freePort();
        List<String> argv = new ArrayList<>(List.of(binary.toString(), "--listen", "127.0.0.1:" + port, "--kubeconfig",
                dir.resolve("kubeconfig").toString(), "--node-name", nodeName, "--pod-refresh", "1s", "--bpf-stats"));
        argv.addAll(extraFlags);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile()).start();
        NodeAgentProcess agent = new NodeAgentProcess(p, dir, port);
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError("the node agent exited with " + p.exitValue() + ": " + agent.log());
            }
            try {
                if (http.send(HttpRequest.newBuilder(agent.uri().resolve("/healthz")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return agent;
                }
            } catch (IOException notYet) {
                // loading its programs
            }
            Thread.sleep(100);
        }
        agent.close();
        throw new AssertionError("the node agent was not healthy within 30 s: " + agent.log());
    }

    /** host:port, as a Prometheus target. */
    public String target() {
        return "127.0.0.1:" + port;
    }

    public URI uri() {
        return URI.create("http://" + target());
    }

    public long pid() {
        return process.pid();
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("agent.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** The agent's own CPU time so far (user + system), from /proc. */
    public Duration cpuTime() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
        return Duration.ofMillis(ticks * 10); // USER_HZ is 100 on Linux
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
