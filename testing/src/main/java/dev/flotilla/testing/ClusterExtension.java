package dev.flotilla.testing;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;
import org.opentest4j.TestAbortedException;

/** The extension behind {@link WithCluster}. */
public final class ClusterExtension implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {

    private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(ClusterExtension.class);
    private static final String CLUSTER = "cluster";
    private static final String NAMESPACE = "namespace";

    @Override
    public void beforeAll(ExtensionContext context) {
        try {
            cluster(context);
        } catch (TestAbortedException e) {
            // Reported per test in beforeEach, so that each skipped test names the reason.
        }
    }

    private TestCluster cluster(ExtensionContext context) {
        ExtensionContext classContext = classContext(context);
        Holder holder = classContext.getStore(STORE).computeIfAbsent(CLUSTER, k -> {
            ClusterBackend backend = ClusterBackend.selected();
            ClusterBackend[] allowed = AnnotationSupport.findAnnotation(classContext.getRequiredTestClass(), WithCluster.class)
                    .map(WithCluster::backends).orElse(new ClusterBackend[] {ClusterBackend.REAL, ClusterBackend.K3S});
            if (!Arrays.asList(allowed).contains(backend)) {
                return Holder.skipped(classContext.getDisplayName() + " skipped on " + backend
                        + ": its assertions need one of " + Arrays.toString(allowed));
            }
            boolean auditLog = AnnotationSupport.findAnnotation(classContext.getRequiredTestClass(), WithCluster.class)
                    .map(WithCluster::auditLog).orElse(false);
            try {
                return Holder.running(TestCluster.start(backend, auditLog));
            } catch (TestAbortedException e) {
                return Holder.skipped(e.getMessage());
            }
        }, Holder.class);
        if (holder.cluster() == null) {
            // Aborting each test (not only the class) makes every skipped test carry the reason in reports.
            Assumptions.abort(holder.skipReason());
        }
        return holder.cluster();
    }

    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext c = context;
        while (c.getTestMethod().isPresent() && c.getParent().isPresent()) {
            c = c.getParent().get();
        }
        return c;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        TestCluster cluster = cluster(context);
        String method = context.getRequiredTestMethod().getName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        String name = ("t-" + method.substring(0, Math.min(40, method.length())) + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF)));
        cluster.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
                .create();
        context.getStore(STORE).put(NAMESPACE, new TestNamespace(name));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        TestNamespace ns = context.getStore(STORE).get(NAMESPACE, TestNamespace.class);
        if (ns != null) {
            try {
                cluster(context).client().namespaces().withName(ns.name()).delete();
            } catch (KubernetesClientException ignored) {
                // the API server is being torn down with the class
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == TestCluster.class || type == KubernetesClient.class || type == TestNamespace.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        if (type == TestCluster.class) {
            return cluster(context);
        }
        if (type == KubernetesClient.class) {
            return cluster(context).client();
        }
        TestNamespace ns = context.getStore(STORE).get(NAMESPACE, TestNamespace.class);
        if (ns == null) {
            throw new ParameterResolutionException("a TestNamespace exists only inside a test method");
        }
        return ns;
    }

    /** A started cluster, or why there is none; closed by JUnit when the class's store is discarded. */
    private record Holder(TestCluster cluster, String skipReason) implements AutoCloseable {
        static Holder running(TestCluster cluster) {
            return new Holder(cluster, null);
        }

        static Holder skipped(String reason) {
            System.err.println("[flotilla] " + reason);
            return new Holder(null, reason);
        }

        @Override
        public void close() {
            if (cluster != null) {
                cluster.close();
            }
        }
    }
}
