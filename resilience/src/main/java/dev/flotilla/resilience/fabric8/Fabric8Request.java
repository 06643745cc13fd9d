package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.OutgoingRequest;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.StandardHttpRequest;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A fabric8 {@link HttpRequest} as the guard's classifier reads it. Lazy: the body is turned into text only
 * when the classifier asks, which it does only for the writes whose kind depends on it.
 */
final class Fabric8Request implements OutgoingRequest {

    private final HttpRequest request;

    Fabric8Request(HttpRequest request) {
        this.request = Objects.requireNonNull(request, "request");
    }

    /** fabric8 leaves the method unset for a GET. */
    @Override
    public String method() {
        return request.method() == null ? "GET" : request.method();
    }

    @Override
    public URI uri() {
        return request.uri();
    }

    /** The content type the body was given, else the header; fabric8's standard request keeps it apart. */
    @Override
    public String contentType() {
        String type = request instanceof StandardHttpRequest standard ? standard.getContentType() : null;
        if (type == null) {
            type = request.header("Content-Type");
        }
        return type == null ? "" : type;
    }

    @Override
    public boolean streamedBody() {
        return request instanceof StandardHttpRequest standard
                && standard.body() instanceof StandardHttpRequest.InputStreamBodyContent;
    }

    /** {@code bodyString()} covers string bodies; a byte-array body (fabric8's serialised objects) is decoded. */
    @Override
    public String body() {
        String body = request.bodyString();
        if (body == null && request instanceof StandardHttpRequest standard
                && standard.body() instanceof StandardHttpRequest.ByteArrayBodyContent bytes) {
            body = new String(bytes.getContent(), StandardCharsets.UTF_8);
        }
        return body == null ? "" : body;
    }
}
