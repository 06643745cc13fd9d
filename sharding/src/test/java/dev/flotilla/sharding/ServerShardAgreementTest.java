package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ConfigMapList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The Java hash and the API server's shard filter agree, on the real server with ShardedListAndWatch. */
@WithCluster
class ServerShardAgreementTest {

    @Test
    void theServerReturnsExactlyTheNamespacesShardSpaceAssignsToEachOf32Shards(KubernetesClient client, TestNamespace ns)
            throws Exception {
        String run = ns.name().substring(ns.name().length() - 6);
        List<String> namespaces = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            // Mixed shapes: sequential names, random ones, and long ones.
            namespaces.add(switch (i % 3) {
                case 0 -> "team-" + i;
                case 1 -> "a" + UUID.randomUUID().toString().substring(0, 18);
                default -> "tenant-" + run + "-" + i + "-production-eu-west";
            });
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> created = new ArrayList<>();
            for (String name : namespaces) {
                created.add(pool.submit(() -> {
                    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name)
                            .addToLabels("shard-run", run).endMetadata().build()).create();
                    client.resource(new ConfigMapBuilder().withNewMetadata().withName("probe").withNamespace(name)
                            .addToLabels("shard-run", run).endMetadata().build()).create();
                }));
            }
            for (Future<?> f : created) {
                f.get();
            }
        }
        ShardSpace space = new ShardSpace(ShardSpace.DEFAULT_SHARDS);
        Map<Integer, Set<String>> expected = new HashMap<>();
        namespaces.forEach(n -> expected.computeIfAbsent(space.shardOf(n), k -> new TreeSet<>()).add(n));
        int seen = 0;
        for (int shard = 0; shard < space.shards(); shard++) {
            ConfigMapList list = client.configMaps().inAnyNamespace().withLabel("shard-run", run)
                    .withShardSelector(space.selector(shard)).list();
            Set<String> got = new TreeSet<>();
            list.getItems().forEach(c -> got.add(c.getMetadata().getNamespace()));
            assertThat(got).as("shard %d", shard).isEqualTo(expected.getOrDefault(shard, Set.of()));
            assertThat(list.getMetadata().getShardInfo()).as("server-side sharding in effect").isNotNull();
            seen += got.size();
        }
        assertThat(seen).isEqualTo(1000);
    }
}
