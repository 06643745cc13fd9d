package dev.flotilla.tuning.controller;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves cAdvisor- and eBPF-exporter-style series for the containers a test registers, each with a
 * scripted behaviour, for a real Prometheus to scrape. In the tuning module's test jar, for the manager's tests.
 */
public final class ScriptedExporter implements AutoCloseable {

    /** How one container behaves. */
    public record Profile(double cpuCores, double burstCores, double throttledRatio, boolean noisyNeighbours, long workingSetBytes,
            long leakBytesPerSecond, double memoryStalledRatio, long oomKills) {
        /** Uses 0.4 cores of its request and waits about 23 ms (p99) in the run queue. */
        public static Profile noisyNeighbour() {
            return new Profile(0.4, 0.4, 0.0, true, 600L << 20, 0, 0.0, 0);
        }

        /** Noisy neighbours, and a working set of {@code workingSet} bytes. */
        public static Profile noisyNeighbour(long workingSet) {
            return new Profile(0.4, 0.4, 0.0, true, workingSet, 0, 0.0, 0);
        }

        /** Pinned at its 1-core limit with 40% of CFS periods throttled. */
        public static Profile selfThrottling() {
            return new Profile(0.98, 0.98, 0.40, false, 600L << 20, 0, 0.0, 0);
        }

        /** Working set at 880 MiB and creeping up under a 1 GiB limit; reclaim stalls 8% of the time. */
        public static Profile slowMemoryLeak() {
            return new Profile(0.3, 0.3, 0.0, false, 880L << 20, 256 << 10, 0.08, 0);
        }

        /** Heap plateau at 1.5 GiB; GC bursts to 2 cores one second in ten, 25% of periods throttled. */
        public static Profile burstyJvm() {
            return new Profile(0.4, 2.0, 0.25, false, 1536L << 20, 0, 0.0, 0);
        }
    }

    private record Key(String namespace, String pod, String container) {
    }

    private final HttpServer server;
    private final Map<Key, Profile> profiles = new ConcurrentHashMap<>();
    private final Map<Key, Long> since = new ConcurrentHashMap<>();

    public ScriptedExporter() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/metrics", exchange -> {
            byte[] body = render().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    public String target() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public void register(String namespace, String pod, String container, Profile profile) {
        Key k = new Key(namespace, pod, container);
        profiles.put(k, profile);
        since.putIfAbsent(k, System.nanoTime());
    }

    private String render() {
        StringBuilder out = new StringBuilder();
        profiles.forEach((k, p) -> {
            double t = (System.nanoTime() - since.get(k)) / 1e9;
            String l = "namespace=\"" + k.namespace() + "\",pod=\"" + k.pod() + "\",container=\"" + k.container() + "\"";
            // One second in ten runs at the burst rate (GC), the rest at the base rate.
            double bursts = Math.floor(t / 10) + Math.min(1, t % 10);
            line(out, "container_cpu_usage_seconds_total", l, p.cpuCores() * (t - bursts) + p.burstCores() * bursts);
            line(out, "container_cpu_cfs_periods_total", l, Math.floor(10 * t));
            line(out, "container_cpu_cfs_throttled_periods_total", l, Math.floor(10 * t * p.throttledRatio()));
            line(out, "container_memory_working_set_bytes", l, p.workingSetBytes() + (long) (p.leakBytesPerSecond() * t));
            line(out, "container_pressure_memory_stalled_seconds_total", l, p.memoryStalledRatio() * t);
            line(out, "container_oom_events_total", l, p.oomKills());
            // Run-queue latency histogram, 100 observations a second: p99 about 23 ms when neighbours are noisy, under 1 ms if not.
            double[] le = {0.001, 0.005, 0.01, 0.025, 0.05};
            double[] share = p.noisyNeighbours() ? new double[] {0.5, 0.8, 0.95, 0.995, 1.0} : new double[] {0.999, 1, 1, 1, 1};
            for (int i = 0; i < le.length; i++) {
                line(out, dev.flotilla.tuning.signals.SignalMetric.RUN_QUEUE_LATENCY_BUCKET.defaultName(), l + ",le=\"" + le[i] + "\"", Math.floor(100 * t * share[i]));
            }
            line(out, dev.flotilla.tuning.signals.SignalMetric.RUN_QUEUE_LATENCY_BUCKET.defaultName(), l + ",le=\"+Inf\"", Math.floor(100 * t));
        });
        return out.toString();
    }

    private static void line(StringBuilder out, String name, String labels, double value) {
        out.append(name).append('{').append(labels).append("} ").append(value).append('\n');
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
