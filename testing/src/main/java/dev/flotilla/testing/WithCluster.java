package dev.flotilla.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives a test class a running API server (one per class) and each test a fresh namespace.
 * Test methods and constructors may declare parameters of type {@link TestCluster},
 * {@link io.fabric8.kubernetes.client.KubernetesClient} (admin) and {@link TestNamespace}.
 *
 * <pre>{@code
 * @WithCluster
 * class WatchTest {
 *     @org.junit.jupiter.api.Test
 *     void listsItsNamespace(KubernetesClient client, TestNamespace ns) {
 *         client.configMaps().inNamespace(ns.name()).list();
 *     }
 * }
 * }</pre>
 *
 * The backend is the one selected with {@code -Dflotilla.cluster} (REAL by default). A class runs
 * only on the backends it lists: on any other it is skipped with the reason, so a test that relies
 * on real watch semantics is never run against the mock by accident.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(ClusterExtension.class)
public @interface WithCluster {

    /** Backends whose semantics this class's assertions hold on. MOCK must be listed explicitly. */
    ClusterBackend[] backends() default {ClusterBackend.REAL, ClusterBackend.K3S};

    /**
     * Whether the API server writes an audit log ({@link TestCluster#auditLog()}): the REAL backend
     * does; on the others the log is absent and tests that judge from it say so.
     */
    boolean auditLog() default false;
}
