package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.apply.Apply;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.testing.fault.Fault;
import dev.flotilla.testing.fault.FaultProxy;
import dev.flotilla.testing.fault.FaultRule;
import dev.flotilla.testing.fault.RequestLog;
import dev.flotilla.testing.fault.RequestRecord;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The guard against a real API server, through the fault proxy: a read flood, a 30 s outage, a
 * 429 with Retry-After, and watches that are cut and expired. Each test prints the figures it
 * measured (one log line), which the closing note quotes.
 *
 * <p>The four scenarios run side by side ({@link ExecutionMode#CONCURRENT}; the module's surefire configuration runs
 * everything else one at a time): each mostly waits (a 25 s flood held to 10 requests/s, a 30 s outage, 24 s of watch
 * cuts, a 2 s Retry-After), and each has its own namespace, its own fault proxy (whose request log is all it judges
 * from), its own clients and managers. Nothing is shared but the API server, which none of them faults.
 */
@WithCluster
class ApiProtectionScenariosTest {

    private static final Logger log = LoggerFactory.getLogger(ApiProtectionScenariosTest.class);
    private static final String LEASES = ".*/leases.*";

    private static ConfigMap cm(TestNamespace ns, String name, Map<String, String> labels, String value) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).withLabels(labels)
                .endMetadata().withData(Map.of("v", value)).build();
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aFloodOfReadsStaysWithinQpsAndBurstWhileLeaseRenewalsKeepTheirDeadline(TestCluster cluster, TestNamespace ns)
            throws Exception {
        double qps = 10;
        int burst = 20;
        Duration renewDeadline = Duration.ofSeconds(4);
        GuardConfig config = GuardConfig.builder().qps(qps).burst(burst).build();
        try (FaultProxy proxy = FaultProxy.start(cluster);
                KubernetesClient client = GuardedClients.newClient(proxy.clientConfig("replica-a"), config,
                        new SimpleMeterRegistry())) {
            cluster.client().resource(cm(ns, "target", Map.of(), "0")).create();
            cluster.client().resource(new LeaseBuilder().withNewMetadata().withName("member-a").withNamespace(ns.name())
                    .endMetadata().withNewSpec().withHolderIdentity("replica-a").withLeaseDurationSeconds(6).endSpec()
                    .build()).create();
            long floodNanos = Duration.ofSeconds(25).toNanos();
            long start = System.nanoTime();
            var stop = new AtomicBoolean();
            var reads = new AtomicLong();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                workers.add(Thread.ofVirtual().start(() -> {
                    while (!stop.get()) {
                        try {
                            client.configMaps().inNamespace(ns.name()).withName("target").get();
                            reads.incrementAndGet();
                        } catch (RuntimeException e) {
                            // RequestThrottledException when the permit wait runs out: the flood goes on
                        }
                    }
                }));
            }
            List<Duration> renewals = new ArrayList<>();
            while (System.nanoTime() - start < floodNanos) {
                long t0 = System.nanoTime();
                Lease lease = client.leases().inNamespace(ns.name()).withName("member-a").get();
                lease.getSpec().setRenewTime(ZonedDateTime.now());
                client.resource(lease).update();
                renewals.add(Duration.ofNanos(System.nanoTime() - t0));
                Thread.sleep(1000);
            }
            stop.set(true);
            for (Thread t : workers) {
                t.join(Duration.ofSeconds(35));
            }
            List<RequestRecord> seen = proxy.log().forwarded("replica-a").stream()
                    .filter(r -> !r.path().matches(LEASES)).toList();
            int peak10s = RequestLog.maxInAnyWindow(seen, Duration.ofSeconds(10));
            Duration slowestRenewal = renewals.stream().max(Duration::compareTo).orElseThrow();
            log.atInfo().addKeyValue("reads", reads.get()).addKeyValue("forwarded", seen.size())
                    .addKeyValue("peakPer10s", peak10s).addKeyValue("limitPer10s", qps * 10 * 1.1 + burst)
                    .addKeyValue("renewals", renewals.size()).addKeyValue("slowestRenewalMs", slowestRenewal.toMillis())
                    .log("flood figures");
            assertThat(peak10s).as("requests the server saw in any 10 s window").isLessThanOrEqualTo((int) (qps * 10 * 1.1 + burst));
            assertThat(seen.size()).as("the flood really pressed on the limit").isGreaterThan((int) (qps * 20));
            assertThat(renewals).hasSizeGreaterThanOrEqualTo(15);
            assertThat(slowestRenewal).as("no lease renewal misses its deadline").isLessThan(renewDeadline);
        }
    }

    /** A controller that copies each labelled ConfigMap to {@code <name>-copy}, with server-side apply. */
    private static Manager copier(KubernetesClient client, TestNamespace ns, String name, AtomicInteger reconciles) {
        Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1)
                .withShutdownTimeout(Duration.ofSeconds(5)).withCacheSyncTimeout(Duration.ofSeconds(30)), KeyGate.admitAll());
        manager.controller(ConfigMap.class).named(name).withLabelSelector("outage=" + ns.name()).workers(4)
                .complete(request -> {
                    reconciles.incrementAndGet();
                    return request.object().map(source -> {
                        ConfigMap copy = new ConfigMapBuilder().withNewMetadata()
                                .withName(source.getMetadata().getName() + "-copy")
                                .withNamespace(source.getMetadata().getNamespace()).endMetadata()
                                .withData(source.getData()).build();
                        Apply.setControllerOwner(copy, source);
                        Apply.serverSideApply(client, copy, "flotilla-" + name);
                        return Result.done();
                    }).orElseGet(Result::done);
                });
        return manager;
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void duringA30sOutageTheBreakerCapsRequestsAndEveryPendingObjectConvergesAfterwards(TestCluster cluster,
            TestNamespace ns) throws Exception {
        var guardedReconciles = new AtomicInteger();
        var defaultReconciles = new AtomicInteger();
        try (FaultProxy proxy = FaultProxy.start(cluster);
                KubernetesClient guarded = GuardedClients.newClient(proxy.clientConfig("guarded"), GuardConfig.defaults(),
                        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
                KubernetesClient plain = new KubernetesClientBuilder().withConfig(proxy.clientConfig("fabric8-default")).build()) {
            for (int i = 0; i < 10; i++) {
                cluster.client().resource(cm(ns, "before-" + i, Map.of("outage", ns.name()), "0")).create();
            }
            Manager withGuard = copier(guarded, ns, "guarded", guardedReconciles);
            Manager withDefaults = copier(plain, ns, "fabric8-default", defaultReconciles);
            try (withGuard; withDefaults) {
                withGuard.start();
                withDefaults.start();
                await().atMost(Duration.ofSeconds(30)).until(() -> copies(cluster, ns) == 10);

                Duration outage = Duration.ofSeconds(30);
                long outageStart = System.nanoTime();
                // The outage starts with requests failing while open watches still deliver events, so
                // work arrives and fails during it (that is what must not spin); 2 s later the watches
                // go too.
                int reconcilesAtStart = guardedReconciles.get();
                int defaultReconcilesAtStart = defaultReconciles.get();
                try (var down = proxy.add(FaultRule.of(Fault.serviceUnavailable(null)).nonWatchesOnly())) {
                    for (int i = 0; i < 20; i++) {
                        cluster.client().resource(cm(ns, "during-" + i, Map.of("outage", ns.name()), "1")).create();
                    }
                    Thread.sleep(2000);
                    var watchesDown = proxy.add(FaultRule.of(Fault.serviceUnavailable(null)).watchesOnly());
                    proxy.cutConnections("guarded");
                    proxy.cutConnections("fabric8-default");
                    Thread.sleep(outage.toMillis() - 2000);
                    watchesDown.remove();
                    int reconcilesDuring = guardedReconciles.get() - reconcilesAtStart;
                    int defaultReconcilesDuring = defaultReconciles.get() - defaultReconcilesAtStart;
                    long outageEnd = System.nanoTime();
                    double guardedRate = rate(proxy.requests("guarded"), outageStart, outageEnd);
                    double defaultRate = rate(proxy.requests("fabric8-default"), outageStart, outageEnd);
                    // The breaker needs a few failures to open: judge the steady state after the first 5 s.
                    double guardedSteady = rate(proxy.requests("guarded"), outageStart + Duration.ofSeconds(5).toNanos(), outageEnd);
                    log.atInfo().addKeyValue("guardedRequestsPerSecond", String.format("%.2f", guardedRate))
                            .addKeyValue("guardedSteadyRequestsPerSecond", String.format("%.2f", guardedSteady))
                            .addKeyValue("fabric8DefaultRequestsPerSecond", String.format("%.2f", defaultRate))
                            .addKeyValue("guardedReconcilesDuringOutage", reconcilesDuring)
                            .addKeyValue("fabric8DefaultReconcilesDuringOutage", defaultReconcilesDuring)
                            .log("outage figures");
                    assertThat(guardedSteady).as("requests/s reaching the server from the guarded replica").isLessThanOrEqualTo(1.0);
                    // 20 keys failing for 30 s under per-key backoff (5 ms doubling) is about 13 attempts each.
                    assertThat(reconcilesDuring).as("reconciles ran and failed during the outage").isGreaterThanOrEqualTo(20);
                    assertThat(reconcilesDuring).as("no reconcile spins while the server is down").isLessThan(20 * 16);
                }
                long recovered = System.nanoTime();
                await().atMost(Duration.ofSeconds(90)).until(() -> copies(cluster, ns) == 30);
                log.atInfo().addKeyValue("convergedAfterRecoveryMs", (System.nanoTime() - recovered) / 1_000_000)
                        .log("outage recovery");
            }
        }
    }

    private static int copies(TestCluster cluster, TestNamespace ns) {
        return (int) cluster.client().configMaps().inNamespace(ns.name()).list().getItems().stream()
                .filter(c -> c.getMetadata().getName().endsWith("-copy")).count();
    }

    /** Requests per second that reached the proxy (answered by the fault or not) in [from, to). */
    private static double rate(List<RequestRecord> records, long fromNanos, long toNanos) {
        long n = records.stream().filter(r -> r.startNanos() >= fromNanos && r.startNanos() < toNanos).count();
        return n / ((toNanos - fromNanos) / 1e9);
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aRetryAfterOf2sIsHonouredBeforeTheRetryReachesTheServer(TestCluster cluster, TestNamespace ns) throws Exception {
        cluster.client().resource(cm(ns, "limited", Map.of(), "0")).create();
        try (FaultProxy proxy = FaultProxy.start(cluster);
                KubernetesClient client = GuardedClients.newClient(proxy.clientConfig("replica-a"), GuardConfig.defaults(),
                        new SimpleMeterRegistry())) {
            proxy.add(FaultRule.of(Fault.tooManyRequests("2")).forIdentity("replica-a").nonWatchesOnly().times(2));
            ConfigMap got = client.configMaps().inNamespace(ns.name()).withName("limited").get();
            assertThat(got.getData()).containsEntry("v", "0");
            List<RequestRecord> records = proxy.requests("replica-a");
            assertThat(records).hasSize(3);
            var gap = RequestLog.minGapAfter(records, r -> r.status() == 429);
            log.atInfo().addKeyValue("minGapAfter429Ms", gap.map(Duration::toMillis).orElse(-1L)).log("retry-after figures");
            assertThat(gap).hasValueSatisfying(g -> assertThat(g).isGreaterThanOrEqualTo(Duration.ofSeconds(2)));
        }
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void informersResumeThroughWatchCutsEvery5sAndAnInjected410WithoutMissingAWriteOrRelistStorms(TestCluster cluster,
            TestNamespace ns) throws Exception {
        int objects = 30;
        Map<String, Integer> written = new ConcurrentHashMap<>();
        Map<String, Integer> reconciled = new ConcurrentHashMap<>();
        for (int i = 0; i < objects; i++) {
            cluster.client().resource(cm(ns, "o-" + i, Map.of("cut", ns.name()), "0")).create();
            written.put("o-" + i, 0);
        }
        try (FaultProxy proxy = FaultProxy.start(cluster);
                KubernetesClient client = GuardedClients.newClient(proxy.clientConfig("replica-a"), GuardConfig.defaults(),
                        new SimpleMeterRegistry())) {
            Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
            manager.controller(ConfigMap.class).named("cut").withLabelSelector("cut=" + ns.name()).complete(request -> {
                request.object().ifPresent(c -> reconciled.merge(c.getMetadata().getName(),
                        Integer.parseInt(c.getData().get("v")), Math::max));
                return Result.done();
            });
            try (manager; var cuts = proxy.add(FaultRule.of(Fault.cutWatchesEvery(Duration.ofSeconds(5))).forIdentity("replica-a"))) {
                manager.start();
                long until = System.nanoTime() + Duration.ofSeconds(24).toNanos();
                boolean injected = false;
                long half = System.nanoTime() + Duration.ofSeconds(12).toNanos();
                while (System.nanoTime() < until) {
                    String name = "o-" + ThreadLocalRandom.current().nextInt(objects);
                    int next = written.get(name) + 1;
                    cluster.client().configMaps().inNamespace(ns.name()).withName(name)
                            .edit(c -> new ConfigMapBuilder(c).withData(Map.of("v", Integer.toString(next))).build());
                    written.put(name, next);
                    if (!injected && System.nanoTime() > half) {
                        injected = proxy.injectGone("replica-a") > 0;
                    }
                    Thread.sleep(50);
                }
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(reconciled).isEqualTo(written));
                List<RequestRecord> lists = proxy.log().forwarded("replica-a").stream()
                        .filter(r -> !r.watch() && r.method().equals("GET") && r.path().endsWith("/configmaps")).toList();
                long watches = proxy.log().forwarded("replica-a").stream().filter(RequestRecord::watch).count();
                log.atInfo().addKeyValue("writes", written.values().stream().mapToInt(Integer::intValue).sum())
                        .addKeyValue("lists", lists.size()).addKeyValue("watchRequests", watches)
                        .addKeyValue("goneInjected", injected).log("watch-cut figures");
                assertThat(injected).as("a 410 was injected into an open watch").isTrue();
                assertThat(lists.size()).as("one initial LIST, one after the 410, no storm").isBetween(2, 4);
            }
        }
    }
}
