package dev.flotilla.resilience.fabric8;

import dev.flotilla.core.reconcile.RetryAfterHint;
import dev.flotilla.resilience.guard.NotSent;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import java.net.HttpURLConnection;
import java.time.Duration;

/**
 * The circuit breaker of an API server is open (or its half-open probes are all in flight): the request was
 * not sent. {@link #retryAfter()} is the time until the breaker lets the next probe through, so a caller (the
 * work queue) can back off for at least that long instead of failing again at once.
 *
 * <p>Its {@linkplain #getCode() code} is 503, the status the API server itself would give while unavailable.
 * It surfaces unchanged from blocking fabric8 calls: fabric8 rethrows a request's
 * {@link KubernetesClientException} through {@link #copyAsCause()}, which keeps the type.
 */
public class ApiServerUnavailableException extends KubernetesClientException implements RetryAfterHint {

    private final String apiServer;
    private final Duration retryAfter;

    private final transient HttpRequest request;

    /**
     * @param apiServer  {@code host:port}
     * @param retryAfter time until the next probe
     * @param state      the breaker's state, for the message
     * @param request    the request that was not sent (its namespace and name reach the exception), or null
     */
    public ApiServerUnavailableException(String apiServer, Duration retryAfter, String state, HttpRequest request) {
        this(new NotSent.BreakerOpen(apiServer, retryAfter, state), request);
    }

    /** The guard's {@code reason} for not sending {@code request} (null if unknown), as fabric8's exception. */
    public ApiServerUnavailableException(NotSent.BreakerOpen reason, HttpRequest request) {
        super(reason.message(), null, HttpURLConnection.HTTP_UNAVAILABLE, null, request);
        this.apiServer = reason.apiServer();
        this.retryAfter = reason.retryAfter();
        this.request = request;
    }

    private ApiServerUnavailableException(ApiServerUnavailableException original) {
        super(original.getMessage(), original, original.getCode(), original.getStatus(), original.request);
        this.apiServer = original.apiServer;
        this.retryAfter = original.retryAfter;
        this.request = original.request;
    }

    /** The API server as {@code host:port}. */
    public String apiServer() {
        return apiServer;
    }

    /** How long until the breaker lets the next probe through; never negative. */
    @Override
    public Duration retryAfter() {
        return retryAfter;
    }

    @Override
    public KubernetesClientException copyAsCause() {
        return new ApiServerUnavailableException(this);
    }
}
