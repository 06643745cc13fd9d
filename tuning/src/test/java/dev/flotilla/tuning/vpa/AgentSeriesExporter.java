package dev.flotilla.tuning.vpa;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/**
 * Serves, for Prometheus to scrape, the series of the node agent's contract for the containers a test registers:
 * {@code container_cpu_usage_seconds_total} (a counter growing at a steady number of cores) and
 * {@code container_memory_working_set_bytes} (a steady gauge), each labelled {@code namespace}, {@code pod},
 * {@code container} and {@code id} (the container's cgroup path), with no job-specific names. Or, built with
 * {@link #podLabels()}, stands in for kube-state-metrics: {@code kube_pod_labels{namespace, pod, label_<name>}} 1 for
 * each registered pod.
 */
public final class AgentSeriesExporter implements AutoCloseable {

    /** One container and how it behaves. */
    public record Container(String namespace, String pod, String podUid, Map<String, String> podLabels, String name,
            double cpuCores, long workingSetBytes) {
    }

    private final HttpServer server;
    private final boolean podLabelsOnly;
    private final List<Container> containers = new CopyOnWriteArrayList<>();
    private final long start = System.nanoTime();

    private AgentSeriesExporter(boolean podLabelsOnly) throws IOException {
        this.podLabelsOnly = podLabelsOnly;
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

    /** The node agent's per-container series. */
    public static AgentSeriesExporter agent() throws IOException {
        return new AgentSeriesExporter(false);
    }

    /** kube-state-metrics' {@code kube_pod_labels}, for the recommender's {@code --metric-for-pod-labels}. */
    public static AgentSeriesExporter podLabels() throws IOException {
        return new AgentSeriesExporter(true);
    }

    public String target() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public void register(Container c) {
        containers.add(c);
    }

    private String render() {
        double t = (System.nanoTime() - start) / 1e9;
        StringBuilder out = new StringBuilder();
        if (podLabelsOnly) {
            containers.stream().collect(Collectors.toMap(c -> c.namespace() + "/" + c.pod(), c -> c, (a, b) -> a))
                    .values().forEach(c -> {
                        StringBuilder l = new StringBuilder("namespace=\"" + c.namespace() + "\",pod=\"" + c.pod() + "\",uid=\""
                                + c.podUid() + "\"");
                        c.podLabels().forEach((k, v) -> l.append(",label_").append(k.replaceAll("[^a-zA-Z0-9_]", "_"))
                                .append("=\"").append(v).append('"'));
                        out.append("kube_pod_labels{").append(l).append("} 1\n");
                    });
            return out.toString();
        }
        for (Container c : containers) {
            String l = "namespace=\"" + c.namespace() + "\",pod=\"" + c.pod() + "\",container=\"" + c.name() + "\",id=\"/kubepods/pod"
                    + c.podUid() + "/" + c.name() + "\"";
            out.append("container_cpu_usage_seconds_total{").append(l).append("} ").append(c.cpuCores() * t).append('\n');
            out.append("container_memory_working_set_bytes{").append(l).append("} ").append(c.workingSetBytes()).append('\n');
        }
        return out.toString();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
