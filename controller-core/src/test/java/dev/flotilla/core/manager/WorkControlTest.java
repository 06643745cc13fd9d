package dev.flotilla.core.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.cache.InformerScope;
import dev.flotilla.core.cache.Partition;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What an extension does to the manager's work, on the real API server: its gate on top of the
 * manager's, its informer scope, and {@link WorkControl} (queue cached keys, await idle, interrupt,
 * rescope); and that {@link Extension#leave} runs while the workers still reconcile.
 */
@WithCluster
class WorkControlTest {

    private static final String LABEL = "flotilla.dev/work-control-test";

    KubernetesClient client;
    String ns;
    Manager manager;
    final List<ObjectKey> reconciled = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp(KubernetesClient client, TestNamespace namespace) {
        this.client = client;
        this.ns = namespace.name();
        manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1).withShutdownTimeout(Duration.ofSeconds(5)),
                key -> !key.name().startsWith("vetoed"));
    }

    @AfterEach
    void tearDown() {
        manager.stop();
    }

    private void configMap(String name) {
        client.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName(name)
                .addToLabels(LABEL, ns).endMetadata().withData(Map.of("k", "v")).build()).create();
    }

    /** An extension that admits only keys it lists and watches only this test's namespace once asked. */
    private static final class Narrowing implements Extension {
        final Set<String> admitted = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final AtomicReference<WorkControl> work = new AtomicReference<>();
        final String ns;
        volatile boolean watching;
        volatile Runnable onLeave = () -> { };

        Narrowing(String ns) {
            this.ns = ns;
        }

        @Override
        public String name() {
            return "narrowing";
        }

        @Override
        public Seams install(ExtensionContext context) {
            InformerScope scope = key -> watching ? Set.of(Partition.namespace(ns)) : Set.of();
            return Seams.of(key -> admitted.contains(key.name()), scope);
        }

        @Override
        public void start(WorkControl w) {
            work.set(w);
        }

        @Override
        public void leave() {
            onLeave.run();
        }

        @Override
        public void abandon() {
        }
    }

    @Test
    void aKeyIsWorkedOnOnlyIfTheManagersGateAndEveryExtensionsGateAdmitItAndOnlyInTheExtensionsScope() throws Exception {
        Narrowing ext = new Narrowing(ns);
        manager.install(ext);
        CountDownLatch blocked = new CountDownLatch(1);
        AtomicReference<Throwable> interruptedWith = new AtomicReference<>();
        manager.controller(ConfigMap.class).named("work-control").withLabelSelector(LABEL + "=" + ns).workers(2)
                .complete(request -> {
                    reconciled.add(request.key());
                    if (request.key().name().equals("slow")) {
                        blocked.countDown();
                        try {
                            Thread.sleep(30_000);
                        } catch (InterruptedException e) {
                            interruptedWith.set(e);
                            throw e;
                        }
                    }
                    return Result.done();
                });
        for (String name : List.of("a", "b", "vetoed-c", "slow")) {
            configMap(name);
        }
        manager.start();
        WorkControl work = ext.work.get();
        assertThat(manager.informers().all().getFirst().size()).as("nothing watched until the scope says so").isZero();

        ext.watching = true;
        work.rescope().get(10, TimeUnit.SECONDS);
        assertThat(manager.informers().all().getFirst().size()).isEqualTo(4);
        Thread.sleep(300);
        assertThat(reconciled).as("every event was refused by the extension's gate").isEmpty();

        ext.admitted.addAll(List.of("a", "vetoed-c"));
        assertThat(work.enqueueCached(key -> key.namespace().equals(ns))).isEqualTo(4);
        await().atMost(Duration.ofSeconds(5)).until(() -> reconciled.contains(ObjectKey.of(ns, "a")));
        Thread.sleep(300);
        assertThat(reconciled).as("b: the extension refuses it; vetoed-c: the manager's own gate does")
                .containsExactly(ObjectKey.of(ns, "a"));

        ext.admitted.add("slow");
        work.enqueueCached(key -> key.name().equals("slow"));
        assertThat(blocked.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(work.awaitIdle(key -> key.name().equals("slow"), Duration.ofMillis(200))).isFalse();
        assertThat(work.awaitIdle(key -> key.name().equals("a"), Duration.ofMillis(200))).as("only matching keys count").isTrue();
        ext.admitted.remove("slow"); // as sharding fences: refuse first (its retry is dropped), then interrupt
        assertThat(work.interrupt(key -> key.name().equals("slow"))).isEqualTo(1);
        assertThat(work.awaitIdle(key -> key.name().equals("slow"), Duration.ofSeconds(2))).isTrue();
        assertThat(interruptedWith.get()).isInstanceOf(InterruptedException.class);
    }

    @Test
    void leaveRunsWhileTheWorkersStillReconcileAndBeforeTheQueuesDrain() throws Exception {
        Narrowing ext = new Narrowing(ns);
        ext.watching = true;
        manager.install(ext);
        manager.controller(ConfigMap.class).named("work-control").withLabelSelector(LABEL + "=" + ns).complete(request -> {
            reconciled.add(request.key());
            return Result.done();
        });
        configMap("late");
        manager.start();
        AtomicReference<Boolean> reconciledDuringLeave = new AtomicReference<>();
        ext.onLeave = () -> {
            ext.admitted.add("late");
            ext.work.get().enqueueCached(key -> key.name().equals("late"));
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (reconciled.isEmpty() && System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            reconciledDuringLeave.set(!reconciled.isEmpty());
        };
        assertThat(manager.stop()).isTrue();
        assertThat(reconciledDuringLeave.get()).isTrue();
    }
}
