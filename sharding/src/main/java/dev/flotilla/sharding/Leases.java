package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/** Lease reads and optimistic writes (a PUT carrying the resourceVersion read: a lost race is a 409, never a silent overwrite). */
final class Leases {

    private final KubernetesClient client;
    private final String namespace;

    Leases(KubernetesClient client, String namespace) {
        this.client = client;
        this.namespace = namespace;
    }

    Optional<Lease> get(String name) {
        return Optional.ofNullable(client.leases().inNamespace(namespace).withName(name).get());
    }

    /** Creates {@code lease}; empty if it already exists. */
    Optional<Lease> create(Lease lease) {
        try {
            return Optional.of(client.leases().inNamespace(namespace).resource(lease).create());
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Writes {@code edit(base)} if {@code base} is still current; empty on a conflict (someone wrote in between). */
    Optional<Lease> update(Lease base, UnaryOperator<Lease> edit) {
        Lease next = edit.apply(new LeaseBuilder(base).build());
        try {
            return Optional.of(client.leases().inNamespace(namespace).resource(next).update());
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                return Optional.empty();
            }
            throw e;
        }
    }

    void delete(String name) {
        client.leases().inNamespace(namespace).withName(name).delete();
    }

    static ZonedDateTime now() {
        return ZonedDateTime.now(ZoneOffset.UTC);
    }

    static Lease newLease(String name, Map<String, String> labels, Map<String, String> annotations) {
        return new LeaseBuilder().withNewMetadata().withName(name).withLabels(labels).withAnnotations(annotations)
                .endMetadata().withNewSpec().endSpec().build();
    }

    /** Takes or renews {@code lease} for {@code holder}. */
    static Lease hold(Lease lease, String holder, int durationSeconds) {
        ensureSpec(lease);
        ZonedDateTime now = now();
        var spec = lease.getSpec();
        boolean newHolder = !holder.equals(spec.getHolderIdentity());
        spec.setHolderIdentity(holder);
        spec.setLeaseDurationSeconds(durationSeconds);
        spec.setRenewTime(now);
        if (newHolder) {
            spec.setAcquireTime(now);
            spec.setLeaseTransitions((spec.getLeaseTransitions() == null ? 0 : spec.getLeaseTransitions()) + 1);
        }
        return lease;
    }

    /** Frees {@code lease} so the next holder may take it at once. */
    static Lease release(Lease lease) {
        ensureSpec(lease);
        lease.getSpec().setHolderIdentity(null);
        lease.getSpec().setAcquireTime(null);
        lease.getSpec().setRenewTime(null);
        return lease;
    }

    /** A hand-written Lease may have no spec at all. */
    private static void ensureSpec(Lease lease) {
        if (lease.getSpec() == null) {
            lease.setSpec(new io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec());
        }
    }

    static String holderOf(Lease lease) {
        return lease.getSpec() == null || lease.getSpec().getHolderIdentity() == null ? "" : lease.getSpec().getHolderIdentity();
    }
}
