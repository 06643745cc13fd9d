package dev.flotilla.resilience.fabric8;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.resilience.guard.NotSent;
import dev.flotilla.resilience.guard.RequestClassifier;
import dev.flotilla.resilience.guard.RequestKind;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.StandardHttpRequest;
import io.fabric8.kubernetes.client.http.WebSocketHandshakeException;
import io.fabric8.kubernetes.client.http.WebSocketUpgradeResponse;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** What the fabric8 adapter tells the guard about fabric8's requests and failures, and what it makes of a refusal. */
class Fabric8AdapterTest {

    private static final String CM = "https://api:6443/api/v1/namespaces/shop/configmaps";

    private static RequestKind kind(HttpRequest request) {
        return RequestClassifier.classify(new Fabric8Request(request)).kind();
    }

    @Test
    void readsMethodContentTypeAndBodyOfFabric8Requests() {
        HttpRequest get = new StandardHttpRequest.Builder().uri(URI.create(CM + "/settings")).build();
        assertThat(new Fabric8Request(get).method()).as("fabric8 leaves a GET's method unset or says GET").isEqualTo("GET");
        assertThat(new Fabric8Request(get).contentType()).isEmpty();
        assertThat(new Fabric8Request(get).body()).isEmpty();
        assertThat(kind(get)).isEqualTo(RequestKind.READ);

        HttpRequest apply = new StandardHttpRequest.Builder().uri(URI.create(CM + "/settings?fieldManager=flotilla&force=true"))
                .method("PATCH", "application/apply-patch+yaml", "{\"apiVersion\":\"v1\"}").build();
        assertThat(RequestClassifier.classify(new Fabric8Request(apply)))
                .isEqualTo(RequestClassifier.Classification.of(RequestKind.GUARDED_WRITE, "server-side apply"));

        HttpRequest update = new StandardHttpRequest.Builder().uri(URI.create(CM + "/settings"))
                .method("PUT", "application/json", "{\"metadata\":{\"name\":\"settings\",\"resourceVersion\":\"42\"}}").build();
        assertThat(kind(update)).isEqualTo(RequestKind.GUARDED_WRITE);

        String json = "{\"metadata\":{\"name\":\"x\"}}";
        HttpRequest create = new StandardHttpRequest.Builder().uri(URI.create(CM))
                .post("application/json", json.getBytes(StandardCharsets.UTF_8)).build();
        assertThat(new Fabric8Request(create).body()).as("a byte-array body is decoded").isEqualTo(json);
        assertThat(kind(create)).isEqualTo(RequestKind.UNGUARDED_WRITE);
    }

    @Test
    void aStreamedBodyIsNeverSentTwice() {
        HttpRequest upload = new StandardHttpRequest.Builder().uri(URI.create(CM))
                .post("application/json", new ByteArrayInputStream(new byte[] {'{', '}'}), 2).build();
        assertThat(new Fabric8Request(upload).streamedBody()).isTrue();
        assertThat(kind(upload)).isEqualTo(RequestKind.UPLOAD);
    }

    @Test
    void knowsFabric8sOwnFailuresAndRefusedUpgrades() {
        var call = new Fabric8Call.Sockets(null, new AttemptMetrics(new SimpleMeterRegistry()));
        assertThat(call.isClientFailure(new KubernetesClientException("token refresh failed"))).isTrue();
        assertThat(call.isClientFailure(new IOException("reset"))).isFalse();
        HttpRequest request = new StandardHttpRequest.Builder().uri(URI.create(CM + "?watch=true")).build();
        assertThat(call.statusOf(new WebSocketHandshakeException(new WebSocketUpgradeResponse(request, 503))))
                .isEqualTo(OptionalInt.of(503));
        assertThat(call.statusOf(new IOException("reset"))).isEmpty();
    }

    @Test
    void aRefusalBecomesTheTypedKubernetesClientException() {
        HttpRequest request = new StandardHttpRequest.Builder().uri(URI.create(CM + "/settings")).build();
        var call = new Fabric8Call.Responses<>(request, new AttemptMetrics(new SimpleMeterRegistry()));

        RuntimeException open = call.notSent(new NotSent.BreakerOpen("api:6443", Duration.ofMillis(4_500), "OPEN"));
        assertThat(open).isInstanceOf(ApiServerUnavailableException.class)
                .hasMessageContaining("API server api:6443 is unavailable: circuit breaker OPEN, request not sent; next probe in 4500ms");
        var unavailable = (ApiServerUnavailableException) open;
        assertThat(unavailable.getCode()).isEqualTo(503);
        assertThat(unavailable.retryAfter()).isEqualTo(Duration.ofMillis(4_500));
        assertThat(unavailable.getName()).isEqualTo("settings");
        assertThat(unavailable.copyAsCause()).isInstanceOf(ApiServerUnavailableException.class);

        RuntimeException throttled = call.notSent(new NotSent.Throttled("api:6443", "leases", Duration.ofSeconds(30)));
        assertThat(throttled).isInstanceOf(RequestThrottledException.class)
                .hasMessageContaining("client-side rate limit for api:6443 (leases budget): no permit within 30s, request not sent");
        assertThat(((RequestThrottledException) throttled).getCode()).isEqualTo(429);
        assertThat(((RequestThrottledException) throttled).budget()).isEqualTo("leases");
    }
}
