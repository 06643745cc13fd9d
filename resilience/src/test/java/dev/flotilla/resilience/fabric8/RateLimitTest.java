package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.resilience.guard.RequestKind.Budget;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client-side token buckets against a stub: limits hold, watches are charged once, leases keep their budget. */
class RateLimitTest {

    private StubApiServer stub;

    @BeforeEach
    void start() throws Exception {
        stub = StubApiServer.start();
    }

    @AfterEach
    void stop() {
        stub.close();
    }

    /** The most requests that arrived within any window of {@code windowNanos} starting at an arrival. */
    private static int maxInWindow(List<Long> arrivals, long windowNanos) {
        int max = 0;
        int j = 0;
        for (int i = 0; i < arrivals.size(); i++) {
            while (j < arrivals.size() && arrivals.get(j) - arrivals.get(i) < windowNanos) {
                j++;
            }
            max = Math.max(max, j - i);
        }
        return max;
    }

    private static List<Long> arrivals(List<StubApiServer.Received> received) {
        return received.stream().map(StubApiServer.Received::nanos).sorted().toList();
    }

    /** Starts {@code threads} callers doing GETs until {@code stop} is set. */
    private static ExecutorService hammer(KubernetesClient client, int threads, AtomicBoolean stop) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        for (int t = 0; t < threads; t++) {
            pool.submit(() -> {
                while (!stop.get()) {
                    client.configMaps().withName("a").get();
                }
                return null;
            });
        }
        return pool;
    }

    @Test
    void holdsUnderTwentyConcurrentCallers() throws Exception {
        double qps = 10;
        int burst = 5;
        GuardConfig config = TestClients.quiet().qps(qps).burst(burst).build();
        AtomicBoolean stop = new AtomicBoolean();
        long runNanos = TimeUnit.MILLISECONDS.toNanos(3_000);
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), config,
                new SimpleMeterRegistry())) {
            ExecutorService pool = hammer(client, 20, stop);
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(runNanos));
            stop.set(true);
            pool.shutdown();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
        List<Long> arrivals = arrivals(stub.received());
        long firstNanos = arrivals.get(0);
        List<Long> inRun = arrivals.stream().filter(t -> t - firstNanos < runNanos).toList();
        for (double windowSeconds : new double[] {0.25, 0.5, 1, 2, 3}) {
            int bound = (int) Math.floor(qps * windowSeconds + burst);
            // +1: the permit is taken when a request leaves; loopback delivery can pull two arrivals closer.
            assertThat(maxInWindow(inRun, (long) (windowSeconds * 1e9)))
                    .as("requests at the stub within %.2f s (qps %.0f, burst %d)", windowSeconds, qps, burst)
                    .isLessThanOrEqualTo(bound + 1);
        }
        // And it is a limit, not a stall: close to qps*T + burst got through.
        assertThat(inRun.size()).isGreaterThanOrEqualTo((int) (0.8 * (qps * 3 + burst)));
    }

    @Test
    void waitingForAPermitBlocksNoThread() throws Exception {
        long[] firstIssued = new long[1];
        GuardConfig config = TestClients.quiet().qps(4).burst(1).build();
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), config,
                new SimpleMeterRegistry())) {
            var http = client.getHttpClient();
            List<java.util.concurrent.CompletableFuture<?>> futures = new ArrayList<>();
            long t0 = System.nanoTime();
            firstIssued[0] = t0;
            for (int i = 0; i < 5; i++) {
                var request = http.newHttpRequestBuilder().uri(stub.url() + "/api/v1/namespaces/test/configmaps/a").build();
                futures.add(http.sendAsync(request, String.class));
            }
            // Issuing five requests takes no time although four of them must wait up to a second for a permit.
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(200);
            assertThat(futures.stream().filter(java.util.concurrent.CompletableFuture::isDone).count()).isLessThanOrEqualTo(1);
            java.util.concurrent.CompletableFuture.allOf(futures.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(5, TimeUnit.SECONDS);
        }
        List<Long> arrivals = arrivals(stub.received());
        assertThat(arrivals).hasSize(5);
        for (int i = 1; i < arrivals.size(); i++) {
            // Request i leaves no earlier than i * 250 ms after the first was issued (4 qps, burst 1).
            assertThat(TimeUnit.NANOSECONDS.toMillis(arrivals.get(i) - firstIssued[0])).isGreaterThanOrEqualTo(i * 250L - 5);
        }
    }

    @Test
    void watchesCostOnePermitPerConnectionNotOnePerEvent() throws Exception {
        GuardConfig config = TestClients.quiet().qps(1).burst(2).build();
        RequestGuard guard = RequestGuard.create(config, new SimpleMeterRegistry());
        int events = 200;
        stub.respond((exchange, request) -> {
            if (request.isWatch()) {
                StubApiServer.watchStream(exchange, events, 10_000);
            } else {
                StubApiServer.ok(exchange, request);
            }
        });
        Config httpWatches = new ConfigBuilder(TestClients.config(stub.url())).withOnlyHttpWatches(true).build();
        CountDownLatch received = new CountDownLatch(events);
        try (KubernetesClient client = GuardedClients.newClient(httpWatches, guard)) {
            long t0 = System.nanoTime();
            Watch watch = client.configMaps().watch(new Watcher<ConfigMap>() {
                @Override
                public void eventReceived(Action action, ConfigMap resource) {
                    received.countDown();
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            });
            // At 1 qps, 200 events charged one by one would take 200 s; they arrive in well under a second
            // (20 s allows for a loaded machine).
            assertThat(received.await(20, TimeUnit.SECONDS)).isTrue();
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(stub.received(StubApiServer.Received::isWatch)).hasSize(1);
            // The watch took one of the two tokens: one is left (plus what refilled meanwhile).
            int available = guard.rateLimiter(stub.apiServer(), Budget.REQUESTS).getMetrics().getAvailablePermissions();
            assertThat(available).isBetween(1, 2);
            long getStart = System.nanoTime();
            client.configMaps().withName("a").get();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - getStart)).isLessThan(500);
            assertThat(tookMillis).isLessThan(20_000);
            watch.close();
        }
    }

    @Test
    void leaseBudgetStaysAvailableWhileNormalTrafficIsThrottled() throws Exception {
        GuardConfig config = TestClients.quiet().qps(2).burst(2).leaseQps(20).leaseBurst(40).build();
        RequestGuard guard = RequestGuard.create(config, new SimpleMeterRegistry());
        AtomicBoolean stop = new AtomicBoolean();
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            ExecutorService pool = hammer(client, 10, stop);
            // Let the request bucket run into debt: ten callers queue behind 2 qps.
            Thread.sleep(1_000);
            var requests = guard.rateLimiter(stub.apiServer(), Budget.REQUESTS);
            assertThat(requests.getMetrics().getNumberOfWaitingThreads()).isGreaterThanOrEqualTo(5);

            List<Long> leaseMillis = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                long t0 = System.nanoTime();
                Lease lease = client.leases().withName("shard-" + i).get();
                assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("a");
                client.leases().resource(lease).update(); // renewal: PUT with the resourceVersion
                leaseMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            }
            stop.set(true);
            pool.shutdown();
            assertThat(pool.awaitTermination(15, TimeUnit.SECONDS)).isTrue();
            // Each GET+PUT pair takes milliseconds, while a normal request waits seconds for its turn.
            assertThat(leaseMillis).allSatisfy(ms -> assertThat(ms).isLessThan(300));
            assertThat(stub.received(StubApiServer.Received::isLease)).hasSize(40);
        }
        // Normal traffic stayed within its own limit meanwhile.
        List<Long> normal = arrivals(stub.received(r -> !r.isLease()));
        assertThat(maxInWindow(normal, 1_000_000_000L)).isLessThanOrEqualTo(2 + 2 + 1);
    }
}
