package dev.flotilla.bench.josdk;

import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.bench.plain.MirrorSpec;
import dev.flotilla.bench.plain.PlainCeiling;
import dev.flotilla.bench.plain.RequestCounter;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import java.nio.file.Files;

/**
 * The Java Operator SDK contender of the end-to-end benchmark: the mirror controller written the
 * way a JOSDK user would write it (a {@code Reconciler<ConfigMap>} whose mirrors come from an
 * {@code InformerEventSource} mapped through owner references), with JOSDK's defaults except the
 * ones the benchmark must hold equal: worker count, label selectors, and the HTTP client (Vert.x,
 * as in Flotilla, where JOSDK would pick the JDK client). With {@link ContenderArgs#STRIP_MANAGED_FIELDS}
 * both caches (the controller's and the mirrors' event source) drop managedFields on the way in,
 * through JOSDK's own {@code TransformingItemStore}, as Flotilla's caches do by default.
 *
 * <p>Arguments are {@link ContenderArgs}; the protocol is {@link ContenderSession}'s.
 */
public final class JosdkContender {

    private JosdkContender() {
    }

    public static void main(String[] argv) throws Exception {
        ContenderArgs args = ContenderArgs.parse(argv);
        RequestCounter requests = new RequestCounter();
        Config config = Config.fromKubeconfig(Files.readString(args.path(ContenderArgs.KUBECONFIG)));
        KubernetesClient client = new KubernetesClientBuilder()
                .withConfig(config)
                .withHttpClientFactory(PlainCeiling.vertx())
                .withHttpClientBuilderConsumer(requests::install)
                .build();
        client.namespaces().withName("default").get(); // load the client's classes before the baseline
        ContenderSession session = new ContenderSession();
        session.baseline();

        boolean strip = args.has(ContenderArgs.STRIP_MANAGED_FIELDS) && Boolean.parseBoolean(args.value(ContenderArgs.STRIP_MANAGED_FIELDS));
        MirrorReconciler reconciler = new MirrorReconciler(args, MirrorSpec.from(args), session, strip);
        Operator operator = new Operator(o -> o.withKubernetesClient(client)
                .withConcurrentReconciliationThreads(args.intValue(ContenderArgs.WORKERS))
                .withCloseClientOnStop(true));
        operator.register(reconciler, c -> {
            c.withName("configmap-mirror")
                    .withLabelSelector(args.value(ContenderArgs.SOURCE_SELECTOR))
                    .watchingAllNamespaces();
            if (strip) {
                c.withItemStore(MirrorReconciler.withoutManagedFields());
            }
        });
        operator.start(); // returns once the informers have synced
        session.ready();
        session.watching();
        session.serve(ContenderSession.Probe.of(requests::count, reconciler::cachedObjects), operator::stop);
        System.exit(0);
    }
}
