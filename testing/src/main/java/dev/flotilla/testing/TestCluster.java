package dev.flotilla.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * A running Kubernetes API server for tests, with admin credentials.
 *
 * <pre>{@code
 * try (TestCluster cluster = TestCluster.start(ClusterBackend.REAL)) {
 *     KubernetesClient client = cluster.client();
 *     KubernetesClient replica = cluster.newClient(); // an independent connection, as a second replica would have
 * }
 * }</pre>
 */
public interface TestCluster extends AutoCloseable {

    ClusterBackend backend();

    /** Admin configuration (TLS with a client certificate on the real backends). */
    Config config();

    /** A kubeconfig file's content for this cluster, for processes started by the test. */
    String kubeconfigYaml();

    /** One line for logs and reports: backend, version, address. */
    String description();

    /** The admin client shared by the test class. */
    KubernetesClient client();

    /** A new, independent client; the caller closes it. */
    default KubernetesClient newClient() {
        return new KubernetesClientBuilder().withConfig(config()).build();
    }

    @Override
    void close();

    /** Starts a cluster of the given backend. */
    static TestCluster start(ClusterBackend backend) {
        return switch (backend) {
            case REAL -> RealApiServer.start();
            case K3S -> K3sCluster.start();
            case MOCK -> MockCluster.start();
        };
    }
}
