package dev.flotilla.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * k3s in a container. Where no Docker engine is reachable the calling test is skipped (aborted)
 * with that reason, never failed and never silently moved to another backend.
 */
public final class K3sCluster implements TestCluster {

    /** Pinned image: the same minor version as the REAL backend. */
    public static final String IMAGE = "rancher/k3s:v1.37.2-k3s1";

    private final K3sContainer container;
    private final String kubeconfig;
    private final Config config;
    private final KubernetesClient client;

    private K3sCluster(K3sContainer container) {
        this.container = container;
        this.kubeconfig = container.getKubeConfigYaml();
        this.config = Config.fromKubeconfig(kubeconfig);
        this.client = new KubernetesClientBuilder().withConfig(config).build();
    }

    /** Whether a Docker engine answers, and if not, why. */
    static String dockerUnavailableReason() {
        try {
            return DockerClientFactory.instance().isDockerAvailable() ? null : "no Docker engine is reachable";
        } catch (RuntimeException | LinkageError e) {
            return "no Docker engine is reachable (" + e.getMessage() + ")";
        }
    }

    public static K3sCluster start() {
        String reason = dockerUnavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "K3S backend skipped: " + reason
                + "; run with -D" + ClusterBackend.PROPERTY + "=real on machines without Docker");
        K3sContainer container = new K3sContainer(DockerImageName.parse(IMAGE))
                .withCommand("server", "--disable=traefik", "--disable=metrics-server",
                        "--kube-apiserver-arg=feature-gates=" + ApiServerBinaries.shardedWatchFeatureGate() + "=true");
        container.start();
        return new K3sCluster(container);
    }

    @Override
    public ClusterBackend backend() {
        return ClusterBackend.K3S;
    }

    @Override
    public Config config() {
        return config;
    }

    @Override
    public String kubeconfigYaml() {
        return kubeconfig;
    }

    @Override
    public String description() {
        return "k3s " + IMAGE + " at " + config.getMasterUrl();
    }

    @Override
    public KubernetesClient client() {
        return client;
    }

    @Override
    public void close() {
        client.close();
        container.stop();
    }
}
