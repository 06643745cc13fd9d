package dev.flotilla.resilience;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import java.time.Duration;
import java.util.Objects;

/**
 * The client-side rate limiter would have made this request wait longer than
 * {@link GuardConfig#maxPermitWait()}: the request was not sent. The client is issuing more requests than its
 * budget allows; the caller should back off (the work queue does) rather than queue more.
 * Its {@linkplain #getCode() code} is 429, as if the server had throttled it.
 */
public class RequestThrottledException extends KubernetesClientException {

    private final String apiServer;
    private final String budget;
    private final Duration maxWait;

    private final transient HttpRequest request;

    public RequestThrottledException(String apiServer, String budget, Duration maxWait, HttpRequest request) {
        super("client-side rate limit for " + apiServer + " (" + budget + " budget): no permit within "
                + GuardConfig.format(maxWait) + ", request not sent", null, 429, null, request);
        this.apiServer = Objects.requireNonNull(apiServer, "apiServer");
        this.budget = Objects.requireNonNull(budget, "budget");
        this.maxWait = Objects.requireNonNull(maxWait, "maxWait");
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
