package dev.flotilla.demo;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * fabric8's {@link KubernetesMockServer} in CRUD mode (what {@code @EnableKubernetesMockClient(crud =
 * true)} builds), started in-process on a free loopback port. The mirror controller writes with
 * {@code POST} and {@code PUT}, which its CRUD dispatcher implements.
 *
 * <p>Known gaps of this backend that the demo does not depend on: no garbage collection (mirrors
 * of deleted sources stay), no RBAC (SelfSubjectAccessReview is rejected with 422), no
 * managedFields, no server-side apply, and a JSON merge patch that stores {@code null} instead of
 * removing a key.
 */
public final class MockApiServerCluster implements DemoCluster {

    private static final Logger log = LoggerFactory.getLogger(MockApiServerCluster.class);

    private final KubernetesMockServer server;
    private final KubernetesClient client;

    private MockApiServerCluster(KubernetesMockServer server, KubernetesClient client) {
        this.server = server;
        this.client = client;
    }

    /**
     * Starts the mock server and a client for it.
     *
     * @param httpCustomizer applied to the client's HTTP builder (the demo installs RestClientMetrics)
     */
    public static MockApiServerCluster start(Consumer<HttpClient.Builder> httpCustomizer) {
        Objects.requireNonNull(httpCustomizer, "httpCustomizer");
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        var dispatcher = new KubernetesMixedDispatcher(responses);
        var server = new KubernetesMockServer(new Context(), new MockWebServer(), responses,
                dispatcher, false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        try {
            KubernetesClient client = server.createClient(b -> b.withHttpClientBuilderConsumer(httpCustomizer));
            return new MockApiServerCluster(server, client);
        } catch (RuntimeException e) {
            server.destroy();
            throw e;
        }
    }

    @Override
    public KubernetesClient client() {
        return client;
    }

    @Override
    public String description() {
        return "fabric8 mock API server (CRUD mode, in-process) at " + server.url("/");
    }

    @Override
    public void close() {
        try {
            client.close();
        } finally {
            try {
                server.destroy();
            } catch (RuntimeException e) {
                // The mock can fail to stop while it still pushes watch events; the run's outcome is
                // already decided, so this must not replace it.
                log.atDebug().addKeyValue("error", e.toString()).log("mock API server did not stop cleanly");
            }
        }
    }
}
