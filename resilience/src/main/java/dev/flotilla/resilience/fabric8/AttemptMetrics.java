package dev.flotilla.resilience.fabric8;

import dev.flotilla.core.metrics.RestClientMetrics;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Core's {@code rest_client_requests_total{code,method,host}} for the clients of one guarded factory: the
 * interceptor counts every answer, and the guard's calls count the attempts that got none
 * ({@code code="<error>"}), because fabric8 8 reports a connection failure to interceptors only from inside its
 * own retry decision, which the guard switches off. Unanswered attempts are counted only once the interceptor is
 * installed, so a client without request metrics gets none of them either.
 */
final class AttemptMetrics {

    private final RestClientMetrics metrics;
    private volatile boolean installed;

    AttemptMetrics(MeterRegistry registry) {
        this.metrics = new RestClientMetrics(registry);
    }

    void install(HttpClient.Builder builder) {
        builder.addOrReplaceInterceptor(RestClientMetrics.INTERCEPTOR_NAME, metrics);
        installed = true;
    }

    /** An attempt of {@code request} (null when unknown: nothing to label it with) ended without an answer. */
    void unanswered(HttpRequest request, Throwable error) {
        if (installed && request != null) {
            metrics.afterConnectionFailure(request, error);
        }
    }
}
