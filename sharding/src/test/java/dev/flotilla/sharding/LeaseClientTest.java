package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.vertx5.Vertx5HttpClientFactory;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * A replica's Lease renewals on a client of their own ({@link Sharding#withLeaseClient}) survive the manager's client
 * being busy. fabric8 decodes each response on its HTTP client's event loop, so a large list (or a burst of watch
 * events) holds that loop for as long as decoding takes: under a 0.1-core cap, a 20,000-object re-list held it past
 * the renew deadline on every retake. Here the manager's client runs on a Vert.x with one event loop, and the test
 * holds that loop for twice the renew deadline, as such a decode would.
 *
 * <p>Both configurations are run: with the Leases on the manager's client (what {@link Sharding} does without a lease
 * client) the replica must fence its shards, which shows the busy loop really starves renewals; with a lease client of
 * its own it must keep every shard, fence nothing, and its membership Lease must be renewed throughout.
 */
@WithCluster
class LeaseClientTest {

    static final Duration LEASE = Duration.ofSeconds(6);
    static final Duration RENEW_DEADLINE = Duration.ofSeconds(4);
    static final Duration RETRY = Duration.ofSeconds(1);
    /** How long the manager client's event loop is held: twice the renew deadline. */
    static final Duration BUSY = RENEW_DEADLINE.multipliedBy(2);
    static final int SHARDS = 4;

    /** What one run saw while the manager client's event loop was held. */
    record Busy(double fences, int fewestActive) {
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void withTheLeasesOnTheirOwnClientABusyManagerClientCostsNoShard(TestCluster cluster, TestNamespace ns) throws Exception {
        Busy busy = holdTheManagersEventLoop(cluster, ns, "own-lease-client", true);
        assertThat(busy.fences()).as("fences while the manager client's event loop was held for %s", BUSY).isZero();
        assertThat(busy.fewestActive()).as("fewest shards active meanwhile").isEqualTo(SHARDS);
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void withTheLeasesOnTheManagersClientTheSameBusyLoopFencesTheShards(TestCluster cluster, TestNamespace ns) throws Exception {
        Busy busy = holdTheManagersEventLoop(cluster, ns, "shared-client", false);
        assertThat(busy.fences()).as("fences while the shared event loop was held for %s", BUSY).isPositive();
        assertThat(busy.fewestActive()).as("fewest shards active meanwhile").isLessThan(SHARDS);
    }

    private static Busy holdTheManagersEventLoop(TestCluster cluster, TestNamespace ns, String group, boolean ownLeaseClient)
            throws Exception {
        Config config = new ConfigBuilder(cluster.config()).build();
        config.setRequestTimeout(3_000);
        config.setConnectionTimeout(2_000);
        // One event loop, so that holding it holds every connection of the manager's client; no blocked-thread
        // warnings for the hold itself.
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setMaxEventLoopExecuteTime(BUSY.toSeconds() * 2)
                .setMaxEventLoopExecuteTimeUnit(TimeUnit.SECONDS));
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config)
                .withHttpClientFactory(new Vertx5HttpClientFactory(vertx)).build();
        KubernetesClient leases = ownLeaseClient ? new KubernetesClientBuilder().withConfig(config).build() : client;
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1)
                .withShutdownTimeout(Duration.ofSeconds(5)), KeyGate.admitAll(), registry);
        Sharding sharding = Sharding.of(ShardingConfig.defaults(group + "-0", ns.name()).withGroup(group).withShards(SHARDS)
                .withTimings(LEASE, RENEW_DEADLINE, RETRY).withDrainTimeout(Duration.ofSeconds(1)));
        if (ownLeaseClient) {
            sharding = sharding.withLeaseClient(leases);
        }
        Sharding s = sharding;
        manager.install(s);
        try {
            manager.start();
            // A cold start waits a lease duration for other members before it lays the shards out.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> s.activeShards().size() == SHARDS);
            Thread.sleep(RETRY.toMillis() * 2); // a renewal or two on the settled layout
            double before = fences(registry);
            long heldUntil = System.nanoTime() + BUSY.toNanos();
            vertx.runOnContext(v -> sleep(BUSY));
            int fewest = SHARDS;
            // Through the hold and one renew deadline after it: a fence is decided at the deadline.
            long until = heldUntil + RENEW_DEADLINE.toNanos();
            while (System.nanoTime() < until) {
                fewest = Math.min(fewest, s.activeShards().size());
                Thread.sleep(50);
            }
            return new Busy(fences(registry) - before, fewest);
        } finally {
            manager.stop();
            client.close();
            if (leases != client) {
                leases.close();
            }
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    private static double fences(PrometheusMeterRegistry registry) {
        return registry.find(ShardMetrics.SHARD_FENCES_TOTAL).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
