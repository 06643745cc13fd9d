package dev.flotilla.manager.demo;

import static dev.flotilla.manager.mirror.ConfigMapMirror.CONTROLLER_NAME;

import dev.flotilla.core.cache.Cache;
import dev.flotilla.core.cache.InformerKey;
import dev.flotilla.core.cache.SharedInformer;
import dev.flotilla.core.controller.Controller;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.CacheSyncException;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.manager.CliException;
import dev.flotilla.manager.Durations;
import dev.flotilla.manager.ExitCode;
import dev.flotilla.manager.mirror.ConfigMapMirror;
import dev.flotilla.manager.mirror.MirrorReconciler;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One demo run against a {@link DemoCluster}: create the workload, run a {@link Manager} with the
 * mirror controller, update some sources once half the mirrors are up to date, and wait until the
 * API server shows every mirror converged or the timeout passes. Then stop the manager gracefully.
 *
 * <p>Convergence is decided against the API server (a LIST of sources and mirrors), not the
 * informer caches: every source must have a mirror whose data equal the source's and whose
 * observed-resource-version annotation equals the source's current resourceVersion
 * ({@link ConfigMapMirror#isConverged}). The caches only drive the progress line and tell when the
 * API server is worth asking.
 */
public final class DemoRun {

    /** What to run. Validated by the command; the record re-checks the essentials. */
    public record Settings(int objects, int namespaces, int workers, double failureRate, double updates,
            Duration timeout, int healthPort, long seed) {
        public Settings {
            if (objects < 1 || namespaces < 1 || workers < 1) {
                throw new IllegalArgumentException("objects, namespaces and workers must be at least 1");
            }
            if (failureRate < 0 || failureRate > 1 || updates < 0 || updates > 1) {
                throw new IllegalArgumentException("failure rate and updates are fractions within 0..1");
            }
            Objects.requireNonNull(timeout, "timeout");
        }

        int updateCount() {
            return (int) Math.round(objects * updates);
        }
    }

    /** Receives the progress text; the command renders it. */
    @FunctionalInterface
    public interface Progress {
        void show(String line, boolean force);
    }

    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration QUIESCE_LIMIT = Duration.ofSeconds(10);
    private static final Duration QUIET = Duration.ofMillis(250);

    private final Settings settings;
    private final DemoCluster cluster;
    private final PrometheusMeterRegistry registry;

    /**
     * @param registry the registry the cluster's client already reports rest_client_requests_total to
     */
    public DemoRun(Settings settings, DemoCluster cluster, PrometheusMeterRegistry registry) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /**
     * Runs to the end and returns the summary.
     *
     * @param onMetrics called once with the /metrics URL when the health server is up (null if off)
     */
    public DemoSummary run(Progress progress, java.util.function.Consumer<String> onMetrics) throws InterruptedException {
        KubernetesClient client = cluster.client();
        DemoWorkload workload = new DemoWorkload(client, settings.objects(), settings.namespaces());
        workload.create(n -> progress.show(String.format(Locale.ROOT, "creating: %d/%d ConfigMaps in %d namespaces",
                n, settings.objects(), settings.namespaces()), n == settings.objects()));

        ManagerOptions options = ManagerOptions.defaults().withHealthPort(settings.healthPort())
                .withHealthBindAddress("127.0.0.1").withShutdownTimeout(SHUTDOWN_TIMEOUT)
                .withCacheSyncTimeout(Duration.ofSeconds(30));
        FailureInjector failures = new FailureInjector(settings.failureRate(), settings.seed());
        Manager manager = new Manager(client, options, KeyGate.admitAll(), registry);
        // No Events in the demo: on the mock every write is serialized, and Events would double them.
        Controller<ConfigMap> controller = ConfigMapMirror.register(manager, settings.workers(), null, failures);
        Cache<ConfigMap> sources = controller.cache();
        SharedInformer<ConfigMap> mirrors = manager.informers().informerFor(InformerKey.of(ConfigMap.class, ConfigMapMirror.MIRROR_SELECTOR));
        WatchActivity activity = new WatchActivity();
        controller.cache().addHandler(activity);
        mirrors.addHandler(activity);
        AtomicReference<Thread> updater = new AtomicReference<>();
        boolean started = false;
        try {
            long start = System.nanoTime();
            try {
                manager.start();
                started = true;
            } catch (CacheSyncException e) {
                throw new CliException(ExitCode.FAILURE, "demo: " + e.getMessage(), e);
            } catch (UncheckedIOException e) {
                throw new CliException(ExitCode.CONFIG, "demo: " + e.getMessage(), e);
            }
            String metricsUrl = manager.healthPort() > 0 ? "http://127.0.0.1:" + manager.healthPort() + "/metrics" : null;
            onMetrics.accept(metricsUrl);

            long deadline = start + settings.timeout().toNanos();
            int updateCount = settings.updateCount();
            AtomicReference<Throwable> updateFailure = new AtomicReference<>();
            long convergedAt = -1;
            Convergence last = Convergence.NONE;
            while (true) {
                int cached = convergedInCache(sources, mirrors);
                if (updater.get() == null && updateCount > 0 && cached * 2 >= settings.objects()) {
                    List<DemoWorkload.Source> chosen = workload.pickForUpdate(updateCount, settings.seed());
                    updater.set(Thread.ofVirtual().name("demo-updates").start(() -> {
                        try {
                            workload.update(chosen);
                        } catch (Throwable t) {
                            updateFailure.set(t);
                        }
                    }));
                }
                if (updateFailure.get() != null) {
                    Throwable t = updateFailure.get();
                    throw t instanceof CliException c ? c : new CliException(ExitCode.FAILURE, "demo: updating sources failed: " + t, t);
                }
                boolean updatesDone = updateCount == 0 || (updater.get() != null && !updater.get().isAlive());
                long elapsed = System.nanoTime() - start;
                progress.show(progressText(cached, workload.updated(), updateCount, elapsed), false);
                if (updatesDone && cached == settings.objects()) {
                    last = Convergence.check(client, settings.objects());
                    if (last.converged() == settings.objects()) {
                        convergedAt = System.nanoTime() - start;
                        progress.show(progressText(cached, workload.updated(), updateCount, convergedAt), true);
                        break;
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    last = Convergence.check(client, settings.objects());
                    progress.show(progressText(cached, workload.updated(), updateCount, elapsed), true);
                    break;
                }
                Thread.sleep(POLL);
            }
            long elapsedMs = Duration.ofNanos(System.nanoTime() - start).toMillis();
            quiesce(manager, controller, updater.get(), activity);
            manager.stop();
            started = false;

            String result = convergedAt >= 0 ? DemoSummary.CONVERGED : DemoSummary.TIMEOUT;
            String reason = convergedAt >= 0 ? null
                    : "not converged within " + Durations.format(settings.timeout()) + ": " + last.converged() + "/"
                            + settings.objects() + " mirrors up to date"
                            + (last.firstProblem() == null ? "" : " (" + last.firstProblem() + ")");
            return new DemoSummary(result, reason, settings.objects(), settings.namespaces(), settings.workers(),
                    last.converged(), convergedAt < 0 ? -1 : Duration.ofNanos(convergedAt).toMillis(), elapsedMs,
                    sum(registry, MetricNames.RECONCILE_TOTAL), sum(registry, MetricNames.WORKQUEUE_RETRIES_TOTAL),
                    sum(registry, MetricNames.RECONCILE_ERRORS_TOTAL), failures.injected(), workload.updated(),
                    sum(registry, MirrorReconciler.APPLIES_TOTAL), sumAll(registry, MetricNames.REST_CLIENT_REQUESTS_TOTAL),
                    cluster.description(), metricsUrl);
        } finally {
            // Only a started manager may be stopped: after a failed start() stop() would wait forever.
            if (started) {
                quiesce(manager, controller, updater.get(), activity);
                manager.stop();
            }
        }
    }

    /**
     * Stops new work and lets the watch streams go quiet before the manager closes them. Besides
     * being the polite way to stop, this avoids a fabric8 mock server bug: closing a watch while the
     * mock still has events queued for it blocks the mock's event loop (up to a minute) and then
     * fails its shutdown.
     */
    private static void quiesce(Manager manager, Controller<ConfigMap> controller, Thread updater, WatchActivity activity)
            throws InterruptedException {
        manager.setKeyGate(key -> false); // queued keys are dropped, nothing new is admitted
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

    private String progressText(int cached, int updated, int updateCount, long elapsedNanos) {
        return String.format(Locale.ROOT, "converging: %d/%d mirrors up to date | reconciles %d | retries %d | updates %d/%d | %.1fs",
                cached, settings.objects(), sum(registry, MetricNames.RECONCILE_TOTAL),
                sum(registry, MetricNames.WORKQUEUE_RETRIES_TOTAL), updated, updateCount, elapsedNanos / 1e9);
    }

    /** Sources in the cache whose cached mirror is up to date. */
    static int convergedInCache(Cache<ConfigMap> sources, Cache<ConfigMap> mirrors) {
        int n = 0;
        for (ConfigMap source : sources.list()) {
            var key = ObjectKey.of(source.getMetadata().getNamespace(), ConfigMapMirror.mirrorName(source.getMetadata().getName()));
            if (mirrors.get(key).filter(m -> ConfigMapMirror.isConverged(source, m)).isPresent()) {
                n++;
            }
        }
        return n;
    }

    /** Sum of one meter family for the mirror controller. */
    static long sum(MeterRegistry registry, String name) {
        double total = registry.find(name).tag(MetricNames.LABEL_CONTROLLER, CONTROLLER_NAME).counters().stream()
                .mapToDouble(Counter::count).sum();
        return Math.round(total);
    }

    static long sumAll(MeterRegistry registry, String name) {
        return Math.round(registry.find(name).counters().stream().mapToDouble(Counter::count).sum());
    }

    /** The API server's view: how many sources have an up-to-date mirror, and the first that does not. */
    record Convergence(int sources, int converged, String firstProblem) {
        static final Convergence NONE = new Convergence(0, 0, null);

        static Convergence check(KubernetesClient client, int expected) {
            List<ConfigMap> sources = client.configMaps().inAnyNamespace().withLabelSelector(ConfigMapMirror.SOURCE_SELECTOR).list().getItems();
            List<ConfigMap> mirrors = client.configMaps().inAnyNamespace().withLabelSelector(ConfigMapMirror.MIRROR_SELECTOR).list().getItems();
            Map<String, ConfigMap> byKey = new HashMap<>();
            for (ConfigMap m : mirrors) {
                byKey.put(m.getMetadata().getNamespace() + "/" + m.getMetadata().getName(), m);
            }
            int converged = 0;
            String first = sources.size() == expected ? null : sources.size() + " sources found, expected " + expected;
            for (ConfigMap s : sources.stream().sorted(java.util.Comparator.comparing(
                    (ConfigMap c) -> c.getMetadata().getNamespace() + "/" + c.getMetadata().getName())).toList()) {
                ConfigMap mirror = byKey.get(s.getMetadata().getNamespace() + "/" + ConfigMapMirror.mirrorName(s.getMetadata().getName()));
                String problem = ConfigMapMirror.divergence(s, mirror);
                if (problem == null) {
                    converged++;
                } else if (first == null) {
                    first = s.getMetadata().getNamespace() + "/" + s.getMetadata().getName() + ": " + problem;
                }
            }
            return new Convergence(sources.size(), converged, first);
        }
    }
}
