package dev.flotilla.bench;

import com.sun.net.httpserver.HttpServer;
import dev.flotilla.bench.plain.PlainCeiling;
import dev.flotilla.core.metrics.RestClientMetrics;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.fabric8.GuardedClients;
import dev.flotilla.resilience.fabric8.GuardedHttpClientFactory;
import dev.flotilla.resilience.guard.RequestGuard;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the API guard adds to one request: a fabric8 client GETs a small ConfigMap, once through a plain client
 * and once through a guarded one, with the guard's limits far above the request rate so nothing waits (the
 * happy path), and once updates it ({@link #update}: a PUT of a 1 KiB ConfigMap carrying its resourceVersion, the
 * end-to-end benchmark's write). The difference is the guard alone: classification, breaker permission and record,
 * token bucket,
 * retry bookkeeping and its two latency histograms.
 *
 * <ul>
 *   <li>{@code transport=loopback}: against a stub API server on loopback (JDK HttpServer, keep-alive) through
 *       fabric8's Vert.x client; both clients count {@code rest_client_requests_total} into a Prometheus
 *       registry; the guarded one is built by {@link GuardedClients#newClient}.</li>
 *   <li>{@code transport=memory}: an in-memory transport that answers at once in the calling thread
 *       ({@link InMemoryHttpClientFactory}), so the guard's CPU cost is not lost in the network's noise.</li>
 * </ul>
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar GuardOverhead                       # all eight, about 160 s
 * java -jar benchmarks/target/benchmarks.jar GuardOverhead -p transport=loopback # loopback only, about 80 s
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 2, time = 4, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@Threads(1)
@State(Scope.Benchmark)
public class GuardOverheadBenchmark {

    static final String CONFIG_MAP = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"settings\","
            + "\"namespace\":\"bench\",\"resourceVersion\":\"42\",\"uid\":\"6f1c0f0e-0000-4000-8000-000000000001\"},"
            + "\"data\":{\"mode\":\"fast\",\"replicas\":\"3\"}}";

    /** {@code plain}: fabric8 as is; {@code guarded}: through the guard. */
    @Param({"plain", "guarded"})
    public String client;

    @Param({"loopback", "memory"})
    public String transport;

    HttpServer server;
    ExecutorService serverThreads;
    KubernetesClient kubernetes;
    PrometheusMeterRegistry registry;

    @Setup(Level.Trial)
    public void start() throws IOException {
        byte[] body = CONFIG_MAP.getBytes(StandardCharsets.UTF_8);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        serverThreads = Executors.newFixedThreadPool(2);
        server.setExecutor(serverThreads);
        server.createContext("/", exchange -> {
            try (exchange) {
                exchange.getRequestBody().readAllBytes();
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        server.start();
        Config config = new ConfigBuilder(Config.empty())
                .withMasterUrl("http://127.0.0.1:" + server.getAddress().getPort())
                .withNamespace("bench")
                .build();
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RequestGuard guard = RequestGuard.create(GuardConfig.builder().qps(100_000).burst(100_000).build(), registry);
        boolean guarded = switch (client) {
            case "plain" -> false;
            case "guarded" -> true;
            default -> throw new IllegalArgumentException("client must be plain or guarded, got " + client);
        };
        kubernetes = switch (transport) {
            // The JDK's client by name, as flotilla run has it (Vert.x 5 is on this class path too, for side rows).
            case "loopback" -> guarded
                    ? GuardedClients.newClient(config, guard, PlainCeiling.jdk())
                    : new KubernetesClientBuilder().withConfig(config).withHttpClientFactory(PlainCeiling.jdk())
                            .withHttpClientBuilderConsumer(b -> RestClientMetrics.install(b, registry)).build();
            case "memory" -> {
                var memory = new InMemoryHttpClientFactory(CONFIG_MAP);
                yield new KubernetesClientBuilder().withConfig(config)
                        .withHttpClientFactory(guarded ? new GuardedHttpClientFactory(memory, guard) : memory).build();
            }
            default -> throw new IllegalArgumentException("transport must be loopback or memory, got " + transport);
        };
        // One request outside the measurement opens the keep-alive connection.
        get();
    }

    @TearDown(Level.Trial)
    public void stop() {
        kubernetes.close();
        server.stop(0);
        serverThreads.shutdownNow();
    }

    @Benchmark
    public ConfigMap get() {
        return kubernetes.configMaps().withName("settings").get();
    }

    /**
     * A controller's usual write: an update (PUT) carrying the resourceVersion it read, so safe to repeat. Its kind
     * depends on its body, which the guard reads only when an attempt fails in a way that makes it matter.
     */
    @Benchmark
    public ConfigMap update() {
        return kubernetes.configMaps().resource(UPDATE).update();
    }

    private static final ConfigMap UPDATE = new ConfigMapBuilder()
            .withNewMetadata().withName("settings").withNamespace("bench").withResourceVersion("42")
            .withLabels(Map.of("app", "bench", "flotilla.dev/mirror-role", "copy"))
            .withAnnotations(Map.of("flotilla.dev/observed-resource-version", "41"))
            .endMetadata()
            .withData(Map.of("payload", "x".repeat(1024)))
            .build();
}
