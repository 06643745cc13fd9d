package dev.flotilla.core.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.Optional;

/** {@code GET /metrics}: the registry's scrape, for requests the authorizer allows. */
final class MetricsHandler implements HttpHandler {

    private static final String BEARER = "Bearer ";

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
            case MetricsAuthorizer.Decision.Unavailable u ->
                    HealthServer.respond(exchange, u.status(), "text/plain; charset=utf-8", u.reason() + "\n");
        }
    }
}
