package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.sharding.audit.InMemoryAuditTrail;
import dev.flotilla.sharding.audit.OverlapChecker;
import dev.flotilla.sharding.audit.ReconcileRecord;
import dev.flotilla.testing.RealApiServer;
import dev.flotilla.testing.TestNamespace;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Shard-scoped informers against a real API server without the ShardedListAndWatch gate: the
 * server ignores the shard selector, so each replica watches the namespaces of its shards one by
 * one and still caches only its share.
 */
class PerNamespaceModeTest {

    private static RealApiServer server;

    @BeforeAll
    static void startServerWithoutShardedWatch() {
        server = RealApiServer.start(false);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void withoutServerSideShardingEachReplicaWatchesItsShardsNamespacesAndPicksUpNewOnes() throws Exception {
        TestNamespace ns = new TestNamespace("pernamespace");
        server.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns.name()).endMetadata().build())
                .create();
        List<String> namespaces = ShardedReplicasTest.populate(server.client(), ns, "fallback");
        InMemoryAuditTrail trail = new InMemoryAuditTrail();
        List<Replica> replicas = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                replicas.add(new Replica("replica-" + i, server.config(), ShardedReplicasTest.config("replica-" + i, ns, "fb"),
                        trail, "fallback", Duration.ofMillis(1)).start());
            }
            ShardedReplicasTest.awaitSettled(replicas, 32);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                for (Replica r : replicas) {
                    long expected = namespaces.stream().filter(r.sharding::worksOn).count()
                            * ShardedReplicasTest.PER_NAMESPACE;
                    assertThat(r.cached()).as(r.name + " cache").isEqualTo((int) expected);
                }
            });
            for (Replica r : replicas) {
                assertThat(r.manager.registry().scrape())
                        .contains("flotilla_shard_informer_mode{mode=\"per-namespace\",resource=\"ConfigMap\"} 1");
            }
            // A namespace created now lands in some replica's shard: that replica starts watching it.
            String late = "late-" + ns.name();
            server.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(late).endMetadata().build())
                    .create();
            server.client().resource(new ConfigMapBuilder().withNewMetadata().withName("cm-late").withNamespace(late)
                    .addToLabels(Replica.LABEL, "fallback").endMetadata().build()).create();
            await().atMost(Duration.ofSeconds(10)).until(() -> trail.reconciles().stream()
                    .map(ReconcileRecord::namespace).anyMatch(late::equals));
            Replica owner = replicas.stream().filter(r -> r.sharding.worksOn(late))
                    .findFirst().orElseThrow();
            assertThat(trail.reconciles().stream().filter(r -> r.namespace().equals(late)).map(ReconcileRecord::replica))
                    .containsOnly(owner.name);
        } finally {
            replicas.forEach(Replica::close);
        }
        assertThat(OverlapChecker.overlaps(trail.reconciles())).isEmpty();
    }
}
