package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.core.apply.Apply;
import dev.flotilla.manager.mirror.ConfigMapMirror;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapList;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The ceiling: a plain fabric8 client (no guard, no manager, no queue) that issues exactly the
 * writes the controllers make, from the same number of threads. Convergence: one paged LIST of the
 * sources, then one server-side apply of each mirror. Update stream: plain fabric8 informers on
 * sources and mirrors (fabric8's default store, managedFields kept) whose source update handler
 * hands the apply straight to the thread pool.
 */
public final class CeilingContender {

    static final long PAGE = 500;

    private CeilingContender() {
    }

    public static void main(String[] argv) throws Exception {
        ContenderArgs args = ContenderArgs.parse(argv);
        AtomicLong requests = new AtomicLong();
        Config config = Config.fromKubeconfig(Files.readString(args.path(ContenderArgs.KUBECONFIG)));
        KubernetesClient client = new KubernetesClientBuilder()
                .withConfig(config)
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("bench-requests", new Interceptor() {
                    @Override
                    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
                        requests.incrementAndGet();
                    }
                }))
                .build();
        client.namespaces().withName("default").get(); // load the client's classes before the baseline
        ContenderSession session = new ContenderSession();
        session.baseline();
        int workers = args.intValue(ContenderArgs.WORKERS);
        String sourceSelector = args.value(ContenderArgs.SOURCE_SELECTOR);
        ExecutorService pool = Executors.newFixedThreadPool(workers);

        writeAll(client, sourceSelector, pool, session);

        SharedIndexInformer<ConfigMap> sourceInformer = client.configMaps().inAnyNamespace()
                .withLabelSelector(sourceSelector).runnableInformer(0);
        SharedIndexInformer<ConfigMap> mirrorInformer = client.configMaps().inAnyNamespace()
                .withLabelSelector(args.value(ContenderArgs.MIRROR_SELECTOR)).runnableInformer(0);
        sourceInformer.addEventHandler(new ResourceEventHandler<>() {
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
                    String stamp = FlotillaContender.stamp(source);
                    session.started().observe(key, stamp);
                    try {
                        Apply.serverSideApply(client, ConfigMapMirror.desiredMirror(source), ConfigMapMirror.FIELD_MANAGER);
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
        var sourcesSynced = sourceInformer.start().toCompletableFuture();
        var mirrorsSynced = mirrorInformer.start().toCompletableFuture();
        sourcesSynced.get(2, TimeUnit.MINUTES);
        mirrorsSynced.get(2, TimeUnit.MINUTES);
        session.watching();
        session.serve(new ContenderSession.Probe() {
            @Override
            public long requests() {
                return requests.get();
            }

            @Override
            public long cachedObjects() {
                return sourceInformer.getStore().list().size() + mirrorInformer.getStore().list().size();
            }
        }, () -> {
            sourceInformer.stop();
            mirrorInformer.stop();
            pool.shutdownNow();
            client.close();
        });
        System.exit(0);
    }

    /** One LIST, then every mirror; nothing of it stays reachable afterwards (the informers' caches are what is measured). */
    private static void writeAll(KubernetesClient client, String sourceSelector, ExecutorService pool, ContenderSession session)
            throws Exception {
        List<ConfigMap> sources = listSources(client, sourceSelector);
        session.ready();
        List<Future<?>> writes = new ArrayList<>(sources.size());
        for (ConfigMap source : sources) {
            writes.add(pool.submit(() -> {
                Apply.serverSideApply(client, ConfigMapMirror.desiredMirror(source), ConfigMapMirror.FIELD_MANAGER);
            }));
        }
        for (Future<?> w : writes) {
            w.get(); // a failed write fails the run: the ceiling has no retry loop to hide behind
        }
    }

    private static List<ConfigMap> listSources(KubernetesClient client, String selector) {
        List<ConfigMap> all = new ArrayList<>();
        String next = null;
        do {
            ConfigMapList page = client.configMaps().inAnyNamespace().withLabelSelector(selector)
                    .list(new ListOptionsBuilder().withLimit(PAGE).withContinue(next).build());
            all.addAll(page.getItems());
            next = page.getMetadata().getContinue();
        } while (next != null && !next.isEmpty());
        return all;
    }
}
