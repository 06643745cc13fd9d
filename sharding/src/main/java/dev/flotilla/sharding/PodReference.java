package dev.flotilla.sharding;

import java.util.Objects;
import dev.flotilla.core.names.DnsNames;

/**
 * The Pod a replica runs in, for restart proof: its namespace and name (the downward API's
 * {@code POD_NAMESPACE} and {@code POD_NAME}) and the name of the replica's container, "" when the
 * Pod has only one.
 *
 * <pre>{@code
 * PodReference pod = new PodReference("flotilla-system", "flotilla-7d9f-abcde", "manager");
 * Sharding sharding = Sharding.of(ShardingConfig.defaults(pod.name(), pod.namespace())).withRestartProof(pod);
 * }</pre>
 */
public record PodReference(String namespace, String name, String container) {

    public PodReference {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(container, "container");
        if (!DnsNames.isLabel(namespace, DnsNames.LABEL_MAX)) {
            throw new IllegalArgumentException("pod namespace '" + namespace + "' is not a valid namespace name");
        }
        if (!DnsNames.isSubdomain(name, DnsNames.SUBDOMAIN_MAX)) {
            throw new IllegalArgumentException("pod name '" + name + "' is not a valid pod name");
        }
        if (!container.isEmpty() && !DnsNames.isLabel(container, DnsNames.LABEL_MAX)) {
            throw new IllegalArgumentException("container name '" + container + "' is not a valid container name");
        }
    }
}
