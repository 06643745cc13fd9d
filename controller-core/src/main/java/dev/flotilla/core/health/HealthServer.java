package dev.flotilla.core.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code /healthz} and {@code /readyz} (and, unless served on a port of its own by {@link MetricsServer},
 * {@code /metrics}) on one plain HTTP port. A probe answers 200 with {@code ok}, or 503 with one line per failing
 * check so that {@code kubectl describe} shows why. Each exchange runs on a virtual thread; the process-wide limits
 * set here time out a request that stalls half-sent (30 s) and cap connections (256 per server).
 *
 * <pre>{@code
 * var server = HealthServer.start(new InetSocketAddress(8081), registry, () -> List.of(), manager::readinessProblems);
 * int port = server.port();
 * }</pre>
 */
public final class HealthServer implements AutoCloseable {

    static {
        // The JDK server waits forever for a request that stalls half-sent, and accepts connections without limit;
        // these bound both for every server of the process (read once, when the first server is created).
        limit("sun.net.httpserver.maxReqTime", "30");
        limit("sun.net.httpserver.maxRspTime", "60");
        limit("sun.net.httpserver.maxConnections", "256");
    }

    private static void limit(String property, String value) {
        if (System.getProperty(property) == null) {
            System.setProperty(property, value);
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;

    private HealthServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds and starts serving, {@code /metrics} included, plain and to anyone ({@link MetricsServing#onHealthPort()}).
     *
     * @param liveness  the reasons the process is unhealthy; empty when healthy
     * @param readiness the reasons the process is not ready; empty when ready
     */
    public static HealthServer start(InetSocketAddress address, PrometheusMeterRegistry registry,
            Supplier<List<String>> liveness, Supplier<List<String>> readiness) throws IOException {
        return start(address, Optional.of(Objects.requireNonNull(registry, "registry")), liveness, readiness);
    }

    /** As {@link #start(InetSocketAddress, PrometheusMeterRegistry, Supplier, Supplier)}; without a registry, probes only. */
    public static HealthServer start(InetSocketAddress address, Optional<PrometheusMeterRegistry> metrics,
            Supplier<List<String>> liveness, Supplier<List<String>> readiness) throws IOException {
        HttpServer server = HttpServer.create(address, 0);
        ExecutorService executor = requestThreads();
        server.setExecutor(executor);
        metrics.ifPresent(registry -> server.createContext(KubernetesMetricsAuthorizer.PATH,
                new MetricsHandler(registry, MetricsAuthorizer.anyone())));
        server.createContext("/healthz", exchange -> probe(exchange, liveness));
        server.createContext("/readyz", exchange -> probe(exchange, readiness));
        server.start();
        return new HealthServer(server, executor);
    }

    /**
     * The servers' request threads: a virtual thread per exchange, so a connection that stalls mid-request (the JDK
     * server reads the request, and does the TLS handshake, on that thread) parks a virtual thread and never blocks
     * the probes. What is costly, a scrape and its token review, is bounded by {@link MetricsHandler} instead.
     */
    static ExecutorService requestThreads() {
        return Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("flotilla-http-", 0).factory());
    }

    private static void probe(HttpExchange exchange, Supplier<List<String>> check) throws IOException {
        List<String> problems;
        try {
            problems = check.get();
        } catch (RuntimeException e) {
            problems = List.of("check failed: " + e);
        }
        if (problems.isEmpty()) {
            respond(exchange, 200, "text/plain; charset=utf-8", "ok\n");
        } else {
            respond(exchange, 503, "text/plain; charset=utf-8", String.join("\n", problems) + "\n");
        }
    }

    static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The bound port (useful when started on port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
