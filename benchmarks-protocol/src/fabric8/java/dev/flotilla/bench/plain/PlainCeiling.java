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
import io.fabric8.kubernetes.client.KubernetesClientException;
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
 * The ceiling: the fastest correct plain fabric8 client we could write for the workload (no guard,
 * no manager, no queue, no cache before the first write), so that no controller should beat it.
 * Convergence: a paged LIST of the sources whose pages are written as they arrive (pipelined), each
 * mirror with the cheapest write that is correct for it: a create (POST; the run starts with every
 * mirror deleted), a server-side apply only when the create finds one. Writers: the
 * {@code writers} argument, by default {@value #WRITERS_PER_WORKER} per controller worker. Update
 * stream: plain fabric8 informers on sources and mirrors (fabric8's default store, managedFields
 * kept) whose source update handler hands the write to the pool: a PUT over the cached mirror's
 * version, a create when there is none, a forced apply when either conflicts. HTTP: fabric8's client
 * on the JDK's {@code java.net.http} (HTTP/2 to the API server, its requests multiplexed on one
 * connection), which on 2 cores shared with the API server and etcd made the same code 2.0-2.6 times
 * faster than on Vert.x 5, with half the CPU per object; the controllers keep Vert.x, their default.
 * Compiled against fabric8 8 and 7.5.2 alike, so the two ceilings show what the fabric8 version alone
 * costs.
 */
public final class PlainCeiling {

    private static final int HTTP_CONFLICT = 409;
    private static final int HTTP_NOT_FOUND = 404;
    private static final int HTTP_GONE = 410;

    static final long PAGE = 500;
    /** Writer threads per controller worker when no writers argument is given. */
    public static final int WRITERS_PER_WORKER = 4;

    private PlainCeiling() {
    }

    public static void main(String[] argv) throws Exception {
        run(argv, chosen(ContenderArgs.parse(argv), "jdk"));
    }

    /** The factory {@link ContenderArgs#HTTP_CLIENT} names ({@code jdk} or {@code vertx}), {@code byDefault} when absent. */
    public static HttpClient.Factory chosen(ContenderArgs args, String byDefault) {
        String http = args.has(ContenderArgs.HTTP_CLIENT) ? args.value(ContenderArgs.HTTP_CLIENT) : byDefault;
        return switch (http) {
            case "jdk" -> jdk();
            case "vertx" -> vertx();
            default -> throw new IllegalArgumentException(ContenderArgs.HTTP_CLIENT + " is jdk or vertx, got '" + http + "'");
        };
    }

    /** fabric8's HTTP client on the JDK's {@code java.net.http}: the ceiling's (same package in fabric8 7 and 8). */
    public static HttpClient.Factory jdk() {
        return factory("io.fabric8.kubernetes.client.jdkhttp.");
    }

    /**
     * fabric8's Vert.x HTTP client factory, whichever major version is on the class path (Vert.x 5
     * with fabric8 8, Vert.x 4 with fabric8 7), so every contender talks HTTP through the same library.
     */
    public static HttpClient.Factory vertx() {
        return factory("io.fabric8.kubernetes.client.vertx");
    }

    /**
     * The factory on the class path whose class name starts with {@code prefix}, chosen by name: with two on the
     * class path fabric8's own pick goes by priority, and the JDK's outranks Vert.x's.
     */
    private static HttpClient.Factory factory(String prefix) {
        for (HttpClient.Factory f : ServiceLoader.load(HttpClient.Factory.class)) {
            if (f.getClass().getName().startsWith(prefix)) {
                return f;
            }
        }
        throw new IllegalStateException("no fabric8 HTTP client " + prefix + "* on the class path");
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
        int writers = args.has(ContenderArgs.WRITERS) ? args.intValue(ContenderArgs.WRITERS)
                : WRITERS_PER_WORKER * args.intValue(ContenderArgs.WORKERS);
        ExecutorService pool = Executors.newFixedThreadPool(writers);
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
                        update(client, spec, source, mirrors.getStore().getByKey(source.getMetadata().getNamespace() + "/"
                                + spec.mirrorName(source)));
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

    /** A mirror that should not exist yet: POST, the cheapest write; a forced apply if it exists after all. */
    static void create(KubernetesClient client, MirrorSpec spec, ConfigMap source) {
        try {
            client.resource(spec.desired(source)).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != HTTP_CONFLICT) {
                throw e;
            }
            apply(client, spec, source);
        }
    }

    /** A source update: PUT over the cached mirror's version, a create without one; a forced apply when either conflicts. */
    static void update(KubernetesClient client, MirrorSpec spec, ConfigMap source, ConfigMap cachedMirror) {
        if (cachedMirror == null) {
            create(client, spec, source);
            return;
        }
        ConfigMap desired = spec.desired(source);
        desired.getMetadata().setResourceVersion(cachedMirror.getMetadata().getResourceVersion());
        try {
            client.resource(desired).update();
        } catch (KubernetesClientException e) {
            if (e.getCode() != HTTP_CONFLICT && e.getCode() != HTTP_NOT_FOUND) {
                throw e;
            }
            apply(client, spec, source);
        }
    }

    /**
     * A paged LIST whose pages go to the writers as they arrive, so writing overlaps listing; nothing
     * of it stays reachable afterwards (the informers' caches are what is measured). "Ready" is the
     * LIST's end, as caches synced is for the controllers, with the first pages' writes under way.
     */
    private static void writeAll(KubernetesClient client, MirrorSpec spec, String selector, ExecutorService pool,
            ContenderSession session) throws Exception {
        List<Future<?>> writes = new ArrayList<>();
        java.util.Set<String> submitted = new java.util.HashSet<>();
        String next = null;
        while (true) {
            ConfigMapList page;
            try {
                page = client.configMaps().inAnyNamespace().withLabelSelector(selector)
                        .list(new ListOptionsBuilder().withLimit(PAGE).withContinue(next).build());
            } catch (KubernetesClientException e) {
                // The writes slow the LIST down; past etcd's compaction its continue token expires (410). The
                // answer carries a token for the rest (no longer one consistent snapshot, which a first pass
                // over unchanging sources does not need); without one, list again and skip what was submitted.
                if (e.getCode() != HTTP_GONE || next == null) {
                    throw e;
                }
                String rest = e.getStatus() == null || e.getStatus().getMetadata() == null ? null
                        : e.getStatus().getMetadata().getContinue();
                next = rest == null || rest.isEmpty() ? null : rest;
                continue;
            }
            for (ConfigMap source : page.getItems()) {
                if (submitted.add(source.getMetadata().getNamespace() + "/" + source.getMetadata().getName())) {
                    writes.add(pool.submit(() -> create(client, spec, source)));
                }
            }
            next = page.getMetadata().getContinue();
            if (next == null || next.isEmpty()) {
                break;
            }
        }
        session.ready();
        for (Future<?> w : writes) {
            w.get(); // a failed write fails the run: the ceiling has no retry loop to hide behind
        }
    }
}
