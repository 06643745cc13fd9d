package dev.flotilla.testing.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.vertx5.Vertx5HttpClientFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The fault proxy in front of a real API server, driven by fabric8 clients as controllers use them. */
@WithCluster
class FaultProxyTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private static KubernetesClient client(FaultProxy proxy, String identity, UnaryOperator<ConfigBuilder> tweak) {
        return new KubernetesClientBuilder().withConfig(tweak.apply(new ConfigBuilder(proxy.clientConfig(identity))).build())
                .build();
    }

    private static KubernetesClient client(FaultProxy proxy, String identity) {
        return client(proxy, identity, b -> b);
    }

    /** No fabric8 retries and a short request timeout: what the client sees is what the proxy did. */
    private static ConfigBuilder noRetries(ConfigBuilder b) {
        return b.withRequestRetryBackoffLimit(0).withRequestTimeout(1_500);
    }

    private static ConfigMap cm(TestNamespace ns, String name, String value) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).endMetadata()
                .withData(Map.of("v", value)).build();
    }

    /** Who the API server says the caller of {@code identity}'s port is (a SelfSubjectReview), asking to be {@code asked}. */
    private static String whoAmI(FaultProxy proxy, String identity, String asked) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(proxy.url(identity) + "/apis/authentication.k8s.io/v1/selfsubjectreviews"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}"));
        if (asked != null) {
            request.header("Impersonate-User", asked);
        }
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> answer = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
            var m = java.util.regex.Pattern.compile("\"username\":\"([^\"]*)\"").matcher(answer.body());
            assertThat(m.find()).as(answer.body()).isTrue();
            return m.group(1);
        }
    }

    @Test
    void eachIdentityReachesTheServerAsItsOwnUserWhateverItAsksFor(TestCluster cluster) throws Exception {
        try (FaultProxy proxy = FaultProxy.start(cluster)) {
            proxy.impersonate("replica-a", new FaultProxy.Impersonation("flotilla:replica-a", List.of("system:masters")));
            proxy.impersonate("replica-b", new FaultProxy.Impersonation("flotilla:replica-b", List.of("system:masters")));
            assertThat(whoAmI(proxy, "replica-a", null)).isEqualTo("flotilla:replica-a");
            assertThat(whoAmI(proxy, "replica-b", "flotilla:replica-a")).as("a client's own Impersonate-User is replaced")
                    .isEqualTo("flotilla:replica-b");
            assertThat(whoAmI(proxy, "admin-port", null)).as("an identity without impersonation is the proxy's admin")
                    .isNotIn("flotilla:replica-a", "flotilla:replica-b");
        }
    }

    @Test
    void crudServerSideApplyAndLargeListsPassThrough(TestCluster cluster, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "crud")) {
            var configMaps = c.configMaps().inNamespace(ns.name());
            ConfigMap created = c.resource(cm(ns, "a", "1")).create();
            assertThat(created.getMetadata().getUid()).isNotBlank();
            assertThat(configMaps.withName("a").get().getData()).containsEntry("v", "1");
            ConfigMap fetched = configMaps.withName("a").get();
            fetched.getData().put("v", "2");
            assertThat(c.resource(fetched).update().getData()).containsEntry("v", "2"); // PUT (edit() is a PATCH in fabric8 8)
            configMaps.withName("a").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"data\":{\"merged\":\"yes\"}}");
            ConfigMap applied = c.resource(new ConfigMapBuilder(cm(ns, "a", "3")).addToData("merged", "yes").build())
                    .fieldManager("proxy-test").forceConflicts().serverSideApply();
            assertThat(applied.getData()).containsEntry("v", "3").containsEntry("merged", "yes");
            assertThat(applied.getMetadata().getManagedFields()).extracting(m -> m.getManager()).contains("proxy-test");

            // A list of several megabytes streams through and arrives whole.
            String blob = "x".repeat(16 * 1024);
            for (int i = 0; i < 200; i++) {
                c.resource(cm(ns, "big-" + i, blob)).create();
            }
            var list = configMaps.list();
            assertThat(list.getItems()).hasSize(201);
            assertThat(list.getItems()).filteredOn(m -> m.getMetadata().getName().startsWith("big-"))
                    .allSatisfy(m -> assertThat(m.getData().get("v")).hasSize(blob.length()));

            assertThat(configMaps.withName("a").delete()).hasSize(1);
            assertThat(configMaps.withName("a").get()).isNull();

            List<RequestRecord> log = proxy.requests("crud");
            assertThat(log).allSatisfy(r -> {
                assertThat(r.forwarded()).isTrue();
                assertThat(r.faulted()).isFalse();
                assertThat(r.inFlight()).isFalse();
            });
            assertThat(log).extracting(RequestRecord::method).contains("POST", "GET", "PUT", "PATCH", "DELETE");
            assertThat(log).filteredOn(r -> r.method().equals("POST")).extracting(RequestRecord::status).containsOnly(201);
            assertThat(log).filteredOn(r -> r.method().equals("GET") && r.path().endsWith("/configmaps"))
                    .extracting(RequestRecord::status).containsExactly(200);
            assertThat(log).filteredOn(r -> r.path().endsWith("/configmaps/a") && r.method().equals("GET"))
                    .extracting(RequestRecord::status).contains(200, 404);
        }
    }

    @Test
    void anInformerRunsThroughTheProxyUnchanged(TestCluster cluster, KubernetesClient admin, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "informer")) {
            Recorder events = new Recorder();
            try (SharedIndexInformer<ConfigMap> informer = c.configMaps().inNamespace(ns.name()).inform(events)) {
                await().atMost(WAIT).until(informer::hasSynced);
                admin.resource(cm(ns, "x", "1")).create();
                admin.configMaps().inNamespace(ns.name()).withName("x").edit(m -> new ConfigMapBuilder(m).addToData("v", "2").build());
                admin.configMaps().inNamespace(ns.name()).withName("x").delete();
                await().atMost(WAIT).until(() -> events.seen.contains("DELETE x"));
                assertThat(events.order).containsSubsequence("ADD x", "UPDATE x", "DELETE x");
                // fabric8 watches over WebSocket by default; the upgrade passes through.
                assertThat(proxy.openWatches("informer")).isEqualTo(1);
                assertThat(proxy.requests("informer")).filteredOn(RequestRecord::watch).first()
                        .satisfies(r -> {
                            assertThat(r.status()).isEqualTo(101);
                            assertThat(r.inFlight()).isTrue();
                        });
            }
            await().atMost(WAIT).until(() -> proxy.openWatches("informer") == 0);
        }
    }

    @Test
    void statusFaultsAnswerWithRetryAfterAndAKubernetesStatus(TestCluster cluster, KubernetesClient admin,
            TestNamespace ns) throws Exception {
        try (FaultProxy proxy = FaultProxy.start(cluster)) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            URI uri = URI.create(proxy.url("raw") + "/api/v1/namespaces/" + ns.name() + "/configmaps");
            HttpRequest get = HttpRequest.newBuilder(uri).build();

            proxy.add(FaultRule.of(Fault.serviceUnavailable("7")).forIdentity("raw").times(1));
            proxy.add(FaultRule.of(Fault.tooManyRequests("soon")).forIdentity("raw").times(1));
            proxy.add(FaultRule.of(Fault.internalError()).forIdentity("raw").times(1));

            HttpResponse<String> first = http.send(get, HttpResponse.BodyHandlers.ofString());
            assertThat(first.statusCode()).isEqualTo(503);
            assertThat(first.headers().firstValue("Retry-After")).hasValue("7");
            assertThat(first.headers().firstValue("Content-Type")).hasValue("application/json");
            Status status = admin.getKubernetesSerialization().unmarshal(first.body(), Status.class);
            assertThat(status.getKind()).isEqualTo("Status");
            assertThat(status.getCode()).isEqualTo(503);
            assertThat(status.getReason()).isEqualTo("ServiceUnavailable");
            assertThat(status.getStatus()).isEqualTo("Failure");
            assertThat(status.getDetails().getRetryAfterSeconds()).isEqualTo(7);

            HttpResponse<String> second = http.send(get, HttpResponse.BodyHandlers.ofString());
            assertThat(second.statusCode()).isEqualTo(429);
            assertThat(second.headers().firstValue("Retry-After")).as("malformed values pass verbatim").hasValue("soon");
            assertThat(admin.getKubernetesSerialization().unmarshal(second.body(), Status.class).getReason())
                    .isEqualTo("TooManyRequests");

            assertThat(http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(500);
            assertThat(http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode()).as("every rule used up").isEqualTo(200);
            assertThat(proxy.rules()).allSatisfy(r -> assertThat(r.isActive()).isFalse());
            assertThat(proxy.requests("raw")).extracting(RequestRecord::status).containsExactly(503, 429, 500, 200);
            assertThat(proxy.requests("raw")).extracting(RequestRecord::connection).as("fault answers keep the connection")
                    .containsOnly(proxy.requests("raw").getFirst().connection());

            // The log answers "how soon after a 429 did the client come back?". It pins a fabric8 8.0.0
            // behaviour: its retry logs the Retry-After delay but schedules its own backoff (100 ms, 200 ms),
            // which is why Flotilla switches fabric8's retry off and honours Retry-After in its own guard.
            proxy.add(FaultRule.of(Fault.tooManyRequests("2")).forIdentity("retrier").forMethods("GET").times(2));
            try (KubernetesClient c = client(proxy, "retrier")) {
                assertThat(c.configMaps().inNamespace(ns.name()).list().getItems()).isEmpty();
            }
            List<RequestRecord> log = proxy.requests("retrier");
            assertThat(log).extracting(RequestRecord::status).containsExactly(429, 429, 200);
            assertThat(log).extracting(RequestRecord::forwarded).containsExactly(false, false, true);
            assertThat(RequestLog.minGapAfter(log, r -> r.status() == 429)).hasValueSatisfying(gap -> assertThat(gap)
                    .as("fabric8 8.0.0 ignores Retry-After: 2 when it retries (if this fails, fabric8 now honours it)")
                    .isLessThan(Duration.ofSeconds(2)));
        }
    }

    @Test
    void aResetGivesTheClientAConnectionErrorAndRemovingTheRuleRestoresService(TestCluster cluster, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "reset", FaultProxyTest::noRetries)) {
            var configMaps = c.configMaps().inNamespace(ns.name());
            configMaps.list(); // a pooled connection exists: the reset hits a reused one
            ActiveRule reset = proxy.add(FaultRule.of(Fault.reset()).forIdentity("reset"));
            assertThatThrownBy(configMaps::list).isInstanceOf(KubernetesClientException.class)
                    .hasRootCauseInstanceOf(java.net.SocketException.class).rootCause().hasMessageContaining("reset");
            assertThat(reset.hits()).isGreaterThanOrEqualTo(1);
            reset.remove();
            assertThat(configMaps.list().getItems()).isEmpty();
            assertThat(proxy.requests("reset")).filteredOn(RequestRecord::answeredByFault).first().satisfies(r -> {
                assertThat(r.faults()).containsExactly("reset");
                assertThat(r.status()).isEqualTo(-1);
            });
        }
    }

    @Test
    void aBlackHoleTimesRequestsOutUntilTheRuleIsRemoved(TestCluster cluster, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "hole", FaultProxyTest::noRetries)) {
            var configMaps = c.configMaps().inNamespace(ns.name());
            ActiveRule hole = proxy.add(FaultRule.of(Fault.blackHole()).forIdentity("hole").nonWatchesOnly());
            long t0 = System.nanoTime();
            assertThatThrownBy(configMaps::list).isInstanceOf(KubernetesClientException.class);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(took).isBetween(Duration.ofMillis(1_400), Duration.ofSeconds(10));
            assertThat(proxy.requests("hole")).singleElement().satisfies(r -> {
                assertThat(r.faults()).containsExactly("black-hole");
                assertThat(r.forwarded()).isFalse();
            });
            hole.remove();
            assertThat(configMaps.list().getItems()).isEmpty();
            await().atMost(WAIT).until(() -> proxy.requests("hole").stream().noneMatch(RequestRecord::inFlight));
            assertThat(proxy.requests("hole")).extracting(RequestRecord::forwarded).containsExactly(false, true);
        }
    }

    /**
     * On plain fabric8 over Vert.x 5, which reports a cut as an error. Over the JDK's client plain fabric8 8.0.0 hears a
     * cut as a close (1006) and relists when the watch was young and quiet; Flotilla's guarded client reports it as an
     * error on any client (resilience's {@code CutWatchesTest} runs this scenario on the JDK's client).
     */
    @Test
    void cuttingWatchesMakesAnInformerReconnectAndItSeesLaterChanges(TestCluster cluster, KubernetesClient admin,
            TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster);
                KubernetesClient c = new KubernetesClientBuilder().withConfig(proxy.clientConfig("cut"))
                        .withHttpClientFactory(new Vertx5HttpClientFactory()).build()) {
            Recorder events = new Recorder();
            try (SharedIndexInformer<ConfigMap> informer = c.configMaps().inNamespace(ns.name()).inform(events)) {
                await().atMost(WAIT).until(() -> informer.hasSynced() && proxy.openWatches("cut") == 1);
                assertThat(proxy.cutWatches("cut")).isEqualTo(1);
                await().atMost(WAIT).until(() -> watches(proxy, "cut").size() >= 2 && proxy.openWatches("cut") == 1);
                assertThat(watches(proxy, "cut").getFirst().faults()).containsExactly("watch-cut");
                admin.resource(cm(ns, "after-cut", "1")).create();
                await().atMost(WAIT).until(() -> events.seen.contains("ADD after-cut"));

                // A rule cuts every matching watch every period.
                int before = watches(proxy, "cut").size();
                ActiveRule every = proxy.add(FaultRule.of(Fault.cutWatchesEvery(Duration.ofMillis(700))).forIdentity("cut"));
                await().atMost(WAIT).until(() -> every.hits() >= 2 && watches(proxy, "cut").size() >= before + 2);
                every.remove();
                admin.resource(cm(ns, "after-periodic-cuts", "1")).create();
                await().atMost(WAIT).until(() -> events.seen.contains("ADD after-periodic-cuts"));
                assertThat(events.lists.get()).as("cut watches resume; no relist needed").isEqualTo(1);
            }
        }
    }

    @Test
    void injectedGoneMakesAnInformerRelistAndRecoverEveryObject(TestCluster cluster, KubernetesClient admin,
            TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "gone")) {
            Recorder events = new Recorder();
            try (SharedIndexInformer<ConfigMap> informer = c.configMaps().inNamespace(ns.name()).inform(events)) {
                await().atMost(WAIT).until(() -> informer.hasSynced() && proxy.openWatches("gone") == 1);
                assertThat(events.beforeLists.get()).isEqualTo(1);
                assertThat(events.lists.get()).isEqualTo(1);

                // Into the open stream...
                assertThat(proxy.injectGone("gone")).isEqualTo(1);
                for (int i = 0; i < 5; i++) {
                    admin.resource(cm(ns, "g" + i, "1")).create();
                }
                await().atMost(WAIT).until(() -> events.lists.get() >= 2);
                assertThat(events.beforeLists.get()).isGreaterThanOrEqualTo(2);
                await().atMost(WAIT).until(() -> informer.getStore().list().size() == 5);

                // ... and as the answer to the next watch request.
                int lists = events.lists.get();
                proxy.add(FaultRule.of(Fault.watchGone()).forIdentity("gone").times(1));
                proxy.cutWatches("gone");
                await().atMost(WAIT).until(() -> events.lists.get() > lists);
                admin.resource(cm(ns, "g-last", "1")).create();
                await().atMost(WAIT).until(() -> informer.getStore().list().size() == 6);
                assertThat(informer.getStore().listKeys()).contains(ns.name() + "/g-last");
            }
            List<RequestRecord> watches = watches(proxy, "gone");
            assertThat(watches.get(0).faults()).containsExactly("watch-gone");
            assertThat(watches).filteredOn(RequestRecord::answeredByFault).singleElement()
                    .satisfies(r -> assertThat(r.status()).isEqualTo(101));
        }
    }

    @Test
    void httpWatchesStreamAndTakeInjectedFaultsToo(TestCluster cluster, KubernetesClient admin, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster);
             KubernetesClient c = client(proxy, "http-watch", b -> b.withOnlyHttpWatches(true))) {
            Recorder events = new Recorder();
            try (SharedIndexInformer<ConfigMap> informer = c.configMaps().inNamespace(ns.name()).inform(events)) {
                await().atMost(WAIT).until(() -> informer.hasSynced() && proxy.openWatches("http-watch") == 1);
                assertThat(watches(proxy, "http-watch").getFirst().status()).as("a chunked HTTP watch").isEqualTo(200);
                admin.resource(cm(ns, "h1", "1")).create();
                await().atMost(WAIT).until(() -> events.seen.contains("ADD h1"));

                assertThat(proxy.injectGone("http-watch")).isEqualTo(1);
                await().atMost(WAIT).until(() -> events.lists.get() >= 2);
                proxy.add(FaultRule.of(Fault.watchGone()).forIdentity("http-watch").times(1));
                proxy.cutWatches("http-watch");
                await().atMost(WAIT).until(() -> events.lists.get() >= 3 && proxy.openWatches("http-watch") == 1);
                admin.resource(cm(ns, "h2", "1")).create();
                await().atMost(WAIT).until(() -> events.seen.contains("ADD h2"));
            }
            assertThat(watches(proxy, "http-watch")).filteredOn(RequestRecord::answeredByFault).singleElement()
                    .satisfies(r -> assertThat(r.status()).isEqualTo(200));
        }
    }

    @Test
    void rulesTargetOneIdentityAndTheLogRecordsWhatHappened(TestCluster cluster, TestNamespace ns) {
        Instant testStart = Instant.now();
        long nanoStart = System.nanoTime();
        try (FaultProxy proxy = FaultProxy.start(cluster);
             KubernetesClient a = client(proxy, "replica-a", FaultProxyTest::noRetries);
             KubernetesClient b = client(proxy, "replica-b", FaultProxyTest::noRetries)) {
            proxy.add(FaultRule.of(Fault.serviceUnavailable("1")).forIdentity("replica-a")
                    .forPath("/api/v1/namespaces/[^/]+/configmaps"));
            proxy.add(FaultRule.of(Fault.delay(Duration.ofMillis(300))).forIdentity("replica-b").forMethods("GET"));

            assertThatThrownBy(() -> a.configMaps().inNamespace(ns.name()).list())
                    .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(503));
            assertThat(a.secrets().inNamespace(ns.name()).list().getItems()).as("other paths are spared").isEmpty();
            assertThat(b.configMaps().inNamespace(ns.name()).list().getItems()).isEmpty();
            b.resource(cm(ns, "from-b", "1")).create();

            List<RequestRecord> aLog = proxy.requests("replica-a");
            assertThat(aLog).hasSize(2);
            assertThat(aLog.get(0)).satisfies(r -> {
                assertThat(r.answeredByFault()).isTrue();
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.faults()).containsExactly("status 503 retry-after=1");
            });
            assertThat(aLog.get(1).forwarded()).isTrue();
            assertThat(proxy.log().forwarded("replica-a")).hasSize(1);
            assertThat(proxy.log().answeredByFault("replica-a")).hasSize(1);

            List<RequestRecord> bLog = proxy.requests("replica-b");
            assertThat(bLog).extracting(RequestRecord::method).containsExactly("GET", "POST");
            assertThat(bLog.get(0).faults()).containsExactly("delay 300ms");
            assertThat(bLog.get(0).forwarded()).isTrue();
            assertThat(bLog.get(0).duration()).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            assertThat(bLog.get(1).faults()).as("the delay is for GETs only").isEmpty();

            List<RequestRecord> all = proxy.requests();
            assertThat(all).extracting(RequestRecord::sequence).isSorted().doesNotHaveDuplicates();
            assertThat(all).extracting(RequestRecord::startNanos).isSorted();
            Instant now = Instant.now();
            assertThat(all).allSatisfy(r -> {
                assertThat(r.startNanos()).isGreaterThanOrEqualTo(nanoStart);
                assertThat(r.endNanos()).isGreaterThanOrEqualTo(r.startNanos());
                assertThat(r.startTime()).isBetween(testStart, now);
                assertThat(r.endTime()).isBetween(r.startTime(), now);
            });
            assertThat(RequestLog.maxInAnyWindow(proxy.log().forwarded("replica-b"), Duration.ofSeconds(10))).isEqualTo(2);
        }
    }

    @Test
    void impersonationHeadersPassThroughToTheServer(TestCluster cluster, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster);
             KubernetesClient alice = client(proxy, "alice", b -> noRetries(b).withImpersonateUsername("alice"))) {
            assertThatThrownBy(() -> alice.configMaps().inNamespace(ns.name()).list())
                    .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                        assertThat(e.getCode()).isEqualTo(403);
                        assertThat(e.getMessage()).contains("\"alice\"");
                    });
            assertThat(proxy.requests("alice")).singleElement().satisfies(r -> {
                assertThat(r.forwarded()).isTrue();
                assertThat(r.status()).isEqualTo(403);
            });
        }
    }

    @Test
    void refusedConnectionsFailNewClientsOnly(TestCluster cluster, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster);
             KubernetesClient connected = client(proxy, "refused", FaultProxyTest::noRetries)) {
            connected.configMaps().inNamespace(ns.name()).list();
            try (ActiveRule refuse = proxy.add(FaultRule.of(Fault.refuseConnections()).forIdentity("refused"));
                 KubernetesClient fresh = client(proxy, "refused", FaultProxyTest::noRetries)) {
                assertThatThrownBy(() -> fresh.configMaps().inNamespace(ns.name()).list())
                        .isInstanceOf(KubernetesClientException.class);
                assertThat(refuse.hits()).isGreaterThanOrEqualTo(1);
                assertThat(connected.configMaps().inNamespace(ns.name()).list().getItems())
                        .as("an open keep-alive connection still works").isEmpty();
            }
            assertThat(proxy.requests("refused")).filteredOn(r -> r.method().equals("-")).isNotEmpty()
                    .allSatisfy(r -> assertThat(r.faults()).containsExactly("refuse-connection"));
        }
    }

    private static List<RequestRecord> watches(FaultProxy proxy, String identity) {
        return proxy.requests(identity).stream().filter(RequestRecord::watch).toList();
    }

    /** Records informer callbacks by kind and name. */
    private static final class Recorder implements ResourceEventHandler<ConfigMap> {
        final Set<String> seen = ConcurrentHashMap.newKeySet();
        final List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger beforeLists = new AtomicInteger();
        final AtomicInteger lists = new AtomicInteger();

        private void add(String e) {
            seen.add(e);
            order.add(e);
        }

        @Override
        public void onBeforeList(String resourceVersion) {
            beforeLists.incrementAndGet();
        }

        @Override
        public void onList(String resourceVersion, boolean complete) {
            lists.incrementAndGet();
        }

        @Override
        public void onAdd(ConfigMap obj) {
            add("ADD " + obj.getMetadata().getName());
        }

        @Override
        public void onUpdate(ConfigMap oldObj, ConfigMap newObj) {
            add("UPDATE " + newObj.getMetadata().getName());
        }

        @Override
        public void onDelete(ConfigMap obj, boolean deletedFinalStateUnknown) {
            add("DELETE " + obj.getMetadata().getName());
        }
    }
}
