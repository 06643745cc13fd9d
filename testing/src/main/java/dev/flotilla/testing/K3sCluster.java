package dev.flotilla.testing;

import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * k3s in a container. Where no Docker engine is reachable the calling test is skipped (aborted)
 * with that reason, never failed and never silently moved to another backend.
 */
public final class K3sCluster extends KubeconfigCluster {

    /** Pinned image: the same minor version as the REAL backend. */
    public static final String IMAGE = "rancher/k3s:v1.37.2-k3s1";

    private final K3sContainer container;

    private K3sCluster(K3sContainer container) {
        super(ClusterBackend.K3S, container.getKubeConfigYaml());
        this.container = container;
    }

    /** Why no Docker engine answers; empty when one does. */
    public static java.util.Optional<String> dockerUnavailable() {
        return java.util.Optional.ofNullable(dockerUnavailableReason());
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
        return start(java.util.List.of(), c -> c);
    }

    /**
     * The same with more {@code k3s server} arguments, and the container adjusted before it starts (files copied in,
     * such as an audit policy): for suites that need more of k3s than the shared backend gives.
     *
     * <pre>{@code
     * K3sCluster k3s = K3sCluster.start(List.of("--kube-apiserver-arg=audit-log-path=/var/log/audit.log"), c -> c);
     * }</pre>
     */
    public static K3sCluster start(java.util.List<String> serverArgs, java.util.function.UnaryOperator<K3sContainer> adjust) {
        String reason = dockerUnavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "K3S backend skipped: " + reason
                + "; run with -D" + ClusterBackend.PROPERTY + "=real on machines without Docker");
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("server", "--disable=traefik",
                "--disable=metrics-server", "--kube-apiserver-arg=feature-gates=" + ApiServerBinaries.shardedWatchFeatureGate()
                        + "=true"));
        command.addAll(serverArgs);
        K3sContainer container = adjust.apply(new K3sContainer(DockerImageName.parse(IMAGE))
                .withCommand(command.toArray(String[]::new)));
        container.start();
        return new K3sCluster(container);
    }

    /** The running container: to copy files in and out, and to run k3s's own tools (ctr) in it. */
    public K3sContainer container() {
        return container;
    }

    @Override
    public String description() {
        return "k3s " + IMAGE + " at " + config().getMasterUrl();
    }

    @Override
    void stopServer() {
        container.stop();
    }
}
