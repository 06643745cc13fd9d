package dev.flotilla.core.manager;

import dev.flotilla.core.cache.SharedInformers;
import dev.flotilla.core.controller.Controller;
import dev.flotilla.core.controller.ControllerBuilder;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.health.HealthServer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs controllers: owns the shared informers (one per resource type and selector), the metrics
 * registry, the health server and the {@link KeyGate} through which sharding admits or refuses
 * keys.
 *
 * <pre>{@code
 * try (Manager manager = new Manager(client, ManagerOptions.defaults(), KeyGate.admitAll())) {
 *     manager.controller(ConfigMap.class).named("mirror").complete(reconciler);
 *     manager.start();            // returns once every cache has synced and workers run
 *     manager.awaitTermination(); // until stop() or SIGTERM (see installShutdownHook)
 * }
 * }</pre>
 */
public final class Manager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Manager.class);

    private enum State { NEW, STARTING, RUNNING, STOPPING, STOPPED }

    private final KubernetesClient client;
    private final ManagerOptions options;
    private final PrometheusMeterRegistry registry;
    private final SharedInformers informers;
    private final DelegatingGate gate;
    private final List<Controller<?>> controllers = new CopyOnWriteArrayList<>();
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
    private volatile HealthServer health;
    private volatile boolean drainedCleanly = true;

    public Manager(KubernetesClient client, ManagerOptions options, KeyGate gate) {
        this(client, options, gate, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    public Manager(KubernetesClient client, ManagerOptions options, KeyGate gate, PrometheusMeterRegistry registry) {
        this.client = Objects.requireNonNull(client, "client");
        this.options = Objects.requireNonNull(options, "options");
        this.gate = new DelegatingGate(Objects.requireNonNull(gate, "gate"));
        this.registry = Objects.requireNonNull(registry, "registry");
        this.informers = new SharedInformers(client, options.stripManagedFields());
    }

    /** Starts declaring a controller whose primary resource is {@code type}. */
    public <T extends HasMetadata> ControllerBuilder<T> controller(Class<T> type) {
        return new ControllerBuilder<>(type, new ControllerBuilder.Context(informers, registry, gate, this::register));
    }

    private synchronized void register(Controller<?> controller) {
        if (controllers.stream().anyMatch(c -> c.name().equals(controller.name()))) {
            throw new IllegalArgumentException("a controller named '" + controller.name()
                    + "' is already registered; names label metrics and must be unique");
        }
        controllers.add(controller);
        if (state.get() == State.RUNNING) {
            startWhenSynced(controller);
        }
    }

    /**
     * A controller added to a running manager may bring new informers: its workers start only once
     * they have all synced, so no reconcile reads a cache that is still filling.
     */
    private void startWhenSynced(Controller<?> controller) {
        CompletableFuture<?>[] syncs = controller.informers().stream()
                .map(dev.flotilla.core.cache.SharedInformer::whenSynced).toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(syncs).orTimeout(options.cacheSyncTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((ok, error) -> {
                    if (error != null) {
                        log.atError().addKeyValue("controller", controller.name()).addKeyValue("error", error.toString())
                                .log("caches of a controller added at run time did not sync; it stays stopped");
                    } else if (state.get() == State.RUNNING) {
                        controller.start();
                    }
                });
    }

    /**
     * Replaces the gate. The sharding module calls this once it knows which shards this replica
     * holds; keys already queued are checked again before they are processed.
     */
    public void setKeyGate(KeyGate newGate) {
        gate.delegate = Objects.requireNonNull(newGate, "gate");
    }

    /**
     * Starts the health server, then every informer, waits for all caches to sync, then starts
     * every controller's workers. /readyz turns ready only after that.
     */
    public void start() throws CacheSyncException, InterruptedException {
        if (!state.compareAndSet(State.NEW, State.STARTING)) {
            throw new IllegalStateException("manager already started");
        }
        if (options.healthPort() >= 0) {
            try {
                health = HealthServer.start(new InetSocketAddress(options.healthBindAddress(), options.healthPort()),
                        registry, this::livenessProblems, this::readinessProblems);
            } catch (IOException e) {
                markStopped();
                throw new UncheckedIOException("cannot serve /metrics on " + options.healthBindAddress() + ":"
                        + options.healthPort() + ": " + e.getMessage(), e);
            }
        }
        long begin = System.nanoTime();
        try {
            informers.startAll().get(options.cacheSyncTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            informers.stopAll();
            markStopped();
            throw new CacheSyncException("caches did not sync within " + options.cacheSyncTimeout() + ": "
                    + informers.unsynced(), e);
        } catch (ExecutionException e) {
            informers.stopAll();
            markStopped();
            throw new CacheSyncException("informer failed to start: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | RuntimeException e) {
            informers.stopAll();
            markStopped();
            throw e;
        }
        if (state.get() != State.STARTING) {
            throw new IllegalStateException("manager was stopped while starting");
        }
        controllers.forEach(Controller::start);
        if (!state.compareAndSet(State.STARTING, State.RUNNING)) {
            return; // stop() arrived during start-up and has already drained the queues
        }
        log.atInfo().addKeyValue("controllers", controllers.stream().map(Controller::name).toList())
                .addKeyValue("informers", informers.all().size())
                .addKeyValue("syncMillis", Duration.ofNanos(System.nanoTime() - begin).toMillis())
                .log("manager started");
    }

    /**
     * Stops informers, then lets every controller finish what is queued and in flight within the
     * shutdown timeout (all controllers share the one deadline), then stops the health server.
     *
     * @return true if nothing was abandoned
     */
    public boolean stop() {
        State before = state.getAndUpdate(s -> s == State.STOPPED ? s : State.STOPPING);
        if (before == State.STOPPED || before == State.STOPPING) {
            return awaitStopped();
        }
        if (before == State.NEW) {
            markStopped();
            return true;
        }
        long deadline = System.nanoTime() + options.shutdownTimeout().toNanos();
        informers.stopAll();
        List<Thread> stoppers = new ArrayList<>();
        List<Boolean> results = new CopyOnWriteArrayList<>();
        for (Controller<?> controller : controllers) {
            stoppers.add(Thread.ofVirtual().start(() -> {
                try {
                    results.add(controller.stop(Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))));
                } catch (InterruptedException e) {
                    results.add(false);
                }
            }));
        }
        for (Thread t : stoppers) {
            try {
                t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())).plusMillis(200));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        drainedCleanly = results.size() == controllers.size() && results.stream().allMatch(b -> b);
        markStopped();
        log.atInfo().addKeyValue("drained", drainedCleanly).log("manager stopped");
        return drainedCleanly;
    }

    /** A start that failed leaves nothing running and a manager that stop() and close() return from at once. */
    private void markStopped() {
        if (health != null) {
            health.close();
            health = null;
        }
        state.set(State.STOPPED);
        stopped.countDown();
    }

    private boolean awaitStopped() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return drainedCleanly;
    }

    /** Blocks until {@link #stop()} has finished. */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    /** Stops the manager on SIGTERM/SIGINT, within the shutdown timeout. */
    public void installShutdownHook() {
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "flotilla-shutdown"));
    }

    /** Empty when healthy; otherwise one line per problem. */
    public List<String> livenessProblems() {
        State s = state.get();
        if (s != State.RUNNING) {
            return List.of();
        }
        return informers.all().stream().filter(i -> !i.isRunning())
                .map(i -> "informer " + i.key() + " stopped").toList();
    }

    /** Empty when ready: started, and every informer has synced. */
    public List<String> readinessProblems() {
        State s = state.get();
        if (s != State.RUNNING) {
            return List.of("manager is " + s.name().toLowerCase(java.util.Locale.ROOT));
        }
        return informers.unsynced().stream().map(k -> "informer " + k + " not synced").toList();
    }

    public boolean isReady() {
        return readinessProblems().isEmpty();
    }

    public List<Controller<?>> controllers() {
        return List.copyOf(controllers);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public KubernetesClient client() {
        return client;
    }

    public SharedInformers informers() {
        return informers;
    }

    /** The port /metrics is served on, or -1 when the health server is off or not started. */
    public int healthPort() {
        HealthServer h = health;
        return h == null ? -1 : h.port();
    }

    @Override
    public void close() {
        stop();
    }

    /** Lets sharding swap the gate at run time while controllers keep the same reference. */
    private static final class DelegatingGate implements KeyGate {
        private volatile KeyGate delegate;

        DelegatingGate(KeyGate delegate) {
            this.delegate = delegate;
        }

        @Override
        public boolean admits(dev.flotilla.core.reconcile.ObjectKey key) {
            return delegate.admits(key);
        }
    }
}
