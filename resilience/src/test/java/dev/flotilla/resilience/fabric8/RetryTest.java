package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import dev.flotilla.resilience.guard.FullJitterBackoff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Retries against a stub API server: what is retried, how long it waits, and that nothing retries twice. */
class RetryTest {

    /** Timer and loopback latency the gaps measured at the stub may exceed the computed wait by. */
    private static final long SLACK_MS = 200;

    private StubApiServer stub;
    private SimpleMeterRegistry registry;

    @BeforeEach
    void start() throws Exception {
        stub = StubApiServer.start();
        registry = new SimpleMeterRegistry();
    }

    @AfterEach
    void stop() {
        stub.close();
    }

    private KubernetesClient client(GuardConfig guard) {
        return GuardedClients.newClient(TestClients.config(stub.url()), guard, registry);
    }

    /** Answers {@code failures} times with the given status (and headers), then as the default stub. */
    private void failFirst(int failures, int code, String... headers) {
        AtomicInteger seen = new AtomicInteger();
        stub.respond((exchange, request) -> {
            if (seen.incrementAndGet() <= failures) {
                StubApiServer.status(exchange, code, headers);
            } else {
                StubApiServer.ok(exchange, request);
            }
        });
    }

    private static List<Long> gapsMillis(List<StubApiServer.Received> received) {
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < received.size(); i++) {
            gaps.add((received.get(i).nanos() - received.get(i - 1).nanos()) / 1_000_000);
        }
        return gaps;
    }

    private static ConfigMap configMap(String name, String resourceVersion) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace("test")
                .withResourceVersion(resourceVersion).endMetadata().addToData("k", "v").build();
    }

    @Test
    void retriesAGetWithFullJitterWithinTheBackoffBounds() {
        GuardConfig guard = TestClients.quiet().retryMaxAttempts(5)
                .retryBaseBackoff(Duration.ofMillis(100)).retryMaxBackoff(Duration.ofMillis(400)).build();
        FullJitterBackoff bounds = new FullJitterBackoff(guard.retry().baseBackoff(), guard.retry().maxBackoff());
        Set<Long> distinctGaps = new HashSet<>();
        try (KubernetesClient client = client(guard)) {
            for (int round = 0; round < 4; round++) {
                stub.clear();
                failFirst(4, 503);
                ConfigMap got = client.configMaps().withName("settings").get();
                assertThat(got.getMetadata().getName()).isEqualTo("settings");
                List<StubApiServer.Received> received = stub.received();
                assertThat(received).hasSize(5);
                List<Long> gaps = gapsMillis(received);
                for (int retry = 1; retry <= gaps.size(); retry++) {
                    assertThat(gaps.get(retry - 1)).as("gap before retry %d of round %d", retry, round)
                            .isBetween(0L, bounds.ceiling(retry).toMillis() + SLACK_MS);
                }
                distinctGaps.addAll(gaps);
            }
        }
        // Jitter: 16 waits drawn from [0, up to 400 ms] are not all alike.
        assertThat(distinctGaps).hasSizeGreaterThan(4);
    }

    @Test
    void neverRetriesAPlainCreateOrAnUnconditionalUpdateOnAServerError() {
        GuardConfig guard = TestClients.quiet().retryMaxAttempts(4).build();
        stub.respond((exchange, request) -> {
            switch (request.method()) {
                case "GET" -> StubApiServer.ok(exchange, request);
                case "POST" -> StubApiServer.status(exchange, 500);
                default -> StubApiServer.status(exchange, 503);
            }
        });
        try (KubernetesClient client = client(guard)) {
            assertThatThrownBy(() -> client.configMaps().resource(configMap("new", null)).create())
                    .isInstanceOf(KubernetesClientException.class)
                    .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(500));
            assertThat(stub.received(r -> r.method().equals("POST"))).hasSize(1);

            // A merge patch and a delete without preconditions: repeating them could undo or delete a newer write.
            assertThatThrownBy(() -> client.configMaps().withName("blind")
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"data\":{\"a\":\"b\"}}"))
                    .isInstanceOf(KubernetesClientException.class);
            assertThat(stub.received(r -> r.method().equals("PATCH"))).as("%s", stub.received()).hasSize(1);
            assertThatThrownBy(() -> client.configMaps().withName("blind").delete())
                    .isInstanceOf(KubernetesClientException.class);
            assertThat(stub.received(r -> r.method().equals("DELETE"))).hasSize(1);

            // The same update with a resourceVersion precondition cannot apply twice: it is retried.
            stub.clear();
            assertThatThrownBy(() -> client.configMaps().resource(configMap("guarded", "41")).update())
                    .isInstanceOf(KubernetesClientException.class);
            assertThat(stub.received(r -> r.method().equals("PUT"))).hasSize(4);
        }
    }

    @Test
    void retriesACreateThatTheServerProvablyDidNotProcess() throws Exception {
        GuardConfig guard = TestClients.quiet().retryMaxAttempts(3).build();
        // 429: the server refused it before doing anything.
        failFirst(1, 429, "Retry-After", "0");
        try (KubernetesClient client = client(guard)) {
            ConfigMap created = client.configMaps().resource(configMap("new", null)).create();
            assertThat(created).isNotNull();
            assertThat(stub.received(r -> r.method().equals("POST"))).hasSize(2);
        }
        // Connection refused: nothing was sent. Every attempt is counted as code="<error>".
        SimpleMeterRegistry refusedRegistry = new SimpleMeterRegistry();
        Config refused = TestClients.config("http://127.0.0.1:" + StubApiServer.closedPort());
        try (KubernetesClient client = GuardedClients.newClient(refused, guard, refusedRegistry)) {
            assertThatThrownBy(() -> client.configMaps().resource(configMap("new", null)).create())
                    .isInstanceOf(KubernetesClientException.class);
        }
        assertThat(refusedRegistry.get("rest_client_requests_total").tag("code", "<error>").tag("method", "POST")
                .counter().count()).isEqualTo(3);
    }

    @Test
    void waitsNoLessThanRetryAfterOn429And503() {
        GuardConfig guard = TestClients.quiet().retryMaxAttempts(2).build();
        try (KubernetesClient client = client(guard)) {
            for (int code : new int[] {429, 503}) {
                stub.clear();
                failFirst(1, code, "Retry-After", "1");
                assertThat(client.configMaps().withName("a").get()).isNotNull();
                long gap = gapsMillis(stub.received()).get(0);
                assertThat(gap).as("gap after %d with Retry-After: 1", code).isBetween(1000L, 1000L + SLACK_MS + 200);
            }

            // An HTTP-date two seconds ahead (whole seconds: the wait is between 1 and 2 s from now).
            stub.clear();
            Instant at = Instant.now().plusSeconds(2).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
            failFirst(1, 429, "Retry-After", DateTimeFormatter.RFC_1123_DATE_TIME.format(at.atOffset(ZoneOffset.UTC)));
            long before = System.nanoTime();
            Instant wallBefore = Instant.now();
            assertThat(client.configMaps().withName("a").get()).isNotNull();
            List<StubApiServer.Received> received = stub.received();
            long expectedMs = Duration.between(wallBefore, at).toMillis();
            long gap = gapsMillis(received).get(0);
            assertThat(received.get(0).nanos()).isGreaterThanOrEqualTo(before);
            assertThat(gap).isBetween(expectedMs - 50, expectedMs + SLACK_MS + 200);
        }
    }

    @Test
    void capsAbsurdRetryAfterAndFallsBackToTheBackoffForMalformedOnes() {
        GuardConfig guard = TestClients.quiet().retryMaxAttempts(2).maxRetryAfter(Duration.ofMillis(1500))
                .retryBaseBackoff(Duration.ofMillis(50)).retryMaxBackoff(Duration.ofMillis(50)).build();
        try (KubernetesClient client = client(guard)) {
            for (String absurd : new String[] {"999999", "Fri, 01 Jan 2100 00:00:00 GMT"}) {
                stub.clear();
                failFirst(1, 429, "Retry-After", absurd);
                assertThat(client.configMaps().withName("a").get()).isNotNull();
                assertThat(gapsMillis(stub.received()).get(0)).as("Retry-After: %s", absurd)
                        .isBetween(1500L, 1500L + SLACK_MS + 200);
            }
            for (String malformed : new String[] {"-5", "soon", "1.5", ""}) {
                stub.clear();
                failFirst(1, 503, "Retry-After", malformed);
                assertThat(client.configMaps().withName("a").get()).isNotNull();
                assertThat(gapsMillis(stub.received()).get(0)).as("Retry-After: %s", malformed)
                        .isBetween(0L, 50L + SLACK_MS);
            }
        }
    }

    @Test
    void derivedClientsShareTheGuardAndNeverGetFabric8RetriesBack() throws Exception {
        stub.respond((exchange, request) -> StubApiServer.status(exchange, 503));
        RequestGuard guard = RequestGuard.create(TestClients.quiet().retryMaxAttempts(2).build(), registry);
        try (var base = new GuardedHttpClientFactory(guard).newBuilder(TestClients.config(stub.url())).build()) {
            var retriesRequested = new io.fabric8.kubernetes.client.RequestConfigBuilder()
                    .withRequestRetryBackoffLimit(10).withRequestRetryBackoffInterval(10).withRequestTimeout(5_000).build();
            try (var derived = base.newBuilder().tag(retriesRequested).build()) {
                assertThat(derived).isInstanceOf(GuardedHttpClient.class);
                var request = derived.newHttpRequestBuilder().uri(stub.url() + "/api/v1/namespaces/test/configmaps/a").build();
                var response = derived.sendAsync(request, String.class).get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(response.code()).isEqualTo(503);
            }
            assertThat(retriesRequested.getRequestRetryBackoffLimit()).as("the caller's object is not changed").isEqualTo(10);
        }
        assertThat(stub.count()).isEqualTo(2);
        assertThat(GuardedHttpClientBuilder.withoutRetry(new io.fabric8.kubernetes.client.RequestConfigBuilder()
                .withRequestTimeout(1234).withWatchReconnectLimit(7).build()))
                .satisfies(c -> {
                    assertThat(c.getRequestRetryBackoffLimit()).isZero();
                    assertThat(c.getRequestTimeout()).isEqualTo(1234);
                    assertThat(c.getWatchReconnectLimit()).isEqualTo(7);
                });
    }

    @Test
    void exactlyOneRetryLayer() {
        stub.respond((exchange, request) -> StubApiServer.status(exchange, 503));
        GuardConfig guard = TestClients.quiet().retryMaxAttempts(3).build();

        // Guarded: the guard's attempts and nothing else, even with a config that asks fabric8 for 10 retries.
        Config asksForRetries = new ConfigBuilder(TestClients.config(stub.url()))
                .withRequestRetryBackoffLimit(10).withRequestRetryBackoffInterval(10).build();
        try (KubernetesClient client = GuardedClients.newClient(asksForRetries, guard, registry)) {
            assertThatThrownBy(() -> client.configMaps().withName("a").get()).isInstanceOf(KubernetesClientException.class);
        }
        assertThat(stub.count()).isEqualTo(3);
        assertThat(asksForRetries.getRequestRetryBackoffLimit()).isZero();
        assertThat(registry.get("rest_client_requests_total").tag("code", "503").counter().count()).isEqualTo(3);

        // The factory alone (no GuardedClients): the builder still strips fabric8's retry.
        stub.clear();
        Config untouched = new ConfigBuilder(TestClients.config(stub.url()))
                .withRequestRetryBackoffLimit(10).withRequestRetryBackoffInterval(10).build();
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(untouched)
                .withHttpClientFactory(new GuardedHttpClientFactory(RequestGuard.create(guard, registry))).build()) {
            assertThatThrownBy(() -> client.configMaps().withName("a").get()).isInstanceOf(KubernetesClientException.class);
        }
        assertThat(stub.count()).isEqualTo(3);

        // Plain fabric8 with its default retry limit (10; interval shortened to keep the test fast): 11 requests.
        stub.clear();
        Config plain = new ConfigBuilder(TestClients.config(stub.url())).withRequestRetryBackoffInterval(10).build();
        assertThat(plain.getRequestRetryBackoffLimit()).isEqualTo(Config.DEFAULT_REQUEST_RETRY_BACKOFFLIMIT).isEqualTo(10);
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(plain).build()) {
            assertThatThrownBy(() -> client.configMaps().withName("a").get()).isInstanceOf(KubernetesClientException.class);
        }
        assertThat(stub.count()).isEqualTo(11);
    }
}
