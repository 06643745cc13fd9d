package dev.flotilla.demo;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Optional;

/**
 * The API server the demo runs against: a real kube-apiserver and etcd ({@link RealApiServerCluster})
 * when their binaries are built, otherwise fabric8's mock server in CRUD mode, in-process
 * ({@link MockApiServerCluster}).
 */
public interface DemoCluster extends AutoCloseable {

    /** A client for the backend, with whatever HTTP customization the demo asked for. */
    KubernetesClient client();

    /**
     * The admin configuration sharded replicas reach the server with (through the fault proxy), or
     * empty when the backend cannot run them: the mock has no Lease semantics to elect a coordinator
     * or fence with, and ignores shard selectors.
     */
    default Optional<Config> shardingUpstream() {
        return Optional.empty();
    }

    /** One line for the summary: what the backend is and where it listens. */
    String description();

    /** Closes the client and stops the backend. */
    @Override
    void close();
}
