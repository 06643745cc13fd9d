package dev.flotilla.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Objects;

/**
 * What every backend started from a kubeconfig shares: the parsed admin configuration and the
 * class's shared client. Subclasses say what they are and how to stop.
 */
abstract class KubeconfigCluster implements TestCluster {

    private final ClusterBackend backend;
    private final String kubeconfig;
    private final Config config;
    private final KubernetesClient client;

    KubeconfigCluster(ClusterBackend backend, String kubeconfig) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.kubeconfig = Objects.requireNonNull(kubeconfig, "kubeconfig");
        this.config = Config.fromKubeconfig(kubeconfig);
        this.client = new KubernetesClientBuilder().withConfig(config).build();
    }

    /** Stops the server itself; the shared client is already closed. */
    abstract void stopServer();

    @Override
    public final ClusterBackend backend() {
        return backend;
    }

    @Override
    public final Config config() {
        return config;
    }

    @Override
    public final String kubeconfigYaml() {
        return kubeconfig;
    }

    @Override
    public final KubernetesClient client() {
        return client;
    }

    @Override
    public final void close() {
        try {
            client.close();
        } finally {
            stopServer();
        }
    }
}
