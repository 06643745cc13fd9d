package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.EventLatency;
import dev.flotilla.core.reconcile.CauseChain;
import dev.flotilla.examples.mirror.ConfigMapMirror;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The driver's writes: M namespaces, N labelled source ConfigMaps spread round-robin over them
 * (grown in place from one size to the next), mirror clean-up between runs, and the steady update
 * stream. Namespace names put the varying part first so that FNV-1a spreads them over shards.
 */
final class Workload implements AutoCloseable {

    /** Attempts of one namespace's delete-collection (see {@link #deleteMirrorsIn}). */
    static final int DELETE_ATTEMPTS = 3;

    /** Bytes of data per source: a typical small configuration. */
    static final int DATA_BYTES = 1024;
    private static final int DRIVER_THREADS = 8;

    private final KubernetesClient client;
    private final MirrorTracker tracker;
    private final List<String> namespaces = new ArrayList<>();
    /** Source key (namespace/name) to its current resourceVersion, in creation order. */
    private final Map<String, String> sources = new LinkedHashMap<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(DRIVER_THREADS);
    private int nextUpdate;

    Workload(KubernetesClient client, MirrorTracker tracker, int namespaceCount) {
        this.client = client;
        this.tracker = tracker;
        for (int i = 0; i < namespaceCount; i++) {
            String ns = String.format("%02d-bench", i);
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
                    .createOr(existing -> existing.patch());
            namespaces.add(ns);
        }
    }

    /** Creates sources until there are {@code n}. */
    void growTo(int n) throws Exception {
        String data = "x".repeat(DATA_BYTES / 4);
        List<Future<ConfigMap>> created = new ArrayList<>();
        for (int i = sources.size(); i < n; i++) {
            String ns = namespaces.get(i % namespaces.size());
            String name = String.format("src-%05d", i);
            ConfigMap cm = new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns)
                    .addToLabels(ConfigMapMirror.SOURCE_LABEL, ConfigMapMirror.SOURCE_VALUE).endMetadata()
                    .addToData("a", data).addToData("b", data).addToData("c", data).addToData("d", data).build();
            created.add(pool.submit(() -> client.resource(cm).create()));
        }
        for (Future<ConfigMap> f : created) {
            ConfigMap cm = f.get();
            String key = cm.getMetadata().getNamespace() + "/" + cm.getMetadata().getName();
            sources.put(key, cm.getMetadata().getResourceVersion());
        }
    }

    /** Deletes every mirror (one delete-collection per namespace) and waits until the driver sees none. */
    void deleteMirrors() throws Exception {
        deleteMirrorsOnly();
        tracker.awaitNoMirrors(Duration.ofMinutes(5));
    }

    /**
     * Sends the delete-collections (one per namespace, in parallel) and returns once the server has answered them all:
     * how many were sent again ({@link #deleteMirrorsIn}). A measured round with any is not the round it claims to be
     * (the second delete may take mirrors already re-created), so the caller repeats it.
     */
    int deleteMirrorsOnly() throws Exception {
        List<Future<Integer>> deletes = new ArrayList<>();
        for (String ns : namespaces) {
            deletes.add(pool.submit(() -> deleteMirrorsIn(ns)));
        }
        int again = 0;
        for (Future<Integer> f : deletes) {
            again += f.get();
        }
        return again;
    }

    /**
     * One namespace's delete-collection, sent again when it fails on the way (a timeout, a reset): deleting what is
     * left is the same request. With three uncapped replicas re-creating 20,000 mirrors on two cores, one took longer
     * than the client's 10 s request timeout and ended the whole run.
     */
    private int deleteMirrorsIn(String ns) {
        for (int attempt = 1; ; attempt++) {
            try {
                client.configMaps().inNamespace(ns).withLabelSelector(ConfigMapMirror.MIRROR_SELECTOR).delete();
                return attempt - 1;
            } catch (KubernetesClientException e) {
                if (attempt >= DELETE_ATTEMPTS || CauseChain.of(e).stream().noneMatch(t -> t instanceof java.io.IOException)) {
                    throw e;
                }
                System.err.printf("e2e: delete-collection of mirrors in %s failed on the way (attempt %d of %d: %s); sent again%n",
                        ns, attempt, DELETE_ATTEMPTS, e.getCause());
            }
        }
    }

    /** Tells the tracker what every source's mirror must carry. */
    void expectAll() {
        sources.forEach((key, rv) -> tracker.expect(key, rv, -1));
    }

    /**
     * Updates {@code count} distinct sources (round-robin over all of them) at {@code perSecond},
     * each stamped with its send time; returns how many updates were sent late by more than one
     * interval (the driver could not keep the rate).
     */
    int stream(int perSecond, int count) throws Exception {
        List<String> keys = new ArrayList<>(sources.keySet());
        long interval = TimeUnit.SECONDS.toNanos(1) / perSecond;
        long start = System.nanoTime();
        AtomicInteger late = new AtomicInteger();
        List<Future<?>> sent = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long due = start + i * interval;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            } else if (-wait > interval) {
                late.incrementAndGet();
            }
            String key = keys.get(nextUpdate++ % keys.size());
            sent.add(pool.submit(() -> update(key)));
        }
        for (Future<?> f : sent) {
            f.get();
        }
        return late.get();
    }

    private Void update(String key) {
        int slash = key.indexOf('/');
        long stamp = EventLatency.nowMicros();
        String patch = "{\"metadata\":{\"annotations\":{\"" + EventLatency.STAMP_ANNOTATION + "\":\"" + stamp + "\"}}}";
        ConfigMap updated = client.configMaps().inNamespace(key.substring(0, slash)).withName(key.substring(slash + 1))
                .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
        String rv = updated.getMetadata().getResourceVersion();
        synchronized (sources) {
            sources.put(key, rv);
        }
        tracker.expect(key, rv, stamp);
        return null;
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
