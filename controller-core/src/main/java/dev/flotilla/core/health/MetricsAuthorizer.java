package dev.flotilla.core.health;

import java.util.Optional;

/**
 * Decides who may read {@code /metrics}, from the bearer token of the request (empty without one). The
 * Kubernetes implementation is {@link KubernetesMetricsAuthorizer}: a TokenReview, then a SubjectAccessReview for
 * {@code get} on the non-resource URL {@code /metrics}, as controller-runtime's secure metrics do.
 *
 * <pre>{@code
 * MetricsAuthorizer open = MetricsAuthorizer.anyone();
 * MetricsAuthorizer.Decision d = open.authorize(Optional.empty()); // Allowed
 * }</pre>
 */
@FunctionalInterface
public interface MetricsAuthorizer {

    Decision authorize(Optional<String> bearerToken);

    /** No check: for local use ({@code --metrics-secure=false}) and tests. */
    static MetricsAuthorizer anyone() {
        return token -> new Decision.Allowed("anonymous");
    }

    /** The outcome for one request, each with the HTTP status it is answered with. */
    sealed interface Decision {

        int status();

        /** Served: 200. */
        record Allowed(String user) implements Decision {
            public Allowed {
                java.util.Objects.requireNonNull(user, "user");
            }

            @Override
            public int status() {
                return 200;
            }
        }

        /** No token, or one the API server does not accept: 401. */
        record Unauthenticated(String reason) implements Decision {
            public Unauthenticated {
                java.util.Objects.requireNonNull(reason, "reason");
            }

            @Override
            public int status() {
                return 401;
            }
        }

        /** An authenticated user without {@code get} on {@code /metrics}: 403. */
        record Denied(String user, String reason) implements Decision {
            public Denied {
                java.util.Objects.requireNonNull(user, "user");
                java.util.Objects.requireNonNull(reason, "reason");
            }

            @Override
            public int status() {
                return 403;
            }
        }

        /** The reviews could not be made (API server unreachable, or the replica may not create them): 503. */
        record Unavailable(String reason) implements Decision {
            public Unavailable {
                java.util.Objects.requireNonNull(reason, "reason");
            }

            @Override
            public int status() {
                return 503;
            }
        }
    }
}
