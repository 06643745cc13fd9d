package dev.flotilla.demo;

import dev.flotilla.testing.RealApiServer;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.HttpClient;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A real kube-apiserver and etcd started for the demo from the binaries that
 * {@code testing/apiserver/build.sh} builds (the same REAL backend the integration tests use).
 */
public final class RealApiServerCluster implements DemoCluster {

    private final RealApiServer server;
    private final KubernetesClient client;

    private RealApiServerCluster(RealApiServer server, KubernetesClient client) {
        this.server = server;
        this.client = client;
    }

    /** Starts the API server and a client for it, customized with {@code httpCustomizer}. */
    public static RealApiServerCluster start(Consumer<HttpClient.Builder> httpCustomizer) {
        Objects.requireNonNull(httpCustomizer, "httpCustomizer");
        RealApiServer server = RealApiServer.start();
        try {
            KubernetesClient client = new KubernetesClientBuilder().withConfig(server.config())
                    .withHttpClientBuilderConsumer(httpCustomizer).build();
            return new RealApiServerCluster(server, client);
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    @Override
    public KubernetesClient client() {
        return client;
    }

    @Override
    public Optional<Config> shardingUpstream() {
        return Optional.of(server.config());
    }

    @Override
    public String description() {
        return server.description() + " (started in " + server.startupTime().toMillis() + " ms)";
    }

    @Override
    public void close() {
        try {
            client.close();
        } finally {
            server.close();
        }
    }
}
