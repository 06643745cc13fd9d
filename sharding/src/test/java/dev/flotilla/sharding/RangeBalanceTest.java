package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.sharding.audit.InMemoryAuditTrail;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Balance by objects, on the real API server: three replicas of a group of 32 shards settle on
 * ranges weighted by the objects their members count, and each replica's load (objects in the
 * namespaces of the ranges it holds, judged from the shard Leases the server has and the objects
 * this test created) is within the bound. Beside each figure, what the equal-width shards of
 * protocol 2 would give the same namespaces.
 *
 * <p>The bound for the skewed set: the issue asks for "the largest namespace plus 10% of the
 * mean"; its largest namespace (2,000 objects) is below the mean (3,333), so no layout can meet
 * that literally. The planner's group bound is used: {@code max(largest namespace, mean) + 10% of
 * the mean}, the same as {@code 1.10 x mean} here.
 */
@WithCluster
class RangeBalanceTest {

    private static final int SHARDS = 32;
    private static final double TOLERANCE = 0.10;

    private final InMemoryAuditTrail trail = new InMemoryAuditTrail();

    @Test
    void threeReplicasHoldAboutTheSameNumberOfObjectsOnFourNamespaceSets(TestCluster cluster, TestNamespace ns)
            throws Exception {
        Map<String, Map<String, Long>> datasets = new java.util.LinkedHashMap<>();
        datasets.put("teams", PlannerDatasets.teams());
        datasets.put("tenants", PlannerDatasets.tenants());
        datasets.put("words", PlannerDatasets.words());
        datasets.put("skewed", PlannerDatasets.skewed());
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%-8s %10s %8s %13s %11s %9s %9s %s%n",
                "dataset", "namespaces", "objects", "max/mean", "equal-width", "bound", "settle-s", "objects per replica"));
        List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        // The four sets run side by side, each its own group over its own objects (labelled with the set's name): their
        // waits (the layout settles after quiet report periods) overlap. What is asserted depends on the objects counted,
        // not on timing: each set's group is started only once its objects are all there.
        Map<String, Future<String>> rows = new java.util.LinkedHashMap<>();
        try (ExecutorService sets = Executors.newVirtualThreadPerTaskExecutor()) {
            for (var d : datasets.entrySet()) {
                rows.put(d.getKey(), sets.submit(() -> balance(cluster, ns, d.getKey(), d.getValue(), failures)));
            }
            for (Future<String> row : rows.values()) {
                table.append(row.get());
            }
        }
        System.out.print("object balance, 3 replicas, " + SHARDS + " shards (max/mean of objects per replica):\n" + table);
        assertThat(failures).isEmpty();
    }

    /** One set: its objects created, three replicas of group {@code run} started and settled; returns its table row. */
    private String balance(TestCluster cluster, TestNamespace ns, String run, Map<String, Long> objects, List<String> failures)
            throws Exception {
        long begin = System.nanoTime();
        populate(cluster.client(), run, objects);
        long populated = System.nanoTime();
        long total = objects.values().stream().mapToLong(Long::longValue).sum();
        List<Replica> replicas = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                replicas.add(new Replica("replica-" + i, cluster.config(), ShardedReplicasTest.config("replica-" + i, ns, run),
                        trail, run, Duration.ZERO));
            }
            for (Replica r : replicas) {
                r.start();
            }
            long started = System.nanoTime();
            ReplicaGroup.awaitTrue(run + ": the layout to settle with every object counted", Duration.ofSeconds(240),
                    () -> replicas.stream().anyMatch(r -> r.sharding.layoutSettled())
                            && replicas.stream().mapToLong(Replica::cached).sum() == total);
            double settleSeconds = (System.nanoTime() - started) / 1e9;
            Map<String, Long> load = loads(cluster.client(), ns, run, objects);
            for (Replica r : replicas) {
                assertThat((long) r.cached()).as(run + ": %s caches the objects of the ranges its Leases hold", r.name)
                        .isEqualTo(load.getOrDefault(r.name, 0L));
            }
            long max = load.values().stream().mapToLong(Long::longValue).max().orElse(0);
            double mean = total / 3.0;
            long largest = objects.values().stream().mapToLong(Long::longValue).max().orElse(0);
            double bound = Math.max(largest, mean) + TOLERANCE * mean;
            double equalWidth = PlannerDatasets.equalWidthMaxOverMean(objects, SHARDS, PlannerDatasets.THREE);
            if (max > bound) {
                failures.add(run + ": the largest replica holds " + max + " objects, above the bound " + bound);
            }
            return String.format(Locale.ROOT, "%-8s %10d %8d %13.3f %11.3f %9.3f %9.1f %s  (populate %.0f s)%n",
                    run, objects.size(), total, max / mean, equalWidth, bound / mean, settleSeconds, load.values(),
                    (populated - begin) / 1e9);
        } finally {
            replicas.forEach(Replica::close);
        }
    }

    /** Objects per replica: each namespace's objects go to the holder of the shard Lease whose range holds it (server state). */
    static Map<String, Long> loads(KubernetesClient client, TestNamespace ns, String group, Map<String, Long> objects) {
        LeaseNaming naming = new LeaseNaming(group);
        Map<HashRange, String> holders = new TreeMap<>((a, b) -> Long.compareUnsigned(a.first(), b.first()));
        for (int shard = 0; shard < SHARDS; shard++) {
            Lease lease = client.leases().inNamespace(ns.name()).withName(naming.shardLease(shard)).get();
            String range = Optional.ofNullable(lease.getMetadata().getAnnotations())
                    .map(a -> a.get(LeaseNaming.ANNOTATION_RANGE)).orElse(null);
            HashRange r = range == null ? HashRange.of(new ShardSpace(SHARDS), shard) : HashRange.parse(range);
            holders.put(r, LeaseNaming.identityOf(Optional.ofNullable(lease.getSpec().getHolderIdentity()).orElse("")));
        }
        List<HashRange> layout = List.copyOf(holders.keySet());
        RangePlan.checkPartition(layout);
        Map<String, Long> load = new TreeMap<>();
        objects.forEach((namespace, n) -> {
            long hash = ShardSpace.hash(namespace);
            HashRange in = layout.stream().filter(r -> r.contains(hash)).findFirst().orElseThrow();
            load.merge(holders.get(in), n, Long::sum);
        });
        return load;
    }

    /** Creates the namespaces (once per server) and their ConfigMaps labelled {@code run}, 16 requests at a time. */
    static void populate(KubernetesClient client, String run, Map<String, Long> objects) throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            List<Future<?>> done = new ArrayList<>();
            for (String namespace : objects.keySet()) {
                done.add(pool.submit(() -> {
                    try {
                        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata()
                                .build()).create();
                    } catch (KubernetesClientException e) {
                        if (e.getCode() != 409) {
                            throw e;
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            done.clear();
            objects.forEach((namespace, n) -> {
                for (long i = 0; i < n; i++) {
                    String name = run + "-" + i;
                    done.add(pool.submit(() -> client.resource(new ConfigMapBuilder().withNewMetadata().withName(name)
                            .withNamespace(namespace).addToLabels(Replica.LABEL, run).endMetadata().build()).create()));
                }
            });
            for (Future<?> f : done) {
                f.get();
            }
        }
    }
}
