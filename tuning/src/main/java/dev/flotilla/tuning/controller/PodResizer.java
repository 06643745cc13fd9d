package dev.flotilla.tuning.controller;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Resizes a running pod's container in place through the {@code pods/resize} subresource (GA in
 * Kubernetes 1.35): a strategic-merge patch of the container's resources, never an eviction or a
 * restart. fabric8 8.0 has no DSL for the subresource, so the patch goes through the client's
 * HTTP client (with its authentication and, when built by Flotilla, its guard).
 */
final class PodResizer {

    private final KubernetesClient client;

    PodResizer(KubernetesClient client) {
        this.client = client;
    }

    Pod resize(String namespace, String pod, String container, ResourceRequirements resources) throws InterruptedException {
        String body = Serialization.asJson(Map.of("spec", Map.of("containers", List.of(Map.of("name", container,
                "resources", resources)))));
        String url = client.getMasterUrl().toString().replaceAll("/+$", "") + "/api/v1/namespaces/" + namespace + "/pods/" + pod
                + "/resize";
        HttpRequest request = client.getHttpClient().newHttpRequestBuilder().uri(url)
                .method("PATCH", "application/strategic-merge-patch+json", body).build();
        HttpResponse<String> response;
        try {
            response = client.getHttpClient().sendAsync(request, String.class).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new KubernetesClientException("resize of pod " + namespace + "/" + pod + " failed: " + e, e);
        }
        if (response.code() / 100 != 2) {
            throw new KubernetesClientException("resize of pod " + namespace + "/" + pod + " was refused (" + response.code()
                    + "): " + response.body(), response.code(), null);
        }
        return Serialization.unmarshal(response.body(), Pod.class);
    }
}
