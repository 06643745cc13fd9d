package dev.flotilla.tuning.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.sharding.ShardSpace;
import dev.flotilla.sharding.Sharding;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.sharding.audit.InMemoryAuditTrail;
import dev.flotilla.sharding.audit.LeaseTransition;
import dev.flotilla.sharding.audit.OverlapChecker;
import dev.flotilla.sharding.audit.ReconcileRecord;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.signals.PrometheusClient;
import dev.flotilla.tuning.signals.PrometheusServer;
import dev.flotilla.tuning.signals.PrometheusSignals;
import dev.flotilla.tuning.signals.SignalMetrics;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The tuner as a sharded controller: each replica tunes only the namespaces of its shards; and the kill switch ConfigMap. */
@WithCluster
class ShardedTunerTest {

    @Test
    void eachPolicyIsTunedByTheReplicaThatHoldsItsNamespacesShardOnly(TestCluster cluster, TestNamespace ns) throws Exception {
        KubernetesClient admin = cluster.client();
        ResourceTunerTest.installCrd(admin);
        InMemoryAuditTrail trail = new InMemoryAuditTrail();
        List<String> namespaces = new ArrayList<>();
        try (ScriptedExporter exporter = new ScriptedExporter(); PrometheusServer prometheus = PrometheusServer.start(exporter.target())) {
            ResourceTunerTest.exporter = exporter;
            ResourceTunerTest.prometheus = prometheus;
            List<Manager> managers = new ArrayList<>();
            List<Sharding> shardings = new ArrayList<>();
            List<KubernetesClient> clients = new ArrayList<>();
            try {
                for (int r = 0; r < 2; r++) {
                    KubernetesClient client = cluster.newClient();
                    clients.add(client);
                    Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
                    Sharding sharding = Sharding.of(ShardingConfig.defaults("tuner-" + r, ns.name())
                            .withGroup("tuners").withTimings(Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1)), trail);
                    manager.install(sharding);
                    PrometheusSignals signals = new PrometheusSignals(new PrometheusClient(prometheus.uri(), Duration.ofSeconds(3)),
                            SignalMetrics.defaults(), Duration.ofMinutes(3), Duration.ofSeconds(2), Duration.ofSeconds(10));
                    ResourceTuner.register(manager, new TuningReconciler(client, signals,
                            TuningSettings.defaults().withResync(Duration.ofMinutes(5))), 1, sharding::audited);
                    manager.start();
                    managers.add(manager);
                    shardings.add(sharding);
                }
                // The policies come once both replicas hold their shards: a policy created while the first replica
                // still held every shard would be tuned by it and again by its shard's next holder (a handover, not
                // two owners; OverlapChecker below judges that), and who tunes what would depend on timing.
                ShardSpace space = new ShardSpace(32);
                await().atMost(Duration.ofSeconds(60)).until(() -> shardings.stream().allMatch(s -> !s.activeShards().isEmpty())
                        && shardings.stream().mapToInt(s -> s.activeShards().size()).sum() == space.shards()
                        && shardings.stream().anyMatch(Sharding::layoutSettled));
                // Three namespaces in each replica's shards, so that both must work whatever the names hash to.
                Map<String, String> ownerOf = new HashMap<>();
                Map<String, Integer> perReplica = new HashMap<>();
                for (int i = 0; ownerOf.size() < 6; i++) {
                    String full = i + "-tuned-" + ns.name();
                    String name = full.substring(0, Math.min(63, full.length())).replaceAll("-+$", "");
                    String owner = shardings.stream().filter(s -> s.worksOn(name)).findFirst()
                            .orElseThrow().identity();
                    if (perReplica.merge(owner, 1, Integer::sum) <= 3) {
                        ownerOf.put(name, owner);
                    }
                }
                for (String name : ownerOf.keySet()) {
                    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
                    namespaces.add(name);
                    TestNamespace tns = new TestNamespace(name);
                    ResourceTunerTest.workload(admin, tns, "node-" + ns.name(), "64");
                    admin.resource(ResourceTunerTest.policy(tns, "Recommend", "100m", "4")).create();
                }
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> namespaces.stream()
                        .allMatch(n -> {
                            var p = admin.resources(ResourceTuningPolicy.class).inNamespace(n).withName("web").get();
                            return p.getStatus() != null && !p.getStatus().getContainers().isEmpty();
                        }));
                // The policies' objects are load: the coordinator may move ranges once the replicas count them, and a
                // late count may move one again while the policies are tuned (a handover: OverlapChecker below judges it).
                // So each reconcile is judged against the shard's holder at that moment, from the replicas' own lease
                // transitions, rather than assuming nothing moves.
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                        .until(() -> shardings.stream().anyMatch(Sharding::layoutSettled));
                long since = System.nanoTime();
                for (String n : namespaces) {
                    admin.resources(ResourceTuningPolicy.class).inNamespace(n).withName("web")
                            .edit(p -> {
                                p.getSpec().getContainers().getFirst().setMaxCpu(new Quantity("5")); // a new generation
                                return p;
                            });
                }
                Map<String, Set<String>> tunedBy = new HashMap<>();
                List<ReconcileRecord> judged = new ArrayList<>();
                // Done when every namespace was tuned since the edit by the replica that holds its shard now.
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                    tunedBy.clear();
                    judged.clear();
                    for (ReconcileRecord rec : trail.reconciles()) {
                        if (rec.startNanos() >= since) {
                            judged.add(rec);
                            tunedBy.computeIfAbsent(rec.namespace(), k -> new java.util.TreeSet<>()).add(rec.replica());
                        }
                    }
                    return namespaces.stream().allMatch(n -> tunedBy.getOrDefault(n, Set.of()).contains(
                            shardings.stream().filter(s -> s.worksOn(n)).findFirst().map(Sharding::identity).orElse("")));
                });
                List<LeaseTransition> transitions = trail.transitions();
                for (ReconcileRecord rec : judged) {
                    assertThat(activeAtStart(transitions, rec)).as("%s started tuning %s/%s while holding shard %d", rec.replica(),
                            rec.namespace(), rec.name(), rec.shard()).isTrue();
                }
                assertThat(tunedBy.values().stream().flatMap(Set::stream).distinct().count()).as("both replicas worked").isEqualTo(2);
            } finally {
                managers.forEach(Manager::stop);
                clients.forEach(KubernetesClient::close);
            }
        }
        assertThat(OverlapChecker.overlaps(trail.reconciles())).isEmpty();
    }

    /**
     * Whether {@code rec}'s replica held its shard, active, when the reconcile started (a later fence stops its writes,
     * which the write-fence tests judge; here the claim is that only a holder starts work).
     */
    private static boolean activeAtStart(List<LeaseTransition> transitions, ReconcileRecord rec) {
        long activeSince = -1;
        for (LeaseTransition t : transitions.stream().filter(t -> t.replica().equals(rec.replica()) && t.shard() == rec.shard())
                .sorted(java.util.Comparator.comparingLong(LeaseTransition::atNanos)).toList()) {
            if (t.atNanos() > rec.startNanos()) {
                break;
            }
            activeSince = t.kind() == LeaseTransition.Kind.ACTIVE ? t.atNanos() : -1;
        }
        return activeSince >= 0 && activeSince <= rec.startNanos();
    }

    @Test
    void theKillSwitchConfigMapTurnsTheTunerOffAndOnAtRunTimeAndFailsClosed(TestCluster cluster, TestNamespace ns) {
        try (KillSwitch kill = new KillSwitch(cluster.client(), ns.name())) {
            // No ConfigMap: not "not switched off" but "cannot tell", which stops the tuner.
            await().atMost(Duration.ofSeconds(10)).until(() -> reason(kill).equals(KillSwitchState.MISSING));
            assertThat(((KillSwitchState.Engaged) kill.get()).message()).contains(ns.name() + "/" + KillSwitch.NAME)
                    .contains("does not exist");
            cluster.client().resource(new ConfigMapBuilder().withNewMetadata().withName(KillSwitch.NAME).withNamespace(ns.name())
                    .endMetadata().addToData(KillSwitch.KEY, "true").build()).create();
            await().atMost(Duration.ofSeconds(10)).until(() -> reason(kill).equals(KillSwitchState.SWITCHED_OFF));
            cluster.client().configMaps().inNamespace(ns.name()).withName(KillSwitch.NAME)
                    .edit(cm -> new ConfigMapBuilder(cm).addToData(KillSwitch.KEY, "false").build());
            await().atMost(Duration.ofSeconds(10)).until(() -> kill.get() instanceof KillSwitchState.Released);
            cluster.client().configMaps().inNamespace(ns.name()).withName(KillSwitch.NAME)
                    .edit(cm -> new ConfigMapBuilder(cm).addToData(KillSwitch.KEY, "off").build());
            await().atMost(Duration.ofSeconds(10)).until(() -> reason(kill).equals(KillSwitchState.INVALID_VALUE));
            assertThat(((KillSwitchState.Engaged) kill.get()).message()).contains("'off'");
        }
        // A replica whose identity may not read the ConfigMap takes no action, and says why.
        var config = new io.fabric8.kubernetes.client.ConfigBuilder(cluster.config()).withImpersonateUsername("no-configmaps")
                .build();
        try (var forbiddenClient = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(config).build();
                KillSwitch kill = new KillSwitch(forbiddenClient, ns.name())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> reason(kill).equals(KillSwitchState.FORBIDDEN));
            assertThat(((KillSwitchState.Engaged) kill.get()).message()).contains("cannot be read").contains("forbidden");
        }
    }

    private static String reason(KillSwitch kill) {
        return kill.get() instanceof KillSwitchState.Engaged e ? e.reason() : "Released";
    }
}
