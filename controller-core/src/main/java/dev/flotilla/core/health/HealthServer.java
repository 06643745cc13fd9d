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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code /metrics}, {@code /healthz} and {@code /readyz} on one HTTP port. A probe answers 200
 * with {@code ok}, or 503 with one line per failing check so that {@code kubectl describe} shows
 * why.
 *
 * <pre>{@code
 * var server = HealthServer.start(new InetSocketAddress(8080), registry, () -> List.of(), manager::readinessProblems);
 * int port = server.port();
 * }</pre>
 */
public final class HealthServer implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;

    private HealthServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds and starts serving.
     *
     * @param liveness  the reasons the process is unhealthy; empty when healthy
     * @param readiness the reasons the process is not ready; empty when ready
     */
    public static HealthServer start(InetSocketAddress address, PrometheusMeterRegistry registry,
            Supplier<List<String>> liveness, Supplier<List<String>> readiness) throws IOException {
        Objects.requireNonNull(registry, "registry");
        HttpServer server = HttpServer.create(address, 0);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/metrics", exchange -> {
            if (!"GET".equals(exchange.getRequestMethod())) {
                respond(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
                return;
            }
            respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
        });
        server.createContext("/healthz", exchange -> probe(exchange, liveness));
        server.createContext("/readyz", exchange -> probe(exchange, readiness));
        server.start();
        return new HealthServer(server, executor);
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

    private static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
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
