package dev.flotilla.core.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.cache.InformerScope;
import dev.flotilla.core.controller.KeyGate;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The order in which the manager calls its extensions, on every path: a normal start and stop, a
 * start an extension refuses, a fatal loss an extension reports, and a stop that arrives while an
 * extension is still starting. No controller and no API server are needed for the order itself.
 */
class ManagerExtensionTest {

    private final List<String> calls = new CopyOnWriteArrayList<>();
    private final KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
            .withMasterUrl("https://127.0.0.1:1").build()).build();
    private final Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1)
            .withShutdownTimeout(Duration.ofSeconds(2)), KeyGate.admitAll());

    @AfterEach
    void close() {
        manager.stop();
        client.close();
    }

    /** Records every call; {@code onStart} decides what its start does. */
    private class Recording implements Extension {
        final String name;
        final AtomicReference<WorkControl> work = new AtomicReference<>();
        volatile Starter onStart = w -> { };

        Recording(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Seams install(ExtensionContext context) {
            calls.add(name + ".install");
            return Seams.none();
        }

        @Override
        public void start(WorkControl w) throws Exception {
            calls.add(name + ".start (manager " + (manager.isReady() ? "ready" : "not ready") + ")");
            work.set(w);
            onStart.start(w);
        }

        @Override
        public void leave() {
            calls.add(name + ".leave");
        }

        @Override
        public void abandon() {
            calls.add(name + ".abandon");
        }
    }

    @FunctionalInterface
    private interface Starter {
        void start(WorkControl work) throws Exception;
    }

    @Test
    void extensionsStartInInstallOrderOnceTheManagerRunsAndLeaveInReverseOrderFirstThingOnStop() throws Exception {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        manager.install(a);
        manager.install(b);
        assertThat(calls).containsExactly("a.install", "b.install");
        manager.start();
        assertThat(manager.isReady()).isTrue();
        assertThat(manager.stop()).isTrue();
        assertThat(calls).containsExactly("a.install", "b.install", "a.start (manager not ready)",
                "b.start (manager not ready)", "b.leave", "a.leave");
        assertThat(manager.failure()).isEmpty();
    }

    @Test
    void aRefusedStartAbandonsTheRefusingExtensionAndThoseStartedBeforeItAndStopsTheManager() throws Exception {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        Recording c = new Recording("c");
        b.onStart = w -> {
            throw new IllegalStateException("identity taken");
        };
        manager.install(a);
        manager.install(b);
        manager.install(c);
        assertThatThrownBy(manager::start).isInstanceOf(ExtensionStartException.class).hasMessage("identity taken")
                .satisfies(e -> assertThat(((ExtensionStartException) e).extension()).isEqualTo("b"));
        assertThat(manager.awaitTerminationFor(Duration.ofSeconds(1))).as("stopped by the failed start").isTrue();
        assertThat(calls).containsExactly("a.install", "b.install", "c.install", "a.start (manager not ready)",
                "b.start (manager not ready)", "b.abandon", "a.abandon");
        long t0 = System.nanoTime();
        assertThat(manager.stop()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(500));
    }

    @Test
    void aFatalLossAbandonsEveryExtensionStopsTheManagerAndIsReported() throws Exception {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        manager.install(a);
        manager.install(b);
        manager.start();
        a.work.get().fail("another replica took over identity 'x'");
        assertThat(manager.awaitTerminationFor(Duration.ofSeconds(5))).isTrue();
        assertThat(manager.failure()).contains("another replica took over identity 'x'");
        assertThat(calls).containsExactly("a.install", "b.install", "a.start (manager not ready)",
                "b.start (manager not ready)", "b.abandon", "a.abandon");
        assertThat(manager.isReady()).isFalse();
        a.work.get().fail("again");
        assertThat(manager.failure()).as("the first loss is the one reported").contains("another replica took over identity 'x'");
    }

    @Test
    void aFatalLossWhileLaterExtensionsStillStartFailsTheStartWithIt() throws Exception {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        b.onStart = w -> a.work.get().fail("lost it");
        manager.install(a);
        manager.install(b);
        assertThatThrownBy(manager::start).isInstanceOf(ExtensionStartException.class).hasMessage("lost it");
        assertThat(calls).containsExactly("a.install", "b.install", "a.start (manager not ready)",
                "b.start (manager not ready)", "b.abandon", "a.abandon");
        assertThat(manager.failure()).contains("lost it");
    }

    @Test
    void aStopWhileAnExtensionIsStartingInterruptsItAbandonsItAndLeavesTheOnesAlreadyStarted() throws Exception {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        CountDownLatch blocking = new CountDownLatch(1);
        b.onStart = w -> {
            blocking.countDown();
            Thread.sleep(60_000); // joining a group that takes long
        };
        manager.install(a);
        manager.install(b);
        AtomicReference<Throwable> started = new AtomicReference<>();
        Thread starter = Thread.ofPlatform().start(() -> {
            try {
                manager.start();
            } catch (Throwable t) {
                started.set(t);
            }
        });
        assertThat(blocking.await(5, TimeUnit.SECONDS)).isTrue();
        long t0 = System.nanoTime();
        assertThat(manager.stop()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        starter.join(5_000);
        assertThat(started.get()).isInstanceOf(IllegalStateException.class).hasMessage("manager was stopped while starting");
        assertThat(calls).containsExactly("a.install", "b.install", "a.start (manager not ready)",
                "b.start (manager not ready)", "b.abandon", "a.leave");
    }

    @Test
    void anErrorNobodyExpectedStillLeavesAStoppedManagerBehind() throws Exception {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        b.onStart = w -> {
            throw new StackOverflowError("deep");
        };
        manager.install(a);
        manager.install(b);
        assertThatThrownBy(manager::start).isInstanceOf(StackOverflowError.class);
        assertThat(manager.awaitTerminationFor(Duration.ofSeconds(1))).as("not stuck starting").isTrue();
        assertThat(calls).containsExactly("a.install", "b.install", "a.start (manager not ready)",
                "b.start (manager not ready)", "a.abandon");
        long t0 = System.nanoTime();
        assertThat(manager.stop()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(500));
    }

    @Test
    void extensionsAreInstalledBeforeTheStartAndOnlyOneMayNarrowTheInformers() throws Exception {
        Extension scoped = new Recording("scoped") {
            @Override
            public Seams install(ExtensionContext context) {
                return Seams.of(KeyGate.admitAll(), InformerScope.allNamespaces());
            }
        };
        manager.install(scoped);
        assertThatThrownBy(() -> manager.install(new Recording("also-scoped") {
            @Override
            public Seams install(ExtensionContext context) {
                return Seams.of(KeyGate.admitAll(), InformerScope.allNamespaces());
            }
        })).isInstanceOf(IllegalStateException.class)
                .hasMessage("extensions 'scoped' and 'also-scoped' both narrow the informers; only one may supply an informer scope");
        manager.start();
        assertThatThrownBy(() -> manager.install(new Recording("late"))).isInstanceOf(IllegalStateException.class)
                .hasMessage("extension 'late' must be installed before the manager starts");
    }
}
