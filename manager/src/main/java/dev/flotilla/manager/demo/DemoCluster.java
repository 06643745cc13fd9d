package dev.flotilla.manager.demo;

import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The API server the demo runs against. Today: fabric8's mock server in CRUD mode, in-process
 * ({@link MockApiServerCluster}); a real kube-apiserver backend can replace it without touching
 * the demo.
 */
public interface DemoCluster extends AutoCloseable {

    /** A client for the backend, with whatever HTTP customization the demo asked for. */
    KubernetesClient client();

    /** One line for the summary: what the backend is and where it listens. */
    String description();

    /** Closes the client and stops the backend. */
    @Override
    void close();
}
