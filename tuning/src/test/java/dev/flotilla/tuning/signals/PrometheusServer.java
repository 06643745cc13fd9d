package dev.flotilla.tuning.signals;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real Prometheus server (Debian's package, installed by scripts/prometheus.sh) started by a test
 * with its own configuration and data directory, scraping the given targets every second.
 */
public final class PrometheusServer implements AutoCloseable {

    private static final String QUERY_LOG = "query.log";

    private final Process process;
    private final Path dir;
    private final int port;

    private PrometheusServer(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.port = port;
    }

    public static PrometheusServer start(String... targets) throws Exception {
        return start(List.of(new Job("scripted", Arrays.stream(targets).map(t -> new Target(t, Map.of()))
                .toList())));
    }

    /** One scrape target and the labels service discovery would attach to it (a ServiceMonitor: job, namespace, pod, ...). */
    public record Target(String address, Map<String, String> labels) {
    }

    /**
     * A scrape job; its name is the {@code job} label of its series. With a bearer token it scrapes over HTTPS with
     * that token and without verifying the certificate, as a ServiceMonitor with {@code bearerTokenFile} and
     * {@code insecureSkipVerify} does.
     */
    public record Job(String name, List<Target> targets, java.util.Optional<String> bearerToken) {
        public Job(String name, List<Target> targets) {
            this(name, targets, java.util.Optional.empty());
        }
    }

    /**
     * Scrapes each job's targets every second, with their labels. Like a ServiceMonitor's default
     * ({@code honorLabels: false}), a scraped label that a target label also sets is kept as {@code exported_<label>}.
     */
    public static PrometheusServer start(List<Job> jobs) throws Exception {
        String binary = Stream.of("/usr/bin/prometheus", "/usr/local/bin/prometheus").filter(p -> Files.isExecutable(Path.of(p)))
                .findFirst().orElseThrow(() -> new IllegalStateException(
                        "no prometheus binary: run scripts/prometheus.sh (test.sh does) to install Debian's package"));
        Path dir = Files.createTempDirectory("flotilla-prometheus-");
        int port = freePort();
        // Every query it answers is logged (JSON, one a line), for tests that check what a client asked.
        StringBuilder config = new StringBuilder("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  query_log_file: \"")
                .append(dir.resolve(QUERY_LOG)).append("\"\nscrape_configs:\n");
        for (Job job : jobs) {
            config.append("  - job_name: \"").append(job.name()).append("\"\n");
            job.bearerToken().ifPresent(token -> config.append("    scheme: https\n    authorization:\n      credentials: \"")
                    .append(token).append("\"\n    tls_config:\n      insecure_skip_verify: true\n"));
            config.append("    static_configs:\n");
            for (Target t : job.targets()) {
                config.append("      - targets: [\"").append(t.address()).append("\"]\n");
                if (!t.labels().isEmpty()) {
                    config.append("        labels:\n");
                    t.labels().forEach((k, v) -> config.append("          ").append(k).append(": \"").append(v).append("\"\n"));
                }
            }
        }
        Files.writeString(dir.resolve("prometheus.yml"), config);
        Process p = new ProcessBuilder(binary, "--config.file=" + dir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        PrometheusServer server = new PrometheusServer(p, dir, port);
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(HttpRequest.newBuilder(server.uri().resolve("/-/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return server;
                }
            } catch (IOException notYet) {
                // starting
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("prometheus exited: " + Files.readString(dir.resolve("prometheus.log")));
            }
            Thread.sleep(100);
        }
        server.close();
        throw new IllegalStateException("prometheus was not ready within 30 s");
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The queries this server answered, one JSON object a line (Prometheus's query log); gone once closed. */
    public Path queryLog() {
        return dir.resolve(QUERY_LOG);
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + port);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // temp dir
        }
    }
}
