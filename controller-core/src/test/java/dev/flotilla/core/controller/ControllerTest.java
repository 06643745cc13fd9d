package dev.flotilla.core.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.core.queue.ExponentialBackoff;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.core.reconcile.TerminalException;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The controller runtime end to end against a real API server: informers, mapping, predicates,
 * retries, shutdown. Controllers watch all namespaces and namespaces are never finalized by a bare
 * API server, so every assertion looks only at this test's namespace.
 */
@WithCluster
class ControllerTest {

    String NS;
    KubernetesClient client;
    Manager manager;

    @BeforeEach
    void setUp(KubernetesClient client, TestNamespace namespace) {
        this.client = client;
        this.NS = namespace.name();
    }

    @AfterEach
    void stop() {
        if (manager != null) {
            manager.stop();
        }
    }

    private Manager newManager(Duration shutdown) {
        manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1).withShutdownTimeout(shutdown),
                KeyGate.admitAll());
        return manager;
    }

    private ConfigMap configMap(String name, Map<String, String> labels) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(NS).withLabels(labels).endMetadata()
                .withData(Map.of("k", "v")).build();
    }

    /** Counts reconciles per key of this test's namespace. */
    final class Recorder {
        final Map<ObjectKey, AtomicInteger> calls = new ConcurrentHashMap<>();

        int calls(String name) {
            return calls.getOrDefault(ObjectKey.of(NS, name), new AtomicInteger()).get();
        }

        void record(ObjectKey key) {
            if (key.namespace().equals(NS)) {
                calls.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            }
        }
    }

    @Test
    void anOwnedObjectsChangeReconcilesItsControllingOwner() throws Exception {
        var recorder = new Recorder();
        newManager(Duration.ofSeconds(5)).controller(ConfigMap.class).named("owner-mapping")
                .withLabelSelector("role=parent")
                .owns(ConfigMap.class, "role=child")
                .complete(request -> {
                    recorder.record(request.key());
                    return Result.done();
                });
        ConfigMap parent = client.resource(configMap("parent", Map.of("role", "parent"))).create();
        manager.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.calls("parent") == 1);

        ConfigMap child = configMap("child", Map.of("role", "child"));
        child.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder().withApiVersion("v1")
                .withKind("ConfigMap").withName("parent").withUid(parent.getMetadata().getUid())
                .withController(true).build()));
        client.resource(child).create();
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.calls("parent") == 2);

        // A child owned without controller=true, or by another kind, maps to nothing.
        ConfigMap stray = configMap("stray", Map.of("role", "child"));
        stray.getMetadata().setOwnerReferences(List.of(
                new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap").withName("parent")
                        .withUid(parent.getMetadata().getUid()).withController(false).build(),
                new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("Deployment").withName("parent")
                        .withUid("x").withController(true).build()));
        client.resource(stray).create();
        Thread.sleep(500);
        assertThat(recorder.calls("parent")).isEqualTo(2);
        assertThat(recorder.calls).doesNotContainKeys(ObjectKey.of(NS, "child"), ObjectKey.of(NS, "stray"));
    }

    @Test
    void predicatesDropEventsTheyReject() throws Exception {
        var recorder = new Recorder();
        newManager(Duration.ofSeconds(5)).controller(ConfigMap.class).named("predicates")
                .withPredicate(EventPredicate.hasLabel("watch", "yes"))
                .withPredicate(EventPredicate.resourceVersionChanged())
                .complete(request -> {
                    recorder.record(request.key());
                    return Result.done();
                });
        client.resource(configMap("ignored", Map.of("watch", "no"))).create();
        client.resource(configMap("wanted", Map.of("watch", "yes"))).create();
        manager.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.calls("wanted") == 1);

        client.configMaps().inNamespace(NS).withName("wanted").edit(cm -> {
            cm.getData().put("k", "changed");
            return cm;
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.calls("wanted") == 2);
        // Dropping the label is an update one side of which carries it: still delivered.
        client.configMaps().inNamespace(NS).withName("wanted").edit(cm -> {
            cm.getMetadata().getLabels().put("watch", "no");
            return cm;
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.calls("wanted") == 3);
        assertThat(recorder.calls("ignored")).isZero();
    }

    @Test
    void aPoisonObjectBacksOffUpToItsCapWhileTheOthersConverge() throws Exception {
        var recorder = new Recorder();
        List<Long> poisonAttempts = new CopyOnWriteArrayList<>();
        newManager(Duration.ofSeconds(5)).controller(ConfigMap.class).named("poison")
                .rateLimiter(new ExponentialBackoff<>(Duration.ofMillis(10), Duration.ofMillis(200)))
                .workers(2)
                .complete(request -> {
                    if (request.key().name().equals("poison") && request.key().namespace().equals(NS)) {
                        poisonAttempts.add(System.nanoTime());
                        throw new IllegalStateException("this object always fails");
                    }
                    recorder.record(request.key());
                    return Result.done();
                });
        for (int i = 0; i < 20; i++) {
            client.resource(configMap("good-" + i, Map.of())).create();
        }
        client.resource(configMap("poison", Map.of())).create();
        manager.start();

        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.calls.size() == 20);
        await().atMost(Duration.ofSeconds(20)).until(() -> poisonAttempts.size() >= 12);
        // Gaps grow 10, 20, 40, 80, 160 ms and then stay at the 200 ms cap.
        List<Long> gapsMs = new ArrayList<>();
        for (int i = 1; i < poisonAttempts.size(); i++) {
            gapsMs.add((poisonAttempts.get(i) - poisonAttempts.get(i - 1)) / 1_000_000);
        }
        assertThat(gapsMs.subList(6, gapsMs.size())).allSatisfy(gap -> assertThat(gap).isBetween(190L, 600L));
        assertThat(gapsMs.get(0)).isLessThan(gapsMs.get(4));
        double retries = manager.registry().get(MetricNames.WORKQUEUE_RETRIES_TOTAL)
                .tag(MetricNames.LABEL_NAME, "poison").counter().count();
        assertThat(retries).isGreaterThanOrEqualTo(poisonAttempts.size() - 1);
        double errors = manager.registry().get(MetricNames.RECONCILE_ERRORS_TOTAL)
                .tag(MetricNames.LABEL_CONTROLLER, "poison").counter().count();
        assertThat(errors).isGreaterThanOrEqualTo(12);
        assertThat(recorder.calls.values()).allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
    }

    @Test
    void aTerminalErrorIsReportedOnceAndNotRetried() throws Exception {
        var attempts = new AtomicInteger();
        newManager(Duration.ofSeconds(5)).controller(ConfigMap.class).named("terminal")
                .rateLimiter(new ExponentialBackoff<>(Duration.ofMillis(5), Duration.ofMillis(50)))
                .complete(request -> {
                    if (request.key().namespace().equals(NS)) {
                        attempts.incrementAndGet();
                    }
                    throw new TerminalException("spec is invalid");
                });
        client.resource(configMap("bad", Map.of())).create();
        manager.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() == 1);
        Thread.sleep(500);
        assertThat(attempts.get()).isEqualTo(1);
        assertThat(manager.registry().get(MetricNames.TERMINAL_RECONCILE_ERRORS_TOTAL)
                .tag(MetricNames.LABEL_CONTROLLER, "terminal").counter().count())
                .as("one per object: this test's and any left in earlier tests' namespaces")
                .isEqualTo(client.configMaps().inAnyNamespace().list().getItems().size());
    }

    @Test
    void aHangingReconcilerDoesNotHoldShutdownPastItsDeadline() throws Exception {
        var entered = new AtomicInteger();
        newManager(Duration.ofSeconds(1)).controller(ConfigMap.class).named("hang").complete(request -> {
            if (!request.key().namespace().equals(NS)) {
                return Result.done();
            }
            entered.incrementAndGet();
            while (true) { // ignores interrupts, like a reconciler stuck in native I/O
                try {
                    Thread.sleep(10_000);
                } catch (InterruptedException ignored) {
                    // keep hanging
                }
            }
        });
        client.resource(configMap("stuck", Map.of())).create();
        manager.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> entered.get() == 1);
        long t0 = System.nanoTime();
        boolean drained = manager.stop();
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(drained).isFalse();
        assertThat(tookMs).isBetween(900L, 2500L);
    }

    @Test
    void keysTheGateRefusesAreNeverReconciled() throws Exception {
        var recorder = new Recorder();
        manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1),
                key -> !key.name().startsWith("foreign"));
        manager.controller(ConfigMap.class).named("gated").complete(request -> {
            recorder.record(request.key());
            return Result.done();
        });
        client.resource(configMap("mine", Map.of())).create();
        client.resource(configMap("foreign-1", Map.of())).create();
        manager.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.calls("mine") == 1);
        // Queued by hand past the event handler: the worker's second check drops it.
        manager.controllers().get(0).loop().queue().add(ObjectKey.of(NS, "foreign-2"));
        Thread.sleep(300);
        assertThat(recorder.calls).containsOnlyKeys(ObjectKey.of(NS, "mine"));
    }

    @Test
    void theCacheHoldsObjectsWithoutManagedFieldsAndReadinessFollowsSync() throws Exception {
        client.resource(configMap("fat", Map.of())).create();
        assertThat(client.configMaps().inNamespace(NS).withName("fat").get().getMetadata().getManagedFields())
                .as("the API server records managedFields").isNotEmpty();
        var seen = new CopyOnWriteArrayList<ConfigMap>();
        newManager(Duration.ofSeconds(5)).controller(ConfigMap.class).named("cache").complete(request -> {
            request.object().filter(cm -> cm.getMetadata().getNamespace().equals(NS)).ifPresent(seen::add);
            return Result.done();
        });
        assertThat(manager.readinessProblems()).isNotEmpty();
        manager.start();
        assertThat(manager.readinessProblems()).isEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
        assertThat(seen.get(0).getMetadata().getManagedFields()).isNullOrEmpty();
        assertThat(manager.controllers().get(0).cache().get(ObjectKey.of(NS, "fat")).orElseThrow()
                .getMetadata().getManagedFields()).isNullOrEmpty();
    }

    @Test
    void aControllerAddedToARunningManagerStartsOnlyOnceItsNewCachesHaveSynced() throws Exception {
        newManager(Duration.ofSeconds(5)).controller(ConfigMap.class).named("first").withLabelSelector("role=other")
                .complete(r -> Result.done());
        manager.start();
        ConfigMap parent = client.resource(configMap("late-parent", Map.of("late", "parent"))).create();
        for (int i = 0; i < 30; i++) {
            ConfigMap child = configMap("late-child-" + i, Map.of("late", "child"));
            child.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder().withApiVersion("v1")
                    .withKind("ConfigMap").withName("late-parent").withUid(parent.getMetadata().getUid())
                    .withController(true).build()));
            client.resource(child).create();
        }
        var childrenSeen = new CopyOnWriteArrayList<Integer>();
        var late = manager.controller(ConfigMap.class).named("late").withLabelSelector("late=parent")
                .owns(ConfigMap.class, "late=child").complete(request -> {
                    if (request.key().namespace().equals(NS)) {
                        childrenSeen.add(manager.informers().informerFor(
                                dev.flotilla.core.cache.InformerKey.of(ConfigMap.class, "late=child")).list(NS).size());
                    }
                    return Result.done();
                });
        await().atMost(Duration.ofSeconds(10)).until(() -> !childrenSeen.isEmpty());
        assertThat(childrenSeen.get(0)).as("the owned cache was complete at the first reconcile").isEqualTo(30);
        assertThat(late.informers()).allSatisfy(i -> assertThat(i.hasSynced()).isTrue());
    }

    @Test
    void controllerNamesMustBeUniqueAndValid() {
        newManager(Duration.ofSeconds(1)).controller(ConfigMap.class).named("one").complete(r -> Result.done());
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> manager.controller(ConfigMap.class).named("one").complete(r -> Result.done()))
                .hasMessageContaining("already registered");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> manager.controller(ConfigMap.class).named("Bad Name"))
                .hasMessageContaining("DNS label");
    }
}
