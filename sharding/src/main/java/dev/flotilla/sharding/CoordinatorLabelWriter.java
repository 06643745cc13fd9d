package dev.flotilla.sharding;

import java.util.concurrent.CompletableFuture;

/**
 * Writes {@link LeaseNaming#LABEL_POD_ROLE} on this replica's own Pod: the port {@link CoordinatorLabel} reaches the
 * API server through. Production patches the Pod ({@link PodCoordinatorLabelWriter}); the simulation and replicas
 * outside a Pod have none.
 */
interface CoordinatorLabelWriter {

    /**
     * Sets the label to {@link LeaseNaming#ROLE_COORDINATOR} ({@code coordinator} true) or removes it; completes
     * exceptionally when the API server did not take the change.
     */
    CompletableFuture<Void> write(boolean coordinator);

    /** The Pod, as {@code namespace/name}, for logs. */
    String pod();
}
