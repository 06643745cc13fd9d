package dev.flotilla.bench.plain;

import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.bench.protocol.EventLatency;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapList;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The ceiling: a plain fabric8 client (no guard, no manager, no queue) that issues exactly the
 * writes the controllers make, from the same number of threads. Convergence: one paged LIST of the
 * sources, then one server-side apply of each mirror. Update stream: plain fabric8 informers on
 * sources and mirrors (fabric8's default store, managedFields kept) whose source update handler
 * hands the apply straight to the thread pool. Compiled against fabric8 8 and 7.5.2 alike, so the
 * two ceilings show what the fabric8 version alone costs.
 */
public final class PlainCeiling {

    static final long PAGE = 500;

    private PlainCeiling() {
    }

    public static void main(String[] argv) throws Exception {
        run(argv, vertx());
    }

    /**
     * fabric8's Vert.x HTTP client factory, whichever major version is on the class path (Vert.x 5
     * with fabric8 8, Vert.x 4 with fabric8 7), so every contender talks HTTP through the same library.
     */
    public static HttpClient.Factory vertx() {
        for (HttpClient.Factory f : ServiceLoader.load(HttpClient.Factory.class)) {
            if (f.getClass().getName().toLowerCase(java.util.Locale.ROOT).contains("vertx")) {
                return f;
            }
        }
        throw new IllegalStateException("no fabric8 Vert.x HTTP client on the class path");
    }

    /** Runs the ceiling over {@code factory}'s HTTP client until stdin closes. */
    public static void run(String[] argv, HttpClient.Factory factory) throws Exception {
        ContenderArgs args = ContenderArgs.parse(argv);
        MirrorSpec spec = MirrorSpec.from(args);
        RequestCounter requests = new RequestCounter();
        Config config = Config.fromKubeconfig(Files.readString(args.path(ContenderArgs.KUBECONFIG)));
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config).withHttpClientFactory(factory)
                .withHttpClientBuilderConsumer(requests::install).build();
        client.namespaces().withName("default").get(); // load the client's classes before the baseline
        ContenderSession session = new ContenderSession();
        session.baseline();
        ExecutorService pool = Executors.newFixedThreadPool(args.intValue(ContenderArgs.WORKERS));
        String sourceSelector = args.value(ContenderArgs.SOURCE_SELECTOR);

        writeAll(client, spec, sourceSelector, pool, session);

        SharedIndexInformer<ConfigMap> sources = client.configMaps().inAnyNamespace()
                .withLabelSelector(sourceSelector).runnableInformer(0);
        SharedIndexInformer<ConfigMap> mirrors = client.configMaps().inAnyNamespace()
                .withLabelSelector(args.value(ContenderArgs.MIRROR_SELECTOR)).runnableInformer(0);
        sources.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap obj) {
                // every mirror was written above
            }

            @Override
            public void onUpdate(ConfigMap oldObj, ConfigMap source) {
                if (Objects.equals(oldObj.getMetadata().getResourceVersion(), source.getMetadata().getResourceVersion())) {
                    return;
                }
                pool.execute(() -> {
                    String key = source.getMetadata().getNamespace() + "/" + source.getMetadata().getName();
                    String stamp = EventLatency.stamp(source.getMetadata().getAnnotations());
                    session.started().observe(key, stamp);
                    try {
                        apply(client, spec, source);
                    } finally {
                        session.finished().observe(key, stamp);
                    }
                });
            }

            @Override
            public void onDelete(ConfigMap obj, boolean deletedFinalStateUnknown) {
                // garbage collection's business
            }
        });
        var sourcesSynced = sources.start().toCompletableFuture();
        var mirrorsSynced = mirrors.start().toCompletableFuture();
        sourcesSynced.get(2, TimeUnit.MINUTES);
        mirrorsSynced.get(2, TimeUnit.MINUTES);
        session.watching();
        session.serve(ContenderSession.Probe.of(requests::count,
                () -> sources.getStore().list().size() + mirrors.getStore().list().size()), () -> {
            sources.stop();
            mirrors.stop();
            pool.shutdownNow();
            client.close();
        });
        System.exit(0);
    }

    static void apply(KubernetesClient client, MirrorSpec spec, ConfigMap source) {
        client.resource(spec.desired(source)).fieldManager(spec.fieldManager()).forceConflicts().serverSideApply();
    }

    /** One LIST, then every mirror; nothing of it stays reachable afterwards (the informers' caches are what is measured). */
    private static void writeAll(KubernetesClient client, MirrorSpec spec, String selector, ExecutorService pool,
            ContenderSession session) throws Exception {
        List<ConfigMap> all = new ArrayList<>();
        String next = null;
        do {
            ConfigMapList page = client.configMaps().inAnyNamespace().withLabelSelector(selector)
                    .list(new ListOptionsBuilder().withLimit(PAGE).withContinue(next).build());
            all.addAll(page.getItems());
            next = page.getMetadata().getContinue();
        } while (next != null && !next.isEmpty());
        session.ready();
        List<Future<?>> writes = new ArrayList<>(all.size());
        for (ConfigMap source : all) {
            writes.add(pool.submit(() -> apply(client, spec, source)));
        }
        for (Future<?> w : writes) {
            w.get(); // a failed write fails the run: the ceiling has no retry loop to hide behind
        }
    }
}
