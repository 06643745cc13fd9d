package dev.flotilla.resilience.fabric8;

import dev.flotilla.core.fence.FencedWrite;
import dev.flotilla.core.fence.WriteTarget;
import dev.flotilla.resilience.guard.NotSent;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;

/**
 * The write fence refused this write right before it was sent, or struck it in flight: the replica
 * does not hold, or no longer safely holds, the shard of what it would change. Refused, it was not
 * sent; struck ({@link #inFlight()}), its answer is abandoned and the server may still apply it.
 * Never retried, ignored by the breaker; a reconcile failing with it is reported as fenced
 * ({@link FencedWrite}). Its {@linkplain #getCode() code} is 0: no answer is reported.
 */
public class WriteFencedException extends KubernetesClientException implements FencedWrite {

    private final String apiServer;
    private final transient WriteTarget target;
    private final String reason;
    private final boolean inFlight;
    private final transient HttpRequest request;

    public WriteFencedException(NotSent.Fenced fenced, HttpRequest request) {
        super(fenced.message(), null, 0, null, request);
        this.apiServer = fenced.apiServer();
        this.target = fenced.target();
        this.reason = fenced.reason();
        this.inFlight = fenced.inFlight();
        this.request = request;
    }

    private WriteFencedException(WriteFencedException original) {
        super(original.getMessage(), original, original.getCode(), original.getStatus(), original.request);
        this.apiServer = original.apiServer;
        this.target = original.target;
        this.reason = original.reason;
        this.inFlight = original.inFlight;
        this.request = original.request;
    }

    public String apiServer() {
        return apiServer;
    }

    /** What the write would have changed. */
    public WriteTarget target() {
        return target;
    }

    /** Whether the write had been handed to the HTTP client when it was struck (the server may have applied it). */
    public boolean inFlight() {
        return inFlight;
    }

    @Override
    public String fenceReason() {
        return reason;
    }

    @Override
    public KubernetesClientException copyAsCause() {
        return new WriteFencedException(this);
    }
}
