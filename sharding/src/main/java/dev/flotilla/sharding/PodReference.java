package dev.flotilla.sharding;

import java.util.Objects;
import java.util.regex.Pattern;

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

    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

    public PodReference {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(container, "container");
        if (!DNS_LABEL.matcher(namespace).matches() || namespace.length() > 63) {
            throw new IllegalArgumentException("pod namespace '" + namespace + "' is not a valid namespace name");
        }
        if (!DNS_SUBDOMAIN.matcher(name).matches() || name.length() > 253) {
            throw new IllegalArgumentException("pod name '" + name + "' is not a valid pod name");
        }
        if (!container.isEmpty() && (!DNS_LABEL.matcher(container).matches() || container.length() > 63)) {
            throw new IllegalArgumentException("container name '" + container + "' is not a valid container name");
        }
    }
}
