package dev.flotilla.resilience.guard;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;

/**
 * What {@link RequestClassifier} reads of a request, whatever HTTP client sends it: all of it before it is sent
 * but the body, which it may read after (see {@link #body()}). The
 * fabric8 adapter ({@code dev.flotilla.resilience.fabric8}) reads these from fabric8's {@code HttpRequest},
 * lazily: the body is only looked at for the writes whose kind depends on it.
 *
 * <pre>{@code
 * OutgoingRequest put = OutgoingRequest.of("PUT", URI.create("https://api:6443/api/v1/namespaces/shop/configmaps/a"),
 *         "application/json", "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\"}}");
 * RequestClassifier.classify(put).kind(); // GUARDED_WRITE
 * }</pre>
 */
public interface OutgoingRequest {

    /** The HTTP method, e.g. {@code GET}; any case. */
    String method();

    /** The full request URI, query included. */
    URI uri();

    /** The {@code Content-Type}, e.g. {@code application/apply-patch+yaml}; empty if none. */
    String contentType();

    /** Whether the body is a stream, which can be read only once and so never sent a second time. */
    boolean streamedBody();

    /**
     * The body as text; empty if there is none or it is a stream. The guard may ask for it after the request was
     * sent (a write's precondition is read only when an attempt's outcome makes it matter), from any thread.
     */
    String body();

    /** A request known in full, e.g. for tests or another HTTP client. */
    static OutgoingRequest of(String method, URI uri, String contentType, String body) {
        return new Known(method, uri, contentType, body, false);
    }

    /** A request whose body is a stream. */
    static OutgoingRequest streamed(String method, URI uri, String contentType) {
        return new Known(method, uri, contentType, "", true);
    }

    /** A request known in full. */
    record Known(String method, URI uri, String contentType, String body, boolean streamedBody)
            implements OutgoingRequest {
        public Known {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(uri, "uri");
            Objects.requireNonNull(contentType, "contentType");
            Objects.requireNonNull(body, "body");
            method = method.toUpperCase(Locale.ROOT);
        }
    }
}
