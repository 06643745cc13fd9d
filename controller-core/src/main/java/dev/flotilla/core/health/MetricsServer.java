package dev.flotilla.core.health;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.ExecutorService;

/**
 * {@code /metrics} on a port of its own ({@link MetricsServing.Dedicated}): HTTPS when it has a TLS context, every
 * request decided by its {@link MetricsAuthorizer}; at most {@link MetricsHandler#CONCURRENT} at once are reviewed and
 * scraped, more are answered 503 at once.
 *
 * <pre>{@code
 * MetricsServer server = MetricsServer.start((MetricsServing.Dedicated) MetricsServing.dedicated("127.0.0.1", 0,
 *         Optional.empty(), MetricsAuthorizer.anyone()), registry);
 * int port = server.port();
 * }</pre>
 */
public final class MetricsServer implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;
    private final boolean tls;

    private MetricsServer(HttpServer server, ExecutorService executor, boolean tls) {
        this.server = server;
        this.executor = executor;
        this.tls = tls;
    }

    public static MetricsServer start(MetricsServing.Dedicated serving, PrometheusMeterRegistry registry) throws IOException {
        Objects.requireNonNull(registry, "registry");
        InetSocketAddress address = new InetSocketAddress(serving.bindAddress(), serving.port());
        HttpServer server;
        if (serving.tls().isPresent()) {
            HttpsServer https = HttpsServer.create(address, 0);
            https.setHttpsConfigurator(new HttpsConfigurator(serving.tls().get()));
            server = https;
        } else {
            server = HttpServer.create(address, 0);
        }
        ExecutorService executor = HealthServer.requestThreads();
        server.setExecutor(executor);
        server.createContext(KubernetesMetricsAuthorizer.PATH, new MetricsHandler(registry, serving.authorizer()));
        server.start();
        return new MetricsServer(server, executor, serving.tls().isPresent());
    }

    /** The bound port (useful when started on port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code https} or {@code http}. */
    public String scheme() {
        return tls ? "https" : "http";
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
