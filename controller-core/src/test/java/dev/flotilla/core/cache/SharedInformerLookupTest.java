package dev.flotilla.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.testing.MockCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Lookups in a shard-partitioned informer, which remembers the partition a namespace was found in: after the
 * partitions change, a lookup never answers from a partition no longer watched. Unit level (fabric8's mock server):
 * each "shard" partition here is served by an informer on one namespace, which is what a server-side shard selector
 * gives for a range holding that one namespace.
 */
class SharedInformerLookupTest {

    private MockCluster cluster;
    private KubernetesClient client;

    @BeforeEach
    void start() {
        cluster = MockCluster.start();
        client = cluster.client();
        for (String ns : new String[] {"a", "b"}) {
            client.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("x").withNamespace(ns)
                    .endMetadata().build()).create();
        }
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private static Partition shard(String namespace) {
        return Partition.shard("shard-" + namespace, ShardSelector.ofShard(namespace.equals("a") ? 0 : 1, 2));
    }

    @Test
    void aLookupAfterTheNamespacesPartitionLeftFindsNothingAndMissesInAKnownNamespaceAnswerEmpty() throws Exception {
        Map<Partition, String> namespaceOf = Map.of(shard("a"), "a", shard("b"), "b");
        SharedInformer<ConfigMap> informer = new SharedInformer<>(InformerKey.all(ConfigMap.class), Set.of(shard("a"), shard("b")),
                p -> client.configMaps().inNamespace(namespaceOf.get(p)).runnableInformer(0));
        try {
            informer.start().get(30, TimeUnit.SECONDS);
            assertThat(informer.get(ObjectKey.of("a", "x"))).isPresent();
            assertThat(informer.get(ObjectKey.of("b", "x"))).isPresent();
            // A miss in a namespace already located: empty, from its own partition.
            assertThat(informer.get(ObjectKey.of("a", "missing"))).isEmpty();

            // Shard a moves away: its informer stops (its store may keep what it held), so a/x must not be found.
            informer.setPartitions(Set.of(shard("b"))).get(30, TimeUnit.SECONDS);
            assertThat(informer.get(ObjectKey.of("a", "x"))).as("a/x after shard a left").isEmpty();
            assertThat(informer.get(ObjectKey.of("b", "x"))).isPresent();

            // And back: found again, from the new partition's informer.
            informer.setPartitions(Set.of(shard("a"), shard("b"))).get(30, TimeUnit.SECONDS);
            assertThat(informer.get(ObjectKey.of("a", "x"))).as("a/x after shard a came back").isPresent();
        } finally {
            informer.stop();
        }
    }
}
