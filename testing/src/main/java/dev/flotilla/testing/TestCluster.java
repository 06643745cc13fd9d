package dev.flotilla.testing;

import java.nio.file.Path;
import java.util.Optional;
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

    /** The API server's audit log, when it writes one (a REAL server started with it); empty otherwise. */
    default Optional<Path> auditLog() {
        return Optional.empty();
    }

    @Override
    void close();

    /** Starts a cluster of the given backend. */
    static TestCluster start(ClusterBackend backend) {
        return start(backend, false);
    }

    /** Starts a cluster of the given backend; with {@code auditLog}, a REAL server writes an audit log. */
    static TestCluster start(ClusterBackend backend, boolean auditLog) {
        return switch (backend) {
            case REAL -> RealApiServer.start(true, auditLog);
            case K3S -> K3sCluster.start();
            case MOCK -> MockCluster.start();
        };
    }
}
