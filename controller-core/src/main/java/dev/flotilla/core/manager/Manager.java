package dev.flotilla.core.manager;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.cache.InformerScope;
import dev.flotilla.core.cache.Partition;
import dev.flotilla.core.cache.SharedInformer;
import dev.flotilla.core.cache.SharedInformers;
import dev.flotilla.core.controller.Controller;
import dev.flotilla.core.controller.ControllerBuilder;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.health.HealthServer;
import dev.flotilla.core.health.MetricsServer;
import dev.flotilla.core.health.MetricsServing;
import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs controllers: owns the shared informers (one per resource type and selector), the metrics
 * registry, the health server, and the lifecycle of the {@link Extension}s installed on it
 * (sharding is one): their gates and informer scope apply from {@link #install} on, and the
 * manager alone decides when each is started, left or abandoned.
 *
 * <pre>{@code
 * try (Manager manager = new Manager(client, ManagerOptions.defaults(), KeyGate.admitAll())) {
 *     manager.controller(ConfigMap.class).named("mirror").complete(reconciler);
 *     manager.start();            // returns once caches synced, workers run and extensions started
 *     manager.awaitTermination(); // until stop(), SIGTERM (installShutdownHook) or an extension's fatal loss
 * }
 * }</pre>
 */
public final class Manager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Manager.class);

    private enum State { NEW, STARTING, RUNNING, STOPPING, STOPPED }

    /** How the extensions are ended: handed over (stop, SIGTERM) or dropped (failed start, fatal loss). */
    private enum Ending { LEAVE, ABANDON }

    private record Installed(Extension extension, Extension.Seams seams) {
    }

    private final KubernetesClient client;
    private final ManagerOptions options;
    private final PrometheusMeterRegistry registry;
    private final SharedInformers informers;
    private final CompositeGate gate;
    private final List<Controller<?>> controllers = new CopyOnWriteArrayList<>();
    private final List<Installed> extensions = new CopyOnWriteArrayList<>();
    /** Guards state, the starter thread, the failure and whether workers run; never held across a blocking call. */
    private final Object lifecycle = new Object();
    private State state = State.NEW;
    private Thread starter;
    private boolean stopRequested;
    /** stop() or abandon() interrupted the starting thread (its interrupt is cleared once the start is over). */
    private boolean interruptSent;
    /** How a stop requested during the start ends the extensions that did start. */
    private Ending requestedEnding = Ending.LEAVE;
    private boolean workersStarted;
    private String failure;
    private String failedExtension;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile HealthServer health;
    private volatile MetricsServer metricsServer;
    private volatile boolean drainedCleanly = true;

    public Manager(KubernetesClient client, ManagerOptions options, KeyGate gate) {
        this(client, options, gate, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    public Manager(KubernetesClient client, ManagerOptions options, KeyGate gate, PrometheusMeterRegistry registry) {
        this.client = Objects.requireNonNull(client, "client");
        this.options = Objects.requireNonNull(options, "options");
        this.gate = new CompositeGate(Objects.requireNonNull(gate, "gate"));
        this.registry = Objects.requireNonNull(registry, "registry");
        this.informers = new SharedInformers(client, options.stripManagedFields());
    }

    /** Starts declaring a controller whose primary resource is {@code type}. */
    public <T extends HasMetadata> ControllerBuilder<T> controller(Class<T> type) {
        return new ControllerBuilder<>(type, new ControllerBuilder.Context(informers, registry, gate, this::register));
    }

    private void register(Controller<?> controller) {
        synchronized (lifecycle) {
            if (state == State.STOPPING || state == State.STOPPED) {
                throw new IllegalStateException("controller '" + controller.name() + "' cannot be added to a manager that "
                        + (state == State.STOPPING ? "is stopping" : "has stopped"));
            }
            if (controllers.stream().anyMatch(c -> c.name().equals(controller.name()))) {
                throw new IllegalArgumentException("a controller named '" + controller.name()
                        + "' is already registered; names label metrics and must be unique");
            }
            controllers.add(controller);
            if (workersStarted) {
                startWhenSynced(controller);
            }
        }
    }

    /**
     * A controller added to a running manager may bring new informers: its workers start only once
     * they have all synced, so no reconcile reads a cache that is still filling.
     */
    private void startWhenSynced(Controller<?> controller) {
        CompletableFuture<?>[] syncs = controller.informers().stream()
                .map(SharedInformer::whenSynced).toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(syncs).orTimeout(options.cacheSyncTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((ok, error) -> {
                    if (error != null) {
                        log.atError().addKeyValue("controller", controller.name()).addKeyValue("error", FailureText.of(error))
                                .log("caches of a controller added at run time did not sync; it stays stopped");
                        return;
                    }
                    synchronized (lifecycle) {
                        if (state == State.RUNNING || state == State.STARTING) {
                            controller.start();
                        }
                    }
                });
    }

    /**
     * Installs {@code extension}: its gate applies to every key from now on and its informer scope,
     * if it has one, to every informer; the manager then starts, leaves or abandons it with itself
     * (see {@link Extension} for the order). Only before {@link #start}.
     *
     * @throws IllegalStateException if the manager has started, or a second extension brings a scope
     */
    public void install(Extension extension) {
        Objects.requireNonNull(extension, "extension");
        synchronized (lifecycle) {
            if (state != State.NEW) {
                throw new IllegalStateException("extension '" + extension.name()
                        + "' must be installed before the manager starts");
            }
            Extension.Seams seams = Objects.requireNonNull(
                    extension.install(new Extension.ExtensionContext(client, registry)), "seams of " + extension.name());
            if (seams.scope().isPresent()) {
                Optional<Installed> other = extensions.stream().filter(i -> i.seams().scope().isPresent()).findFirst();
                if (other.isPresent()) {
                    throw new IllegalStateException("extensions '" + other.get().extension().name() + "' and '"
                            + extension.name() + "' both narrow the informers; only one may supply an informer scope");
                }
                informers.setScope(seams.scope().get());
            }
            extensions.add(new Installed(extension, seams));
            gate.add(seams.gate());
        }
    }

    /**
     * Starts the health server, then every informer, waits for all caches to sync, starts every
     * controller's workers, then every extension in install order. /readyz turns ready only once
     * all of that is done.
     *
     * @throws CacheSyncException      an informer did not sync in time; nothing is left running
     * @throws ExtensionStartException an extension refused to start; the extensions were abandoned and the manager stopped
     * @throws IllegalStateException   started twice, or {@link #stop} was called while starting
     */
    public void start() throws CacheSyncException, ExtensionStartException, InterruptedException {
        synchronized (lifecycle) {
            if (state != State.NEW) {
                throw new IllegalStateException("manager already started");
            }
            state = State.STARTING;
            starter = Thread.currentThread();
        }
        List<Installed> started = new ArrayList<>();
        try {
            startChecked(started);
        } finally {
            boolean interruptedByStop;
            boolean stuck;
            synchronized (lifecycle) {
                starter = null; // from here on stop() interrupts nobody
                interruptedByStop = interruptSent;
                stuck = state == State.STARTING;
                if (stuck) {
                    state = State.STOPPING;
                }
            }
            if (interruptedByStop) {
                Thread.interrupted(); // stop()'s interrupt was for this start, not for the caller's next wait
            }
            if (stuck) {
                // Something nobody expected escaped (an Error, a controller started twice by hand): leave nothing running.
                end(started, Ending.ABANDON);
                drainAndStop();
            }
        }
    }

    private void startChecked(List<Installed> started)
            throws CacheSyncException, ExtensionStartException, InterruptedException {
        long begin = System.nanoTime();
        if (options.healthPort() >= 0) {
            try {
                health = HealthServer.start(new InetSocketAddress(options.healthBindAddress(), options.healthPort()),
                        options.metrics() instanceof MetricsServing.OnHealthPort ? Optional.of(registry) : Optional.empty(),
                        this::livenessProblems, this::readinessProblems);
            } catch (IOException e) {
                markStopped();
                throw new UncheckedIOException("cannot serve /healthz and /readyz on " + options.healthBindAddress() + ":"
                        + options.healthPort() + ": " + e.getMessage(), e);
            }
        }
        if (options.metrics() instanceof MetricsServing.Dedicated dedicated) {
            try {
                metricsServer = MetricsServer.start(dedicated, registry);
            } catch (IOException e) {
                if (health != null) {
                    health.close();
                    health = null;
                }
                markStopped();
                throw new UncheckedIOException("cannot serve /metrics on " + dedicated.bindAddress() + ":" + dedicated.port()
                        + ": " + e.getMessage(), e);
            }
        }
        try {
            informers.startAll().get(options.cacheSyncTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            stopInformers();
            throw new CacheSyncException("caches did not sync within " + options.cacheSyncTimeout() + ": "
                    + informers.unsynced(), e);
        } catch (ExecutionException e) {
            stopInformers();
            throw new CacheSyncException("informer failed to start: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            stopInformers();
            if (stopWasRequested()) {
                throw new IllegalStateException("manager was stopped while starting");
            }
            throw e;
        }
        synchronized (lifecycle) {
            if (stopRequested) {
                state = State.STOPPING;
            } else {
                workersStarted = true;
                controllers.forEach(Controller::start);
            }
        }
        if (!workersStarted) {
            stopInformers();
            throw new IllegalStateException("manager was stopped while starting");
        }
        long synced = System.nanoTime();
        for (Installed installed : extensions) {
            try {
                installed.extension().start(new ManagedWork(installed));
                started.add(installed);
            } catch (Exception | LinkageError | AssertionError e) {
                boolean byStop;
                Ending ending;
                synchronized (lifecycle) {
                    byStop = stopRequested;
                    ending = requestedEnding;
                    state = State.STOPPING;
                }
                // The extension that failed never finished starting: it is abandoned either way.
                end(List.of(installed), Ending.ABANDON);
                if (byStop) {
                    Thread.interrupted(); // stop()'s interrupt has done its job; the hand-over below must not see it
                    log.atInfo().addKeyValue("extension", installed.extension().name())
                            .log("stopped while an extension was starting");
                    end(started, ending);
                    drainAndStop();
                    throw new IllegalStateException("manager was stopped while starting");
                }
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt(); // not ours to swallow: the caller's thread was interrupted
                }
                log.atError().addKeyValue("extension", installed.extension().name()).addKeyValue("error", FailureText.of(e))
                        .log("extension failed to start; abandoning extensions and stopping");
                end(started, Ending.ABANDON);
                drainAndStop();
                throw new ExtensionStartException(installed.extension().name(), e);
            }
            failIfLostWhileStarting(started);
        }
        // The last word under the lock: a fatal loss or a stop from here on sees RUNNING and handles itself.
        String lost;
        String lostBy;
        boolean stopNow;
        Ending ending;
        synchronized (lifecycle) {
            lost = failure;
            lostBy = failedExtension;
            stopNow = stopRequested;
            ending = requestedEnding;
            state = lost != null || stopNow ? State.STOPPING : State.RUNNING;
        }
        if (lost != null) {
            Thread.interrupted();
            end(started, Ending.ABANDON);
            drainAndStop();
            throw new ExtensionStartException(lostBy, new IllegalStateException(lost));
        }
        if (stopNow) {
            Thread.interrupted();
            end(started, ending);
            drainAndStop();
            throw new IllegalStateException("manager was stopped while starting");
        }
        log.atInfo().addKeyValue("controllers", controllers.stream().map(Controller::name).toList())
                .addKeyValue("informers", informers.all().size())
                .addKeyValue("extensions", extensions.stream().map(i -> i.extension().name()).toList())
                .addKeyValue("syncMillis", Duration.ofNanos(synced - begin).toMillis())
                .addKeyValue("extensionMillis", Duration.ofNanos(System.nanoTime() - synced).toMillis())
                .log("manager started");
    }

    /** A start that ends before any worker ran: informers stop, and the manager is stopped. */
    private void stopInformers() {
        try {
            informers.stopAll();
        } finally {
            markStopped();
        }
    }

    private boolean stopWasRequested() {
        synchronized (lifecycle) {
            return stopRequested;
        }
    }

    /** A fatal loss reported while extensions were still starting fails the start with it. */
    private void failIfLostWhileStarting(List<Installed> started) throws ExtensionStartException {
        String reason;
        String extension;
        synchronized (lifecycle) {
            if (failure == null || state != State.STARTING) {
                return;
            }
            state = State.STOPPING;
            reason = failure;
            extension = failedExtension;
        }
        Thread.interrupted();
        end(started, Ending.ABANDON);
        drainAndStop();
        throw new ExtensionStartException(extension, new IllegalStateException(reason));
    }

    /**
     * Leaves every extension (reverse install order; for sharding: hands every shard over), then
     * stops informers and lets every controller finish what is queued and in flight within the
     * shutdown timeout (all controllers share the one deadline), then stops the health server.
     * Called while the manager is starting, it interrupts the start and waits for it to clean up.
     *
     * @return true if nothing was abandoned
     */
    public boolean stop() {
        return terminate(Ending.LEAVE);
    }

    /**
     * Stops without handing anything over, as a crash of the process would for everyone else:
     * every extension is abandoned (for sharding: its Leases are left to expire), then the queues
     * drain as in {@link #stop}. The demo and failover tests use it.
     *
     * @return true if nothing was abandoned by the drain
     */
    public boolean abandon() {
        return terminate(Ending.ABANDON);
    }

    private boolean terminate(Ending ending) {
        boolean here = false;
        synchronized (lifecycle) {
            switch (state) {
                case NEW -> {
                    state = State.STOPPED;
                    stopped.countDown();
                    return true;
                }
                case STARTING -> {
                    stopRequested = true;
                    requestedEnding = ending;
                    if (starter != null) {
                        starter.interrupt();
                        interruptSent = true;
                    }
                }
                case RUNNING -> {
                    state = State.STOPPING;
                    stopRequested = true;
                    here = true;
                }
                case STOPPING, STOPPED -> {
                    // another stop, a failed start or a fatal loss is already ending everything
                }
            }
        }
        if (!here) {
            return awaitStopped();
        }
        end(extensions, ending);
        return drainAndStop();
    }

    /** Ends {@code which} in reverse order; an extension that throws is logged and the rest still end. */
    private void end(List<Installed> which, Ending ending) {
        for (Installed installed : which.reversed()) {
            String name = installed.extension().name();
            try {
                if (ending == Ending.LEAVE) {
                    installed.extension().leave();
                } else {
                    installed.extension().abandon();
                }
            } catch (RuntimeException | LinkageError | AssertionError e) {
                log.atWarn().addKeyValue("extension", name).addKeyValue("error", FailureText.of(e))
                        .log(ending == Ending.LEAVE ? "extension failed to leave; continuing the shutdown"
                                : "extension failed to abandon; continuing the shutdown");
            }
        }
    }

    /** Stops informers, drains every controller within one deadline, closes the health server; ends STOPPED whatever happens. */
    private boolean drainAndStop() {
        try {
            long deadline = System.nanoTime() + options.shutdownTimeout().toNanos();
            informers.stopAll();
            List<Controller<?>> draining = List.copyOf(controllers);
            List<Thread> stoppers = new ArrayList<>();
            List<Boolean> results = new CopyOnWriteArrayList<>();
            for (Controller<?> controller : draining) {
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
            drainedCleanly = results.size() == draining.size() && results.stream().allMatch(b -> b);
        } catch (RuntimeException e) {
            drainedCleanly = false;
            log.atError().addKeyValue("error", FailureText.of(e)).log("shutdown failed part-way; stopping anyway");
        } finally {
            markStopped();
        }
        log.atInfo().addKeyValue("drained", drainedCleanly).log("manager stopped");
        return drainedCleanly;
    }

    /** A fatal loss from an extension: abandon every extension, then stop as a SIGTERM would. */
    private void failFatally(String extension, String reason) {
        synchronized (lifecycle) {
            if (failure != null) {
                return;
            }
            failure = reason;
            failedExtension = extension;
            if (state != State.RUNNING) {
                return; // starting: start() fails with it; stopping or stopped: already ending
            }
            state = State.STOPPING;
            stopRequested = true;
        }
        log.atError().addKeyValue("extension", extension).addKeyValue("reason", reason)
                .log("extension reported a fatal loss; abandoning extensions and stopping");
        Thread.ofPlatform().name("manager-fatal").start(() -> {
            end(extensions, Ending.ABANDON);
            drainAndStop();
        });
    }

    /** A start that failed, or a stop, leaves nothing running and a manager that stop() and close() return from at once. */
    private void markStopped() {
        if (metricsServer != null) {
            metricsServer.close();
            metricsServer = null;
        }
        if (health != null) {
            health.close();
            health = null;
        }
        synchronized (lifecycle) {
            state = State.STOPPED;
        }
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

    /** Blocks until the manager has stopped: {@link #stop()}, a failed start, or an extension's fatal loss. */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    /** As {@link #awaitTermination()}, for at most {@code timeout}; true if the manager has stopped. */
    public boolean awaitTerminationFor(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Why the manager stopped on its own: an extension's fatal loss ({@link WorkControl#fail}); empty otherwise. */
    public Optional<String> failure() {
        synchronized (lifecycle) {
            return Optional.ofNullable(failure);
        }
    }

    /** Stops the manager on SIGTERM/SIGINT: extensions leave, then the queues drain within the shutdown timeout. */
    public void installShutdownHook() {
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "flotilla-shutdown"));
    }

    /** Empty when healthy; otherwise one line per problem. */
    public List<String> livenessProblems() {
        synchronized (lifecycle) {
            if (state != State.RUNNING) {
                return List.of();
            }
        }
        return informers.all().stream().filter(i -> !i.isRunning())
                .map(i -> "informer " + i.key() + " stopped").toList();
    }

    /** Empty when ready: started (extensions included), and every informer has synced. */
    public List<String> readinessProblems() {
        State s;
        synchronized (lifecycle) {
            s = state;
        }
        if (s != State.RUNNING) {
            return List.of("manager is " + s.name().toLowerCase(Locale.ROOT));
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

    /** The port /healthz and /readyz are served on, or -1 when the health server is off or not started. */
    public int healthPort() {
        HealthServer h = health;
        return h == null ? -1 : h.port();
    }

    /**
     * The URL /metrics is served at, if it is: on its own server ({@link MetricsServing#dedicated}) or on the health
     * server ({@link MetricsServing#onHealthPort()}), with the bind address as configured.
     */
    public Optional<String> metricsUrl() {
        MetricsServer m = metricsServer;
        if (m != null && options.metrics() instanceof MetricsServing.Dedicated d) {
            return Optional.of(m.scheme() + "://" + d.bindAddress() + ":" + m.port() + "/metrics");
        }
        HealthServer h = health;
        if (h != null && options.metrics() instanceof MetricsServing.OnHealthPort) {
            return Optional.of("http://" + options.healthBindAddress() + ":" + h.port() + "/metrics");
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        stop();
    }

    /** The manager's own gate and every installed extension's: a key is worked on only if all admit it. */
    private static final class CompositeGate implements KeyGate {
        private final KeyGate base;
        private volatile KeyGate[] extensions = new KeyGate[0];

        CompositeGate(KeyGate base) {
            this.base = base;
        }

        synchronized void add(KeyGate gate) {
            KeyGate[] next = java.util.Arrays.copyOf(extensions, extensions.length + 1);
            next[extensions.length] = gate;
            extensions = next;
        }

        @Override
        public boolean admits(ObjectKey key) {
            if (!base.admits(key)) {
                return false;
            }
            for (KeyGate g : extensions) {
                if (!g.admits(key)) {
                    return false;
                }
            }
            return true;
        }
    }

    /** One extension's handle on the manager's work. */
    private final class ManagedWork implements WorkControl {
        private final Installed installed;

        ManagedWork(Installed installed) {
            this.installed = installed;
        }

        @Override
        public int enqueueCached(Predicate<ObjectKey> keys) {
            int n = 0;
            for (Controller<?> c : controllers) {
                for (HasMetadata object : c.cache().list()) {
                    ObjectKey key = ObjectKey.of(object);
                    if (keys.test(key)) {
                        c.enqueue(key);
                        n++;
                    }
                }
            }
            return n;
        }

        @Override
        public Map<String, Long> countCachedByNamespace() {
            Map<String, Long> counts = new HashMap<>();
            for (Controller<?> c : controllers) {
                for (HasMetadata object : c.cache().list()) {
                    String ns = object.getMetadata().getNamespace();
                    counts.merge(ns == null ? "" : ns, 1L, Long::sum);
                }
            }
            return counts;
        }

        @Override
        public boolean awaitIdle(Predicate<ObjectKey> keys, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            boolean idle = true;
            for (Controller<?> c : controllers) {
                idle &= c.loop().awaitIdle(keys, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            }
            return idle;
        }

        @Override
        public int interrupt(Predicate<ObjectKey> keys) {
            int n = 0;
            for (Controller<?> c : controllers) {
                n += c.loop().interrupt(keys);
            }
            return n;
        }

        @Override
        public CompletableFuture<Void> rescope() {
            Optional<InformerScope> scope = installed.seams().scope();
            if (scope.isEmpty()) {
                return CompletableFuture.failedFuture(new IllegalStateException("extension '"
                        + installed.extension().name() + "' supplied no informer scope to apply"));
            }
            return informers.setScope(scope.get());
        }

        @Override
        public CompletableFuture<Void> whenSynced(Predicate<Partition> which) {
            return informers.whenSynced(which);
        }

        @Override
        public void fail(String reason) {
            failFatally(installed.extension().name(), Objects.requireNonNull(reason, "reason"));
        }
    }
}
