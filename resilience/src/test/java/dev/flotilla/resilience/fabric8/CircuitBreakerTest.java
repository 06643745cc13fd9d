package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreaker.State;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The breaker per API server against a stub: what opens it, fail-fast while open, recovery through half-open. */
class CircuitBreakerTest {

    private StubApiServer stub;

    @BeforeEach
    void start() throws Exception {
        stub = StubApiServer.start();
    }

    @AfterEach
    void stop() {
        stub.close();
    }

    /** Opens after 5 calls with at least half failed; probes one call after 1 s; no retries (counts are exact). */
    private static GuardConfig breakerConfig() {
        return TestClients.quiet()
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(10).minimumCalls(5)
                .failureRateThreshold(50).waitInOpenState(Duration.ofSeconds(1)).halfOpenCalls(1)
                .build();
    }

    private static void getIgnoringErrors(KubernetesClient client, int times) {
        for (int i = 0; i < times; i++) {
            try {
                client.configMaps().withName("a").get();
            } catch (KubernetesClientException expected) {
                // counted by the breaker
            }
        }
    }

    private static ConfigMap configMap(String name) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace("test").endMetadata().build();
    }

    @Test
    void opensOn503sAndThenFailsFastWithTheTypedException() {
        RequestGuard guard = RequestGuard.create(breakerConfig(), new SimpleMeterRegistry());
        stub.respond((exchange, request) -> StubApiServer.status(exchange, 503));
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            getIgnoringErrors(client, 5);
            assertThat(guard.circuitBreaker(stub.apiServer()).getState()).isEqualTo(State.OPEN);
            assertThat(stub.count()).isEqualTo(5);

            // The typed exception surfaces from blocking fabric8 calls, reads and writes alike.
            assertThatThrownBy(() -> client.configMaps().withName("a").get())
                    .isInstanceOf(ApiServerUnavailableException.class)
                    .satisfies(e -> {
                        var unavailable = (ApiServerUnavailableException) e;
                        assertThat(unavailable.getCode()).isEqualTo(503);
                        assertThat(unavailable.apiServer()).isEqualTo(stub.apiServer());
                        assertThat(unavailable.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));
                        assertThat(unavailable.getName()).isEqualTo("a");
                    });
            assertThatThrownBy(() -> client.configMaps().resource(configMap("b")).create())
                    .isInstanceOf(ApiServerUnavailableException.class);
            assertThatThrownBy(() -> client.configMaps().list()).isInstanceOf(ApiServerUnavailableException.class);
            assertThat(stub.count()).isEqualTo(5);
        }
    }

    /**
     * Leases bypass the breaker; their answer proves the server is back, so an open breaker lets its probe through at
     * once rather than at the end of its open interval (here 30 s, which the test would never wait for).
     */
    @Test
    void aLeaseAnsweredWhileTheBreakerIsOpenLetsTheProbeThroughAtOnce() {
        GuardConfig config = TestClients.quiet()
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(10).minimumCalls(5)
                .failureRateThreshold(50).waitInOpenState(Duration.ofSeconds(30)).halfOpenCalls(1)
                .build();
        RequestGuard guard = RequestGuard.create(config, new SimpleMeterRegistry());
        java.util.concurrent.atomic.AtomicBoolean outage = new java.util.concurrent.atomic.AtomicBoolean(true);
        stub.respond((exchange, request) -> {
            if (request.path().contains("/leases")) {
                StubApiServer.json(exchange, 200, "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                        + "\"metadata\":{\"name\":\"member\",\"namespace\":\"test\",\"resourceVersion\":\"1\"}}");
            } else if (outage.get()) {
                StubApiServer.status(exchange, 503);
            } else {
                StubApiServer.json(exchange, 200, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                        + "\"metadata\":{\"name\":\"a\",\"namespace\":\"test\"}}");
            }
        });
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            getIgnoringErrors(client, 5);
            CircuitBreaker breaker = guard.circuitBreaker(stub.apiServer());
            assertThat(breaker.getState()).isEqualTo(State.OPEN);
            outage.set(false);
            assertThatThrownBy(() -> client.configMaps().withName("a").get())
                    .as("still open: nothing has shown the server back")
                    .isInstanceOf(ApiServerUnavailableException.class);
            assertThat(client.leases().withName("member").get()).isNotNull();
            assertThat(breaker.getState()).isEqualTo(State.HALF_OPEN);
            assertThat(client.configMaps().withName("a").get()).as("the probe").isNotNull();
            assertThat(breaker.getState()).isEqualTo(State.CLOSED);
        }
    }

    @Test
    void opensWhenTheConnectionIsRefused() throws Exception {
        RequestGuard guard = RequestGuard.create(breakerConfig(), new SimpleMeterRegistry());
        String url = "http://127.0.0.1:" + StubApiServer.closedPort();
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(url), guard)) {
            getIgnoringErrors(client, 5);
            CircuitBreaker breaker = guard.circuitBreaker(RequestGuard.apiServer(java.net.URI.create(url)));
            assertThat(breaker.getState()).isEqualTo(State.OPEN);
            assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isEqualTo(5);
            assertThatThrownBy(() -> client.configMaps().withName("a").get())
                    .isInstanceOf(ApiServerUnavailableException.class);
        }
    }

    @Test
    void staysClosedOnNotFoundConflictAndInvalid() {
        RequestGuard guard = RequestGuard.create(breakerConfig(), new SimpleMeterRegistry());
        stub.respond((exchange, request) -> {
            switch (request.method()) {
                case "GET" -> StubApiServer.status(exchange, 404);
                case "POST" -> StubApiServer.status(exchange, request.body().contains("invalid") ? 422 : 409);
                default -> StubApiServer.status(exchange, 400);
            }
        });
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            for (int i = 0; i < 10; i++) {
                assertThat(client.configMaps().withName("missing").get()).isNull();
                assertThatThrownBy(() -> client.configMaps().resource(configMap("exists")).create())
                        .isInstanceOf(KubernetesClientException.class)
                        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(409));
                assertThatThrownBy(() -> client.configMaps().resource(configMap("invalid")).create())
                        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422));
            }
            CircuitBreaker breaker = guard.circuitBreaker(stub.apiServer());
            assertThat(breaker.getState()).isEqualTo(State.CLOSED);
            assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
            assertThat(stub.count()).isEqualTo(30);
        }
    }

    @Test
    void failsFastWhileOpenProbesAboutOncePerSecondAndClosesAfterRecovery() {
        RequestGuard guard = RequestGuard.create(breakerConfig(), new SimpleMeterRegistry());
        CircuitBreaker breaker = guard.circuitBreaker(stub.apiServer());
        List<State> transitions = Collections.synchronizedList(new ArrayList<>());
        breaker.getEventPublisher().onStateTransition(e -> transitions.add(e.getStateTransition().getToState()));
        stub.respond((exchange, request) -> StubApiServer.status(exchange, 503));
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            getIgnoringErrors(client, 5);
            assertThat(breaker.getState()).isEqualTo(State.OPEN);
            stub.clear();

            // A tight loop for 3.5 s: the stub sees only the probes, about one per second.
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3_500);
            int calls = 0;
            int failedFast = 0;
            long fastestNanos = Long.MAX_VALUE;
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                try {
                    client.configMaps().withName("a").get();
                } catch (ApiServerUnavailableException e) {
                    failedFast++;
                    fastestNanos = Math.min(fastestNanos, System.nanoTime() - t0);
                } catch (KubernetesClientException probeAnswered503) {
                    // a half-open probe reached the stub
                }
                calls++;
            }
            assertThat(stub.count()).as("requests at the stub during 3.5 s open").isBetween(2, 4);
            assertThat(failedFast).isGreaterThan(100).isEqualTo(calls - stub.count());
            assertThat(fastestNanos).isLessThan(TimeUnit.MILLISECONDS.toNanos(5));

            // Recovery: the next probe succeeds and the breaker closes.
            stub.respond(StubApiServer::ok);
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
                try {
                    client.configMaps().withName("a").get();
                } catch (ApiServerUnavailableException stillOpen) {
                    // wait for the probe
                }
                assertThat(breaker.getState()).isEqualTo(State.CLOSED);
            });
            assertThat(client.configMaps().withName("a").get()).isNotNull();
            assertThat(transitions).startsWith(State.OPEN, State.HALF_OPEN, State.OPEN).endsWith(State.HALF_OPEN, State.CLOSED);
        }
    }

    @Test
    void theDefaultsOpenTheBreakerOnASustainedOutage() {
        RequestGuard guard = RequestGuard.create(GuardConfig.defaults(), new SimpleMeterRegistry());
        stub.respond((exchange, request) -> StubApiServer.status(exchange, 503));
        long t0 = System.nanoTime();
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            int calls = 0;
            while (true) {
                calls++;
                try {
                    client.configMaps().withName("a").get();
                } catch (ApiServerUnavailableException open) {
                    break;
                } catch (KubernetesClientException answered503) {
                    // each call made up to 4 attempts
                }
                assertThat(calls).as("calls before the breaker opened").isLessThan(10);
            }
        }
        // 10 attempts in the 10 s window at 100 % failure open it; the retry in flight stops there.
        assertThat(stub.count()).isBetween(10, 12);
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(5);
        assertThat(guard.circuitBreaker(stub.apiServer()).getState()).isEqualTo(State.OPEN);
    }

    @Test
    void aHangingProbeDoesNotKeepTheBreakerHalfOpen() {
        GuardConfig config = TestClients.quiet()
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(5).minimumCalls(5)
                .waitInOpenState(Duration.ofSeconds(1)).halfOpenCalls(1).slowCallDuration(Duration.ofMillis(500))
                .build();
        RequestGuard guard = RequestGuard.create(config, new SimpleMeterRegistry());
        CircuitBreaker breaker = guard.circuitBreaker(stub.apiServer());
        List<State> transitions = Collections.synchronizedList(new ArrayList<>());
        breaker.getEventPublisher().onStateTransition(e -> transitions.add(e.getStateTransition().getToState()));
        stub.respond((exchange, request) -> StubApiServer.status(exchange, 503));
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            getIgnoringErrors(client, 5);
            assertThat(breaker.getState()).isEqualTo(State.OPEN);
            // The server now accepts requests and never answers (until the client's 5 s timeout).
            stub.respond((exchange, request) -> {
                try {
                    Thread.sleep(6_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            long openedAt = System.nanoTime();
            await().pollDelay(Duration.ofMillis(1_050)).until(() -> System.nanoTime() - openedAt > 1_000_000_000L);
            CompletableFuture<Void> probe = CompletableFuture.runAsync(() -> {
                try {
                    client.configMaps().withName("a").get();
                } catch (KubernetesClientException expected) {
                    // timed out or cancelled when the client closes
                }
            }, Thread.ofVirtual()::start); // never the common pool (see ShardedCliTest)
            // Half-open for the probe, then open again after the slow-call duration, while the probe still hangs.
            await().atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                    assertThat(transitions).containsSubsequence(State.OPEN, State.HALF_OPEN, State.OPEN));
            assertThat(probe).isNotDone();
            assertThatThrownBy(() -> client.configMaps().withName("a").get())
                    .isInstanceOf(ApiServerUnavailableException.class);
        }
    }

    @Test
    void watchReconnectsAndInformerRelistsRespectTheBreaker() {
        RequestGuard guard = RequestGuard.create(breakerConfig(), new SimpleMeterRegistry());
        CircuitBreaker breaker = guard.circuitBreaker(stub.apiServer());
        stub.respond((exchange, request) -> StubApiServer.status(exchange, 503));
        try (KubernetesClient client = GuardedClients.newClient(TestClients.config(stub.url()), guard)) {
            getIgnoringErrors(client, 5);
            assertThat(breaker.getState()).isEqualTo(State.OPEN);
            stub.clear();

            // A watch (over HTTP, as GuardedClients sets it) and an informer (LIST, then WATCH) started
            // while the breaker is open: fabric8 keeps reconnecting with its own backoff, and nothing reaches the
            // server while the breaker is open.
            Watcher<ConfigMap> ignore = new Watcher<>() {
                @Override
                public void eventReceived(Action action, ConfigMap resource) {
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            };
            var watch = client.configMaps().watch(ignore);
            SharedIndexInformer<ConfigMap> informer = client.configMaps().runnableInformer(0);
            informer.exceptionHandler((started, t) -> true); // as core's SharedInformers: keep trying
            informer.start();
            assertThat(stub.count()).isZero();

            // The server recovers: the probes succeed, the breaker closes, the informer lists and watches.
            stub.respond((exchange, request) -> {
                if (request.isWatch()) {
                    StubApiServer.watchStream(exchange, 0, 5_000);
                } else {
                    StubApiServer.ok(exchange, request);
                }
            });
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                    .untilAsserted(() -> {
                        assertThat(breaker.getState()).isEqualTo(State.CLOSED);
                        assertThat(informer.hasSynced()).isTrue();
                        assertThat(stub.received(StubApiServer.Received::isWatch)).isNotEmpty();
                    });
            informer.close();
            watch.close();
        }
    }
}
