package dev.flotilla.core.health;

import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * Where a manager serves {@code /metrics}. Embedded in a program, on the health port beside the probes, plain
 * ({@link #onHealthPort()}, the default); as {@code flotilla run} ships, on a port of its own over HTTPS behind a
 * {@link MetricsAuthorizer} ({@link #dedicated}), with the probes left plain for the kubelet.
 *
 * <pre>{@code
 * MetricsServing secure = MetricsServing.dedicated("0.0.0.0", 8443,
 *         Optional.of(ServingCertificate.selfSigned(List.of("localhost")).sslContext()), MetricsAuthorizer.anyone());
 * }</pre>
 */
public sealed interface MetricsServing {

    static MetricsServing onHealthPort() {
        return OnHealthPort.INSTANCE;
    }

    static MetricsServing off() {
        return Off.INSTANCE;
    }

    /** On {@code port} (0 picks a free one) of {@code bindAddress}, over TLS when {@code tls} is present. */
    static MetricsServing dedicated(String bindAddress, int port, Optional<SSLContext> tls, MetricsAuthorizer authorizer) {
        return new Dedicated(bindAddress, port, tls, authorizer);
    }

    /** Plain, on the health port, to anyone who reaches it. */
    enum OnHealthPort implements MetricsServing {
        INSTANCE
    }

    /** Not served. */
    enum Off implements MetricsServing {
        INSTANCE
    }

    record Dedicated(String bindAddress, int port, Optional<SSLContext> tls, MetricsAuthorizer authorizer)
            implements MetricsServing {
        public Dedicated {
            Objects.requireNonNull(bindAddress, "bindAddress");
            Objects.requireNonNull(tls, "tls");
            Objects.requireNonNull(authorizer, "authorizer");
            if (bindAddress.isBlank()) {
                throw new IllegalArgumentException("metrics bind address is empty");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("metrics port must be 0 (any) or 1-65535, got " + port);
            }
        }
    }
}
