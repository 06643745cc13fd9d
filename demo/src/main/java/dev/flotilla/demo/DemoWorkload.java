package dev.flotilla.demo;

import static dev.flotilla.examples.mirror.ConfigMapMirror.SOURCE_LABEL;
import static dev.flotilla.examples.mirror.ConfigMapMirror.SOURCE_VALUE;

import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The demo's objects: namespaces {@code demo-NN-flotilla} and source ConfigMaps {@code source-NNNN}
 * labelled for mirroring, spread round-robin over the namespaces. Every fifth source also has
 * binaryData. An update changes a value, adds a key and removes one, so the mirror must drop a key
 * it had.
 */
final class DemoWorkload {

    /**
     * The number goes in the middle on purpose: the shard hash (FNV-1a, the API server's) moves a
     * change in a name's last bytes only into the hash's low bits, so {@code flotilla-demo-00} to
     * {@code -09} would all fall into one shard of 32. Bytes after the number spread them.
     */
    static final String NAMESPACE_PREFIX = "demo-";
    static final String NAMESPACE_SUFFIX = "-flotilla";
    static final String SOURCE_PREFIX = "source-";
    static final String PART_OF = "app.kubernetes.io/part-of";
    static final String REMOVED_BY_UPDATE = "removed-by-update";
    private static final int PARALLEL_WRITES = 16;

    record Source(String namespace, String name) {
    }

    private final KubernetesClient client;
    private final int objects;
    private final int namespaces;
    private final AtomicInteger updated = new AtomicInteger();

    DemoWorkload(KubernetesClient client, int objects, int namespaces) {
        this.client = client;
        this.objects = objects;
        this.namespaces = namespaces;
    }

    List<String> namespaceNames() {
        int width = Math.max(2, Integer.toString(namespaces - 1).length());
        List<String> names = new ArrayList<>(namespaces);
        for (int i = 0; i < namespaces; i++) {
            names.add(NAMESPACE_PREFIX + String.format(Locale.ROOT, "%0" + width + "d", i) + NAMESPACE_SUFFIX);
        }
        return names;
    }

    List<Source> sources() {
        List<String> ns = namespaceNames();
        int width = Math.max(4, Integer.toString(objects - 1).length());
        List<Source> sources = new ArrayList<>(objects);
        for (int i = 0; i < objects; i++) {
            sources.add(new Source(ns.get(i % namespaces), SOURCE_PREFIX + String.format(Locale.ROOT, "%0" + width + "d", i)));
        }
        return sources;
    }

    /**
     * Creates every namespace, then every source ConfigMap, a few requests at a time.
     *
     * @param created called with the number of ConfigMaps created so far
     */
    void create(IntConsumer created) throws InterruptedException {
        parallel(namespaceNames(), ns -> client.namespaces()
                .resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                        .withLabels(Map.of(PART_OF, "flotilla-demo")).endMetadata().build())
                .create(), ns -> "namespace " + ns);
        AtomicInteger done = new AtomicInteger();
        List<Source> sources = sources();
        List<Integer> indexes = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            indexes.add(i);
        }
        parallel(indexes, i -> {
            client.configMaps().inNamespace(sources.get(i).namespace()).resource(initial(sources.get(i), i)).create();
            created.accept(done.incrementAndGet());
        }, i -> "ConfigMap " + sources.get(i).namespace() + "/" + sources.get(i).name());
    }

    static ConfigMap initial(Source s, int index) {
        Map<String, String> data = new LinkedHashMap<>();
        data.put("index", Integer.toString(index));
        data.put("version", "1");
        data.put("payload", "value-" + index + "-" + Integer.toHexString(s.name().hashCode()));
        data.put(REMOVED_BY_UPDATE, "this key disappears when the source is updated");
        ConfigMapBuilder b = new ConfigMapBuilder().withNewMetadata().withName(s.name()).withNamespace(s.namespace())
                .withLabels(Map.of(SOURCE_LABEL, SOURCE_VALUE, PART_OF, "flotilla-demo")).endMetadata()
                .withData(data);
        if (index % 5 == 0) {
            byte[] blob = ("binary payload of " + s.name()).getBytes(StandardCharsets.UTF_8);
            b.withBinaryData(Map.of("blob.bin", Base64.getEncoder().encodeToString(blob)));
        }
        return b.build();
    }

    /** Picks {@code count} sources (same choice for the same seed). */
    List<Source> pickForUpdate(int count, long seed) {
        List<Source> all = new ArrayList<>(sources());
        Collections.shuffle(all, new Random(seed));
        return all.subList(0, Math.min(count, all.size()));
    }

    /** Updates each source: version 2, a new key, one key removed. */
    void update(List<Source> chosen) throws InterruptedException {
        parallel(chosen, s -> client.configMaps().inNamespace(s.namespace()).withName(s.name()).edit(cm -> {
            ConfigMap next = new ConfigMapBuilder(cm).build();
            Map<String, String> data = new LinkedHashMap<>(next.getData() == null ? Map.of() : next.getData());
            data.put("version", "2");
            data.put("updated", "true");
            data.remove(REMOVED_BY_UPDATE);
            next.setData(data);
            return next;
        }), s -> "update of ConfigMap " + s.namespace() + "/" + s.name());
        updated.addAndGet(chosen.size());
    }

    int updated() {
        return updated.get();
    }

    private interface Action<T> {
        void run(T item);
    }

    private interface Describe<T> {
        String of(T item);
    }

    private static <T> void parallel(List<T> items, Action<T> action, Describe<T> describe) throws InterruptedException {
        Semaphore permits = new Semaphore(PARALLEL_WRITES);
        List<Future<?>> futures = new ArrayList<>(items.size());
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (T item : items) {
                permits.acquire();
                futures.add(pool.submit(() -> {
                    try {
                        action.run(item);
                    } catch (KubernetesClientException e) {
                        throw new CliException(ExitCode.FAILURE, "demo: " + describe.of(item) + " failed: "
                                + (e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage()), e);
                    } finally {
                        permits.release();
                    }
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    pool.shutdownNow();
                    if (e.getCause() instanceof CliException c) {
                        throw c;
                    }
                    throw new CliException(ExitCode.FAILURE, "demo: " + e.getCause(), e.getCause());
                }
            }
        }
    }
}
