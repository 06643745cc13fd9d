package dev.flotilla.demo;

import dev.flotilla.core.cache.InformerKey;
import dev.flotilla.core.cache.SharedInformer;
import dev.flotilla.core.controller.Controller;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.sharding.Sharding;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.sharding.audit.AuditTrail;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * One replica of the demo: a manager with the mirror controller on its own client and registry,
 * and, when sharded, its {@link Sharding} (reconciles recorded in the shared audit trail). The
 * demo runs several in one JVM, as {@code flotilla run} would run them in several pods.
 */
final class DemoReplica {

    private static final Duration QUIESCE_LIMIT = Duration.ofSeconds(10);
    private static final Duration QUIET = Duration.ofMillis(250);

    final String name;
    final KubernetesClient client;
    final PrometheusMeterRegistry registry;
    final Manager manager;
    final Sharding sharding;
    final Controller<ConfigMap> controller;
    private final SharedInformer<ConfigMap> mirrors;
    private final WatchActivity activity = new WatchActivity();
    private final boolean ownsClient;
    private volatile boolean running;
    private volatile boolean quiescing;
    private final java.util.concurrent.atomic.AtomicBoolean clientClosed = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * @param sharding null for an unsharded replica
     * @param ownsClient whether {@link #stop} closes {@code client}
     */
    DemoReplica(String name, KubernetesClient client, boolean ownsClient, PrometheusMeterRegistry registry,
            ManagerOptions options, int workers, UnaryOperator<Reconciler<ConfigMap>> around, ShardingConfig sharding,
            AuditTrail trail) {
        this.name = Objects.requireNonNull(name, "name");
        this.client = client;
        this.ownsClient = ownsClient;
        this.registry = registry;
        // The manager's own gate closes when the replica quiesces; sharding's gate comes on top of it.
        this.manager = new Manager(client, options, key -> !quiescing, registry);
        this.sharding = sharding == null ? null : Sharding.of(sharding, trail);
        if (this.sharding != null) {
            manager.install(this.sharding);
        }
        UnaryOperator<Reconciler<ConfigMap>> wrap = this.sharding == null ? around
                : r -> this.sharding.audited(around.apply(r));
        // No Events in the demo: on the mock every write is serialized, and Events would double them.
        this.controller = ConfigMapMirror.register(manager, workers, null, wrap);
        this.mirrors = manager.informers().informerFor(InformerKey.of(ConfigMap.class, ConfigMapMirror.MIRROR_SELECTOR));
        controller.cache().addHandler(activity);
        mirrors.addHandler(activity);
    }

    /** Starts the manager: informers synced, workers running, the sharding group joined (a refused join stops it again). */
    void start() throws Exception {
        running = true;
        try {
            manager.start();
        } catch (Exception e) {
            running = false;
            throw e;
        }
    }

    boolean running() {
        return running;
    }

    /** Shards this replica works on now (empty when unsharded or stopped). */
    Set<Integer> activeShards() {
        return sharding == null || !running ? Set.of() : sharding.activeShards();
    }

    /** Whether this replica works on {@code namespace} now (a range of an active shard holds it). */
    boolean worksOn(String namespace) {
        return sharding != null && running && sharding.worksOn(namespace);
    }

        boolean isCoordinator() {
        return sharding != null && running && sharding.isCoordinator();
    }

    /** Sources in this replica's cache whose cached mirror is up to date. */
    int convergedInCache() {
        return running ? DemoRun.convergedInCache(controller.cache(), mirrors) : 0;
    }

    String metricsUrl() {
        return manager.healthPort() > 0 ? "http://127.0.0.1:" + manager.healthPort() + "/metrics" : null;
    }

    /**
     * The crash: this replica's connections have already been cut; it stops working at once and
     * releases nothing, so its Leases expire for the others. Returns the thread that stops the
     * manager (its requests hang in the black hole until they time out).
     */
    Thread kill() {
        running = false;
        return Thread.ofVirtual().name("demo-kill-" + name).start(() -> {
            manager.abandon();
            closeClient();
        });
    }

    /** Graceful end: no new work, in-flight reconciles finish, the group is left, the manager stopped. */
    void stop(Thread updater) throws InterruptedException {
        if (!running) {
            return;
        }
        running = false;
        quiesce(updater);
        manager.stop(); // leaves the sharding group first, then drains
        closeClient();
    }

    /** Closes the client of a replica that is not running (never started, or its start failed); idempotent. */
    void releaseIfIdle() {
        if (!running) {
            closeClient();
        }
    }

    private void closeClient() {
        if (ownsClient && clientClosed.compareAndSet(false, true)) {
            client.close();
        }
    }

    /**
     * Stops new work and lets the watch streams go quiet before the manager closes them. Besides
     * being the polite way to stop, this avoids a fabric8 mock server bug: closing a watch while the
     * mock still has events queued for it blocks the mock's event loop (up to a minute) and then
     * fails its shutdown.
     */
    private void quiesce(Thread updater) throws InterruptedException {
        quiescing = true; // queued keys are dropped, nothing new is admitted
        if (updater != null) {
            updater.join(QUIESCE_LIMIT);
        }
        long deadline = System.nanoTime() + QUIESCE_LIMIT.toNanos();
        while (controller.loop().queue().inFlight() > 0 && System.nanoTime() - deadline < 0) {
            Thread.sleep(10);
        }
        while (System.nanoTime() - activity.lastEventNanos() < QUIET.toNanos() && System.nanoTime() - deadline < 0) {
            Thread.sleep(20);
        }
    }

    /** Remembers when an informer last delivered an event. */
    private static final class WatchActivity implements ResourceEventHandler<ConfigMap> {
        private final AtomicLong last = new AtomicLong(System.nanoTime());

        long lastEventNanos() {
            return last.get();
        }

        @Override
        public void onAdd(ConfigMap obj) {
            last.set(System.nanoTime());
        }

        @Override
        public void onUpdate(ConfigMap oldObj, ConfigMap newObj) {
            last.set(System.nanoTime());
        }

        @Override
        public void onDelete(ConfigMap obj, boolean deletedFinalStateUnknown) {
            last.set(System.nanoTime());
        }
    }
}
