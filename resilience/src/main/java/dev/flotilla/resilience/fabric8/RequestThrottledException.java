package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.NotSent;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import java.time.Duration;

/**
 * The client-side rate limiter would have made this request wait longer than the guard's
 * {@code resilience.max-permit-wait} ({@link GuardConfig}): the request was not sent. The client is issuing more
 * requests than its budget allows; the caller should back off (the work queue does) rather than queue more.
 * Its {@linkplain #getCode() code} is 429, as if the server had throttled it.
 */
public class RequestThrottledException extends KubernetesClientException {

    private final String apiServer;
    private final String budget;
    private final Duration maxWait;

    private final transient HttpRequest request;

    public RequestThrottledException(String apiServer, String budget, Duration maxWait, HttpRequest request) {
        this(new NotSent.Throttled(apiServer, budget, maxWait), request);
    }

    /** The guard's {@code reason} for not sending {@code request} (null if unknown), as fabric8's exception. */
    public RequestThrottledException(NotSent.Throttled reason, HttpRequest request) {
        super(reason.message(), null, 429, null, request);
        this.apiServer = reason.apiServer();
        this.budget = reason.budget();
        this.maxWait = reason.maxWait();
        this.request = request;
    }

    private RequestThrottledException(RequestThrottledException original) {
        super(original.getMessage(), original, original.getCode(), original.getStatus(), original.request);
        this.apiServer = original.apiServer;
        this.budget = original.budget;
        this.maxWait = original.maxWait;
        this.request = original.request;
    }

    public String apiServer() {
        return apiServer;
    }

    /** {@code requests} or {@code leases}. */
    public String budget() {
        return budget;
    }

    public Duration maxWait() {
        return maxWait;
    }

    @Override
    public KubernetesClientException copyAsCause() {
        return new RequestThrottledException(this);
    }
}
