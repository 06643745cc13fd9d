package dev.flotilla.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Lookups in a shard-partitioned informer, which remembers the partition a namespace was found in: after the
 * partitions change, a lookup never answers from a partition no longer watched. Each "shard" partition here is served
 * by an informer on one namespace, which is what a server-side shard selector gives for a range holding only that
 * namespace.
 */
@WithCluster
class SharedInformerLookupTest {

    private static Partition shard(int index) {
        return Partition.shard("shard-" + index, ShardSelector.ofShard(index, 2));
    }

    @Test
    void aLookupAfterTheNamespacesPartitionLeftFindsNothingAndMissesInAKnownNamespaceAnswerEmpty(KubernetesClient client,
            TestNamespace ns) throws Exception {
        String a = ns.name() + "-a";
        String b = ns.name() + "-b";
        for (String namespace : new String[] {a, b}) {
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build()).create();
            client.configMaps().inNamespace(namespace).resource(new ConfigMapBuilder().withNewMetadata().withName("x")
                    .withNamespace(namespace).endMetadata().build()).create();
        }
        Map<Partition, String> namespaceOf = Map.of(shard(0), a, shard(1), b);
        SharedInformer<ConfigMap> informer = new SharedInformer<>(InformerKey.all(ConfigMap.class), Set.of(shard(0), shard(1)),
                p -> client.configMaps().inNamespace(namespaceOf.get(p)).runnableInformer(0));
        try {
            informer.start().get(30, TimeUnit.SECONDS);
            assertThat(informer.get(ObjectKey.of(a, "x"))).isPresent();
            assertThat(informer.get(ObjectKey.of(b, "x"))).isPresent();
            // A miss in a namespace already located: empty, from its own partition.
            assertThat(informer.get(ObjectKey.of(a, "missing"))).isEmpty();

            // Shard 0 moves away: its informer stops (its store keeps what it held), so a/x must not be found.
            informer.setPartitions(Set.of(shard(1))).get(30, TimeUnit.SECONDS);
            assertThat(informer.get(ObjectKey.of(a, "x"))).as("a/x after shard 0 left").isEmpty();
            assertThat(informer.get(ObjectKey.of(b, "x"))).isPresent();

            // And back: found again, from the new partition's informer.
            informer.setPartitions(Set.of(shard(0), shard(1))).get(30, TimeUnit.SECONDS);
            assertThat(informer.get(ObjectKey.of(a, "x"))).as("a/x after shard 0 came back").isPresent();
        } finally {
            informer.stop();
            for (String namespace : new String[] {a, b}) {
                client.namespaces().withName(namespace).delete();
            }
        }
    }
}
