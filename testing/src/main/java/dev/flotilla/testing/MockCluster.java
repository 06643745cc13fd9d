package dev.flotilla.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.util.HashMap;

/**
 * fabric8's mock server in CRUD mode. Opt-in only: it replays every object on watch, ignores
 * resourceVersion and set-based selectors, and has no 410 Gone, bookmarks or server-side apply
 * semantics, so it proves nothing about them.
 */
public final class MockCluster implements TestCluster {

    private final KubernetesMockServer server;
    private final KubernetesClient client;

    private MockCluster(KubernetesMockServer server) {
        this.server = server;
        this.client = server.createClient();
    }

    public static MockCluster start() {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init();
        return new MockCluster(server);
    }

    @Override
    public ClusterBackend backend() {
        return ClusterBackend.MOCK;
    }

    @Override
    public Config config() {
        return client.getConfiguration();
    }

    @Override
    public String kubeconfigYaml() {
        return "apiVersion: v1\nkind: Config\nclusters:\n- name: mock\n  cluster:\n    server: " + config().getMasterUrl()
                + "\ncontexts:\n- name: mock\n  context:\n    cluster: mock\n    user: mock\ncurrent-context: mock\n"
                + "users:\n- name: mock\n  user:\n    token: mock\n";
    }

    @Override
    public String description() {
        return "fabric8 mock server (CRUD mode) at " + config().getMasterUrl();
    }

    @Override
    public KubernetesClient client() {
        return client;
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
