package dev.flotilla.resilience.guard;

import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;

/** A request known in full that counts how often its body is read: the classifier and guard must read it lazily. */
class CountedBodyRequest implements OutgoingRequest {

    final AtomicInteger reads = new AtomicInteger();
    private final OutgoingRequest request;

    CountedBodyRequest(String method, URI uri, String body) {
        this.request = OutgoingRequest.of(method, uri, "application/json", body);
    }

    @Override
    public String method() {
        return request.method();
    }

    @Override
    public URI uri() {
        return request.uri();
    }

    @Override
    public String contentType() {
        return request.contentType();
    }

    @Override
    public boolean streamedBody() {
        return false;
    }

    @Override
    public String body() {
        reads.incrementAndGet();
        return request.body();
    }
}
