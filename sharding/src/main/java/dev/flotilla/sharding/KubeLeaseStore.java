package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/** {@link LeaseStore} on fabric8: each request runs on its own virtual thread (renewals of many shards go out at once). */
final class KubeLeaseStore implements LeaseStore {

    private static final Executor REQUESTS = r -> Thread.ofVirtual().name("lease-request").start(r);

    private final KubernetesClient client;
    private final String namespace;

    KubeLeaseStore(KubernetesClient client, String namespace) {
        this.client = Objects.requireNonNull(client, "client");
        this.namespace = Objects.requireNonNull(namespace, "namespace");
    }

    @Override
    public CompletableFuture<Optional<Lease>> get(String name) {
        return CompletableFuture.supplyAsync(
                () -> Optional.ofNullable(client.leases().inNamespace(namespace).withName(name).get()), REQUESTS);
    }

    @Override
    public CompletableFuture<LeaseWrite> create(Lease lease) {
        return write(() -> client.leases().inNamespace(namespace).resource(lease).create());
    }

    @Override
    public CompletableFuture<LeaseWrite> update(Lease base, UnaryOperator<Lease> edit) {
        Lease next = edit.apply(new LeaseBuilder(base).build());
        return write(() -> client.leases().inNamespace(namespace).resource(next).update());
    }

    @Override
    public CompletableFuture<LeaseWrite> delete(String name) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return client.leases().inNamespace(namespace).withName(name).delete().isEmpty()
                        ? new LeaseWrite.Missing() : new LeaseWrite.Written(new LeaseBuilder().withNewMetadata()
                                .withName(name).endMetadata().build());
            } catch (RuntimeException e) {
                return outcome(e);
            }
        }, REQUESTS);
    }

    private static CompletableFuture<LeaseWrite> write(Supplier<Lease> request) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new LeaseWrite.Written(request.get());
            } catch (RuntimeException e) {
                return outcome(e);
            }
        }, REQUESTS);
    }

    private static LeaseWrite outcome(RuntimeException e) {
        if (e instanceof KubernetesClientException k) {
            if (k.getCode() == 409) {
                return new LeaseWrite.Conflict();
            }
            if (k.getCode() == 404) {
                return new LeaseWrite.Missing();
            }
        }
        return new LeaseWrite.Failed(e);
    }
}
