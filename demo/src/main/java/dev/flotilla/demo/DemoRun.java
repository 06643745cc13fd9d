package dev.flotilla.demo;

import static dev.flotilla.examples.mirror.ConfigMapMirror.CONTROLLER_NAME;

import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.manager.CacheSyncException;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.core.metrics.RestClientMetrics;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.cli.CliException;
import dev.flotilla.core.settings.Durations;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.examples.mirror.MirrorReconciler;
import dev.flotilla.sharding.ShardSpace;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.sharding.audit.InMemoryAuditTrail;
import dev.flotilla.sharding.audit.OverlapChecker;
import dev.flotilla.testing.fault.Fault;
import dev.flotilla.testing.fault.FaultProxy;
import dev.flotilla.testing.fault.FaultRule;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One demo run against a {@link DemoCluster}: create the workload, run the mirror controller, and
 * wait until the API server shows every mirror converged or the timeout passes; then stop
 * gracefully.
 *
 * <p><b>Sharded</b> (a backend that can, {@link DemoCluster#shardingUpstream()}): {@code replicas}
 * replicas in this JVM, each with its own client through a {@link FaultProxy} port, its own
 * manager and registry, and a {@link dev.flotilla.sharding.Sharding} with short lease timings
 * ({@link #LEASE_DURATION}/{@link #RENEW_DEADLINE}/{@link #RETRY_PERIOD}). Once the shards are
 * split and half the mirrors are up to date, one replica that is not the coordinator (the one with
 * the most sources) is killed without warning: its connections are cut and black-holed, and it
 * stops without releasing anything, as a crashed pod would. Then some sources are updated, so
 * that work in its namespaces is waiting when the survivors take its shards over. The run ends
 * when every mirror is up to date and every shard of the killed replica is active on a survivor;
 * the audit trail of every reconcile is then checked for overlaps (two replicas reconciling one
 * namespace at once). <b>Unsharded</b> (the mock, or {@code replicas} 1 on a backend that cannot
 * shard): one manager, updates once half the mirrors are up to date.
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
            Duration timeout, int healthPort, long seed, int replicas) {
        public Settings {
            if (objects < 1 || namespaces < 1 || workers < 1 || replicas < 1) {
                throw new IllegalArgumentException("objects, namespaces, workers and replicas must be at least 1");
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

    /** Receives the progress text and the run's events; the command renders them. */
    public interface Progress {
        void show(String line, boolean force);

        /** Something happened that deserves its own line (a replica killed, a handover done). */
        default void event(String line) {
        }
    }

    /** Short lease timings, so a killed replica's shards move within seconds: 6s/4s/1s. */
    public static final Duration LEASE_DURATION = Duration.ofSeconds(6);
    public static final Duration RENEW_DEADLINE = Duration.ofSeconds(4);
    public static final Duration RETRY_PERIOD = Duration.ofSeconds(1);
    public static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(1);
    /** Where the demo's replicas keep their Leases. */
    public static final String LEASE_NAMESPACE = "flotilla-system";
    public static final int SHARDS = ShardSpace.DEFAULT_SHARDS;

    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration HANDOVER_POLL = Duration.ofMillis(10);
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_LIMIT = Duration.ofSeconds(30);

    private final Settings settings;
    private final DemoCluster cluster;
    private final PrometheusMeterRegistry registry;
    private final List<DemoReplica> replicas = new ArrayList<>();
    private final InMemoryAuditTrail trail = new InMemoryAuditTrail();

    /**
     * @param registry the registry the cluster's client already reports rest_client_requests_total to
     */
    public DemoRun(Settings settings, DemoCluster cluster, PrometheusMeterRegistry registry) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** Whether this run shards: the backend can, whatever the replica count (one replica is sharded too, just never killed). */
    public boolean sharded() {
        return cluster.shardingUpstream().isPresent();
    }

    /** The replicas that will run: as asked when sharded, else one. */
    public int replicaCount() {
        return sharded() ? settings.replicas() : 1;
    }

    /** The sharding configuration of replica {@code name}: defaults with the demo's short timings. */
    static ShardingConfig shardingConfig(String name) {
        return ShardingConfig.defaults(name, LEASE_NAMESPACE).withShards(SHARDS)
                .withTimings(LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD)
                .withDrainTimeout(DRAIN_TIMEOUT);
    }

    /** State of the kill, shared between the main loop and the handover watcher. */
    private static final class Kill {
        DemoReplica victim;
        Set<Integer> shards = Set.of();
        int namespaces;
        int sources;
        boolean wasCoordinator;
        long atNanos;
        final AtomicLong handoverNanos = new AtomicLong(-1);
        Thread stopper;
        Thread watcher;
    }

    /**
     * Runs to the end and returns the summary.
     *
     * @param onMetrics called once with the /metrics URLs, one per replica, when the health servers are up
     *                  (empty when off)
     */
    public DemoSummary run(Progress progress, java.util.function.Consumer<List<String>> onMetrics)
            throws InterruptedException {
        KubernetesClient client = cluster.client();
        DemoWorkload workload = new DemoWorkload(client, settings.objects(), settings.namespaces());
        workload.create(n -> progress.show(String.format(Locale.ROOT, "creating: %d/%d ConfigMaps in %d namespaces",
                n, settings.objects(), settings.namespaces()), n == settings.objects()));
        FailureInjector failures = new FailureInjector(settings.failureRate(), settings.seed());
        FaultProxy proxy = null;
        AtomicReference<Thread> updater = new AtomicReference<>();
        Kill kill = new Kill();
        try {
            if (sharded()) {
                createLeaseNamespace(client);
                proxy = FaultProxy.start(cluster.shardingUpstream().orElseThrow(), 100_000);
                for (int i = 0; i < settings.replicas(); i++) {
                    String name = "replica-" + i;
                    PrometheusMeterRegistry own = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
                    Config config = proxy.clientConfig(name);
                    config.setConnectionTimeout(2_000);
                    config.setRequestTimeout(5_000);
                    KubernetesClient replicaClient = new KubernetesClientBuilder().withConfig(config)
                            .withHttpClientBuilderConsumer(b -> RestClientMetrics.install(b, own)).build();
                    replicas.add(new DemoReplica(name, replicaClient, true, own, options(healthPort(i)), settings.workers(),
                            failures, shardingConfig(name), trail));
                }
            } else {
                replicas.add(new DemoReplica("replica-0", client, false, registry, options(settings.healthPort()),
                        settings.workers(), failures, null, trail));
            }
            long start = System.nanoTime();
            startAll();
            List<String> metricsUrls = replicas.stream().map(DemoReplica::metricsUrl).filter(Objects::nonNull).toList();
            onMetrics.accept(metricsUrls);

            long deadline = start + settings.timeout().toNanos();
            int updateCount = settings.updateCount();
            boolean killPlanned = sharded() && settings.replicas() > 1;
            AtomicReference<Throwable> updateFailure = new AtomicReference<>();
            long convergedAt = -1;
            Convergence last = Convergence.NONE;
            String stuck = null;
            while (true) {
                int cached = Math.min(settings.objects(), live().stream().mapToInt(DemoReplica::convergedInCache).sum());
                if (killPlanned && kill.victim == null && (cached * 2 >= settings.objects()) && settled()) {
                    killOne(proxy, workload, kill, start, progress);
                }
                boolean updateTime = killPlanned ? kill.victim != null : cached * 2 >= settings.objects();
                if (updater.get() == null && updateCount > 0 && updateTime) {
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
                boolean handedOver = !killPlanned || kill.handoverNanos.get() >= 0;
                long elapsed = System.nanoTime() - start;
                progress.show(progressText(cached, workload.updated(), updateCount, elapsed, kill), false);
                if (updatesDone && handedOver && cached == settings.objects()) {
                    last = Convergence.check(client, settings.objects());
                    if (last.converged() == settings.objects()) {
                        convergedAt = System.nanoTime() - start;
                        progress.show(progressText(cached, workload.updated(), updateCount, convergedAt, kill), true);
                        break;
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    last = Convergence.check(client, settings.objects());
                    progress.show(progressText(cached, workload.updated(), updateCount, elapsed, kill), true);
                    if (killPlanned && kill.victim == null) {
                        stuck = "no replica was killed: " + (settled() ? "half the mirrors were never up to date"
                                : "the shards never settled over the " + settings.replicas() + " replicas");
                    } else if (!handedOver) {
                        stuck = "the survivors took over " + takenOver(kill) + "/" + kill.shards.size()
                                + " shards of the killed " + kill.victim.name;
                    }
                    break;
                }
                Thread.sleep(POLL);
            }
            long elapsedMs = Duration.ofNanos(System.nanoTime() - start).toMillis();
            Map<String, List<Integer>> shardsAtEnd = new LinkedHashMap<>();
            String coordinator = null;
            for (DemoReplica r : live()) {
                shardsAtEnd.put(r.name, List.copyOf(new TreeSet<>(r.activeShards())));
                if (r.isCoordinator()) {
                    coordinator = r.name;
                }
            }
            int takenOver = takenOver(kill);
            String firstMetrics = metricsUrls.isEmpty() ? null : metricsUrls.getFirst();
            stopAll(updater.get());
            joinKill(kill);

            DemoSummary.ShardingOutcome outcome = null;
            if (sharded()) {
                var reconciles = trail.reconciles();
                var overlaps = OverlapChecker.overlaps(reconciles);
                outcome = new DemoSummary.ShardingOutcome(SHARDS, Durations.format(LEASE_DURATION),
                        Durations.format(RENEW_DEADLINE), Durations.format(RETRY_PERIOD),
                        kill.victim == null ? null : kill.victim.name, kill.wasCoordinator,
                        kill.victim == null ? -1 : Duration.ofNanos(kill.atNanos - start).toMillis(), kill.shards.size(),
                        kill.namespaces, kill.sources,
                        kill.handoverNanos.get() < 0 ? -1 : Duration.ofNanos(kill.handoverNanos.get() - kill.atNanos).toMillis(),
                        takenOver, shardsAtEnd, coordinator, reconciles.size(), overlaps.size(),
                        overlaps.isEmpty() ? null : overlaps.getFirst().toString());
            }
            String result;
            String reason;
            if (convergedAt >= 0 && (outcome == null || outcome.overlaps() == 0)) {
                result = DemoSummary.CONVERGED;
                reason = null;
            } else if (convergedAt >= 0) {
                result = DemoSummary.FAILED;
                reason = outcome.overlaps() + " overlapping reconciles of one namespace by two replicas (first: "
                        + outcome.firstOverlap() + ")";
            } else {
                result = DemoSummary.TIMEOUT;
                reason = "not converged within " + Durations.format(settings.timeout()) + ": " + last.converged() + "/"
                        + settings.objects() + " mirrors up to date"
                        + (last.firstProblem() == null ? "" : " (" + last.firstProblem() + ")")
                        + (stuck == null ? "" : "; " + stuck);
            }
            String note = !sharded() && settings.replicas() > 1
                    ? "the mock API server cannot run sharded replicas (no Lease semantics for the coordinator and fencing, "
                            + "shard selectors ignored), so one unsharded replica ran and none was killed; use --backend real"
                    : null;
            return new DemoSummary(result, reason, settings.objects(), settings.namespaces(), settings.workers(),
                    last.converged(), convergedAt < 0 ? -1 : Duration.ofNanos(convergedAt).toMillis(), elapsedMs,
                    sum(MetricNames.RECONCILE_TOTAL), sum(MetricNames.WORKQUEUE_RETRIES_TOTAL),
                    sum(MetricNames.RECONCILE_ERRORS_TOTAL), failures.injected(), workload.updated(),
                    sum(MirrorReconciler.WRITES_TOTAL), sumAll(MetricNames.REST_CLIENT_REQUESTS_TOTAL),
                    cluster.description(), firstMetrics, replicas.size(), outcome, note);
        } finally {
            // Whatever happened: nothing of this run keeps running (a no-op for what already stopped).
            stopAll(updater.get());
            joinKill(kill);
            replicas.forEach(DemoReplica::releaseIfIdle);
            if (proxy != null) {
                proxy.close();
            }
        }
    }

    private ManagerOptions options(int healthPort) {
        return ManagerOptions.defaults().withHealthPort(healthPort)
                .withHealthBindAddress("127.0.0.1").withShutdownTimeout(SHUTDOWN_TIMEOUT)
                .withCacheSyncTimeout(Duration.ofSeconds(30));
    }

    /** Replica i's health port: off stays off, 0 stays "any", a fixed port P becomes P + i. */
    private int healthPort(int i) {
        return settings.healthPort() <= 0 ? settings.healthPort() : settings.healthPort() + i;
    }

    private static void createLeaseNamespace(KubernetesClient client) {
        try {
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(LEASE_NAMESPACE).endMetadata()
                    .build()).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                throw new CliException(ExitCode.FAILURE, "demo: creating namespace " + LEASE_NAMESPACE + " failed: "
                        + e.getMessage(), e);
            }
        }
    }

    /** Starts every replica at once, so that the first split already spreads the shards over all of them. */
    private void startAll() throws InterruptedException {
        List<Future<?>> started = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (DemoReplica r : replicas) {
                started.add(pool.submit(() -> {
                    r.start();
                    return null;
                }));
            }
            for (Future<?> f : started) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    Throwable t = e.getCause();
                    if (t instanceof CacheSyncException) {
                        throw new CliException(ExitCode.FAILURE, "demo: " + t.getMessage(), t);
                    }
                    if (t instanceof UncheckedIOException) {
                        throw new CliException(ExitCode.CONFIG, "demo: " + t.getMessage(), t);
                    }
                    throw new CliException(ExitCode.FAILURE, "demo: starting a replica failed: " + t, t);
                }
            }
        }
    }

    private List<DemoReplica> live() {
        return replicas.stream().filter(DemoReplica::running).toList();
    }

    /** Every shard active on exactly one live replica, none above its fair share, and one coordinator. */
    private boolean settled() {
        List<DemoReplica> live = live();
        if (live.isEmpty()) {
            return false;
        }
        int shards = SHARDS;
        int fair = (shards + live.size() - 1) / live.size();
        Set<Integer> union = new HashSet<>();
        int total = 0;
        for (DemoReplica r : live) {
            Set<Integer> mine = r.activeShards();
            if (mine.isEmpty() || mine.size() > fair) {
                return false;
            }
            union.addAll(mine);
            total += mine.size();
        }
        return union.size() == shards && total == shards && live.stream().filter(DemoReplica::isCoordinator).count() == 1;
    }

    /**
     * Kills the replica (not the coordinator) with the most sources in its shards: black-holes and
     * cuts its connections, then it stops without releasing, as a crashed pod would.
     */
    private void killOne(FaultProxy proxy, DemoWorkload workload, Kill kill, long start, Progress progress) {
        Map<String, Long> sourcesByNamespace = new HashMap<>();
        for (DemoWorkload.Source s : workload.sources()) {
            sourcesByNamespace.merge(s.namespace(), 1L, Long::sum);
        }
        DemoReplica victim = null;
        long best = -1;
        for (DemoReplica r : live().stream().sorted(Comparator.comparing((DemoReplica x) -> x.name)).toList()) {
            if (r.isCoordinator()) {
                continue;
            }
            long sources = workload.namespaceNames().stream().filter(r::worksOn)
                    .mapToLong(ns -> sourcesByNamespace.getOrDefault(ns, 0L)).sum();
            if (sources > best) {
                best = sources;
                victim = r;
            }
        }
        if (victim == null) {
            return; // cannot happen with two or more settled replicas: only one is the coordinator
        }
        kill.shards = Set.copyOf(victim.activeShards());
        kill.wasCoordinator = victim.isCoordinator();
        DemoReplica dying = victim;
        kill.namespaces = (int) workload.namespaceNames().stream().filter(dying::worksOn).count();
        kill.sources = (int) best;
        kill.atNanos = System.nanoTime();
        proxy.add(FaultRule.of(new Fault.BlackHole()).forIdentity(victim.name));
        proxy.cutConnections(victim.name);
        kill.stopper = victim.kill();
        kill.victim = victim;
        progress.event(String.format(Locale.ROOT, "killed %s at %.1fs without warning: it held %d shards (%d namespaces, "
                + "%d sources); the survivors take them over once its Leases expire (%s)", victim.name,
                (kill.atNanos - start) / 1e9, kill.shards.size(), kill.namespaces, kill.sources,
                Durations.format(LEASE_DURATION)));
        kill.watcher = Thread.ofVirtual().name("demo-handover").start(() -> {
            try {
                while (kill.handoverNanos.get() < 0) {
                    if (takenOver(kill) == kill.shards.size()) {
                        kill.handoverNanos.set(System.nanoTime());
                        progress.event(String.format(Locale.ROOT, "handover: all %d shards of %s active on the survivors "
                                + "%d ms after the kill", kill.shards.size(), kill.victim.name,
                                Duration.ofNanos(kill.handoverNanos.get() - kill.atNanos).toMillis()));
                        return;
                    }
                    Thread.sleep(HANDOVER_POLL);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** How many of the killed replica's shards are active on a survivor now. */
    private int takenOver(Kill kill) {
        Set<Integer> covered = new HashSet<>();
        for (DemoReplica r : live()) {
            covered.addAll(r.activeShards());
        }
        return (int) kill.shards.stream().filter(covered::contains).count();
    }

    /** Stops every live replica, all at once (one by one, each would hand its shards to the next to leave). */
    private void stopAll(Thread updater) throws InterruptedException {
        List<Thread> stoppers = new ArrayList<>();
        for (DemoReplica r : live()) {
            stoppers.add(Thread.ofVirtual().name("demo-stop-" + r.name).start(() -> {
                try {
                    r.stop(updater);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread t : stoppers) {
            t.join(STOP_LIMIT);
        }
    }

    private static void joinKill(Kill kill) throws InterruptedException {
        if (kill.watcher != null) {
            kill.watcher.interrupt();
            kill.watcher.join(STOP_LIMIT);
        }
        if (kill.stopper != null) {
            kill.stopper.join(STOP_LIMIT);
        }
    }

    private String progressText(int cached, int updated, int updateCount, long elapsedNanos, Kill kill) {
        String text = String.format(Locale.ROOT, "converging: %d/%d mirrors up to date | reconciles %d | retries %d | updates %d/%d",
                cached, settings.objects(), sum(MetricNames.RECONCILE_TOTAL), sum(MetricNames.WORKQUEUE_RETRIES_TOTAL),
                updated, updateCount);
        if (sharded()) {
            Set<Integer> active = new HashSet<>();
            live().forEach(r -> active.addAll(r.activeShards()));
            text += String.format(Locale.ROOT, " | replicas %d/%d | shards %d/%d active", live().size(), replicas.size(),
                    active.size(), SHARDS);
            if (kill.victim != null && kill.handoverNanos.get() < 0) {
                text += String.format(Locale.ROOT, " | %s's shards taken over %d/%d", kill.victim.name, takenOver(kill),
                        kill.shards.size());
            }
        }
        return text + String.format(Locale.ROOT, " | %.1fs", elapsedNanos / 1e9);
    }

    /** Registries with this run's meters: the admin client's and, when sharded, each replica's own. */
    private List<MeterRegistry> registries() {
        List<MeterRegistry> all = new ArrayList<>();
        all.add(registry);
        for (DemoReplica r : replicas) {
            if (r.registry != registry) {
                all.add(r.registry);
            }
        }
        return all;
    }

    private long sum(String name) {
        return registries().stream().mapToLong(r -> sum(r, name)).sum();
    }

    private long sumAll(String name) {
        return registries().stream().mapToLong(r -> sumAll(r, name)).sum();
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
