package dev.flotilla.core.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.Semaphore;

/**
 * {@code GET /metrics}: the registry's scrape, for requests the authorizer allows. A request's review and scrape are
 * its cost; at most {@link #CONCURRENT} run at once, and a request beyond that is answered 503 at once rather than
 * queued, so a flood costs neither threads nor API calls (Prometheus scrapes each target one request at a time).
 */
final class MetricsHandler implements HttpHandler {

    /** Requests reviewed and scraped at once. */
    static final int CONCURRENT = 2;
    private static final String BEARER = "Bearer ";

    private final Semaphore permits = new Semaphore(CONCURRENT);
    private final PrometheusMeterRegistry registry;
    private final MetricsAuthorizer authorizer;

    MetricsHandler(PrometheusMeterRegistry registry, MetricsAuthorizer authorizer) {
        this.registry = registry;
        this.authorizer = authorizer;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        if (!"GET".equals(exchange.getRequestMethod())) {
            HealthServer.respond(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
            return;
        }
        if (!exchange.getRequestURI().getPath().equals(KubernetesMetricsAuthorizer.PATH)) {
            HealthServer.respond(exchange, 404, "text/plain; charset=utf-8", "not found\n");
            return;
        }
        if (!permits.tryAcquire()) {
            exchange.getResponseHeaders().set("Retry-After", "1");
            HealthServer.respond(exchange, 503, "text/plain; charset=utf-8", "too many concurrent requests\n");
            return;
        }
        try {
            serve(exchange);
        } finally {
            permits.release();
        }
    }

    private void serve(HttpExchange exchange) throws IOException {
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        Optional<String> token = header != null && header.regionMatches(true, 0, BEARER, 0, BEARER.length())
                ? Optional.of(header.substring(BEARER.length()).strip()) : Optional.empty();
        MetricsAuthorizer.Decision decision = authorizer.authorize(token);
        switch (decision) {
            case MetricsAuthorizer.Decision.Allowed a ->
                    HealthServer.respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
            case MetricsAuthorizer.Decision.Unauthenticated u -> {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"flotilla-metrics\"");
                HealthServer.respond(exchange, u.status(), "text/plain; charset=utf-8", "unauthorized: " + u.reason() + "\n");
            }
            case MetricsAuthorizer.Decision.Denied d -> HealthServer.respond(exchange, d.status(), "text/plain; charset=utf-8",
                    "forbidden: user \"" + d.user() + "\" may not " + KubernetesMetricsAuthorizer.VERB + " "
                            + KubernetesMetricsAuthorizer.PATH + ": " + d.reason() + "\n");
            // The reason (an API error naming the replica's account) goes to the log, not to an unauthenticated caller.
            case MetricsAuthorizer.Decision.Unavailable u -> HealthServer.respond(exchange, u.status(), "text/plain; charset=utf-8",
                    "cannot review the request's token now; try again\n");
        }
    }
}
