package dev.flotilla.testing.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.PodTemplateBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The network faults a Chaos Mesh NetworkChaos/HTTPChaos mapping uses (jittered delay, loss,
 * duplication, bandwidth, replaced responses, rule probability), through the proxy to a real API
 * server.
 */
@WithCluster
class FaultProxyNetworkFaultsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Pattern DRAWN_DELAY = Pattern.compile("delay (\\d+)ms \\(of delay 100ms jitter 80ms\\)");
    private static final Pattern RETRANSMISSIONS = Pattern.compile("loss: (\\d+) retransmissions? \\+(\\d+)ms(.*)");

    private static KubernetesClient client(FaultProxy proxy, String identity, UnaryOperator<ConfigBuilder> tweak) {
        return new KubernetesClientBuilder()
                .withConfig(tweak.apply(new ConfigBuilder(proxy.clientConfig(identity)).withRequestRetryBackoffLimit(0))
                        .build())
                .build();
    }

    private static KubernetesClient client(FaultProxy proxy, String identity) {
        return client(proxy, identity, b -> b.withRequestTimeout(20_000));
    }

    private static ConfigMap cm(TestNamespace ns, String name, String value) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).endMetadata()
                .withData(Map.of("v", value)).build();
    }

    private static Duration time(Runnable action) {
        long t0 = System.nanoTime();
        action.run();
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    // ------------------------------------------------------------------ jittered delay

    /** The delays drawn for one identity's requests, in order, from the request log. */
    private static List<Long> drawnDelays(FaultProxy proxy, String identity) {
        List<Long> out = new ArrayList<>();
        for (RequestRecord r : proxy.requests(identity)) {
            for (String f : r.faults()) {
                Matcher m = DRAWN_DELAY.matcher(f);
                if (m.matches()) {
                    long drawn = Long.parseLong(m.group(1));
                    assertThat(r.duration()).as("the request waited its drawn delay").isGreaterThanOrEqualTo(
                            Duration.ofMillis(drawn));
                    out.add(drawn);
                }
            }
        }
        return out;
    }

    @Test
    void jitteredDelaysStayWithinTheirBoundsSpreadAndRepeatWithTheSeed(TestCluster cluster, TestNamespace ns) {
        Fault.JitteredDelay jitter = Fault.delay(Duration.ofMillis(100), Duration.ofMillis(80));
        try (FaultProxy proxy = FaultProxy.start(cluster)) {
            proxy.add(FaultRule.of(jitter).forIdentity("jitter-a").withSeed(11));
            proxy.add(FaultRule.of(jitter).forIdentity("jitter-b").withSeed(11));
            proxy.add(FaultRule.of(jitter).forIdentity("jitter-c").withSeed(12));
            for (String identity : List.of("jitter-a", "jitter-b", "jitter-c")) {
                try (KubernetesClient c = client(proxy, identity)) {
                    for (int i = 0; i < 10; i++) {
                        c.configMaps().inNamespace(ns.name()).list();
                    }
                }
            }
            List<Long> a = drawnDelays(proxy, "jitter-a");
            assertThat(a).hasSize(10).allSatisfy(d -> assertThat(d).isBetween(20L, 180L));
            assertThat(a.stream().mapToLong(Long::longValue).max().orElseThrow()
                    - a.stream().mapToLong(Long::longValue).min().orElseThrow())
                    .as("jitter spreads the delays: %s", a).isGreaterThanOrEqualTo(60L);
            assertThat(drawnDelays(proxy, "jitter-b")).as("the same seed, the same delays").isEqualTo(a);
            assertThat(drawnDelays(proxy, "jitter-c")).as("another seed, other delays").hasSize(10).isNotEqualTo(a);
        }
    }

    // ------------------------------------------------------------------ loss

    @Test
    void lossDelaysRequestsByTcpRetransmissionTimeoutsAndNeverFailsThem(TestCluster cluster, TestNamespace ns) {
        try (FaultProxy proxy = FaultProxy.start(cluster)) {
            ActiveRule loss = proxy.add(FaultRule.of(Fault.loss(30)).forIdentity("lossy").withSeed(3));
            try (KubernetesClient c = client(proxy, "lossy")) {
                for (int i = 0; i < 20; i++) {
                    assertThat(c.configMaps().inNamespace(ns.name()).list().getItems()).isEmpty();
                }
            }
            assertThat(loss.hits()).isEqualTo(20);
            List<RequestRecord> log = proxy.requests("lossy");
            assertThat(log).hasSize(20).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
            int delayed = 0;
            int twice = 0;
            for (RequestRecord r : log) {
                for (String f : r.faults()) {
                    Matcher m = RETRANSMISSIONS.matcher(f);
                    assertThat(m.matches()).as(f).isTrue();
                    int k = Integer.parseInt(m.group(1));
                    Duration late = Duration.ofMillis(Long.parseLong(m.group(2)));
                    assertThat(late).as("RTOs of 200 ms doubling").isEqualTo(Fault.Loss.delayAfter(k));
                    assertThat(r.duration()).isBetween(late, late.plusSeconds(1));
                    delayed++;
                    twice += k >= 2 ? 1 : 0;
                }
            }
            // 20 trials at 30 %: about 6 delayed, about 2 of them more than once (p^2 = 9 %).
            assertThat(delayed).as("requests that lost a transmission").isBetween(2, 12);
            assertThat(twice).isLessThanOrEqualTo(delayed / 2 + 1);
        }
    }

    @Test
    void lossHoldsWatchEventsAndTheNextRetransmissionAfterRemovalDeliversThem(TestCluster cluster,
            KubernetesClient admin, TestNamespace ns) throws Exception {
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "lossy-watch")) {
            Map<String, Long> seenAt = new ConcurrentHashMap<>();
            try (Watch watch = c.configMaps().inNamespace(ns.name()).watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, ConfigMap resource) {
                    seenAt.putIfAbsent(resource.getMetadata().getName(), System.nanoTime());
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            })) {
                await().atMost(WAIT).until(() -> proxy.openWatches("lossy-watch") == 1);
                admin.resource(cm(ns, "before", "1")).create();
                await().atMost(WAIT).until(() -> seenAt.containsKey("before"));

                // Every transmission is lost: the open stream's next event is held.
                ActiveRule loss = proxy.add(FaultRule.of(Fault.loss(100)).forIdentity("lossy-watch").watchesOnly());
                long created = System.nanoTime();
                admin.resource(cm(ns, "held", "1")).create();
                Thread.sleep(1_000);
                assertThat(seenAt).as("held while every retransmission is lost").doesNotContainKey("held");
                loss.remove();
                long removed = System.nanoTime();
                await().atMost(WAIT).until(() -> seenAt.containsKey("held"));
                // Retransmissions at 200, 600, 1400 ms after the event: the one at 1400 ms gets through.
                assertThat(Duration.ofNanos(seenAt.get("held") - created)).isGreaterThanOrEqualTo(Duration.ofMillis(1_300));
                assertThat(Duration.ofNanos(seenAt.get("held") - removed)).isLessThan(Duration.ofMillis(1_200));
                assertThat(proxy.requests("lossy-watch")).filteredOn(RequestRecord::watch).singleElement()
                        .satisfies(r -> assertThat(r.faults()).containsExactly("loss: 3 retransmissions +1400ms (watch event)"));
            }
        }
    }

    // ------------------------------------------------------------------ duplicate

    /** The API server's own count of requests for a resource and verb, from its /metrics. */
    private static long serverCount(KubernetesClient admin, String resource, String verb) {
        String metrics = admin.raw(admin.getConfiguration().getMasterUrl().replaceAll("/$", "") + "/metrics");
        long n = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("apiserver_request_total{") && line.contains("resource=\"" + resource + "\"")
                    && line.contains("verb=\"" + verb + "\"")) {
                n += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return n;
    }

    private static PodTemplate template(TestNamespace ns, String name) {
        return new PodTemplateBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).endMetadata()
                .withNewTemplate().withNewSpec().addNewContainer().withName("c").withImage("busybox").endContainer()
                .endSpec().endTemplate().build();
    }

    @Test
    void duplicationSendsSafeRequestsTwiceAndWritesOnce(TestCluster cluster, KubernetesClient admin, TestNamespace ns)
            throws Exception {
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "dup")) {
            var templates = c.resources(PodTemplate.class).inNamespace(ns.name());
            long lists = serverCount(admin, "podtemplates", "LIST");
            long gets = serverCount(admin, "podtemplates", "GET");
            long creates = serverCount(admin, "podtemplates", "POST");
            ActiveRule dup = proxy.add(FaultRule.of(Fault.duplicate(100)).forIdentity("dup"));
            for (int i = 0; i < 3; i++) {
                templates.resource(template(ns, "t" + i)).create();
                assertThat(templates.list().getItems()).hasSize(i + 1);
                assertThat(templates.withName("t" + i).get()).isNotNull();
            }
            // The server saw each list and get twice, each create once (its own counters).
            await().atMost(WAIT).until(() -> serverCount(admin, "podtemplates", "LIST") - lists >= 6
                    && serverCount(admin, "podtemplates", "GET") - gets >= 6);
            Thread.sleep(300);
            assertThat(serverCount(admin, "podtemplates", "LIST") - lists).isEqualTo(6);
            assertThat(serverCount(admin, "podtemplates", "GET") - gets).isEqualTo(6);
            assertThat(serverCount(admin, "podtemplates", "POST") - creates).as("writes are never duplicated").isEqualTo(3);
            assertThat(dup.hits()).as("the rule matches safe requests only").isEqualTo(6);

            List<RequestRecord> copies = proxy.requests("dup").stream()
                    .filter(r -> r.faults().stream().anyMatch(f -> f.startsWith("duplicate of #"))).toList();
            assertThat(copies).hasSize(6).allSatisfy(r -> {
                assertThat(r.method()).isEqualTo("GET");
                assertThat(r.forwarded()).isTrue();
                assertThat(r.status()).isEqualTo(200);
            });
            assertThat(proxy.log().forwarded("dup")).hasSize(3 + 6 + 6);
        }
    }

    // ------------------------------------------------------------------ bandwidth

    @Test
    void bandwidthThrottlesResponsesUploadsAndOpenWatchesOfOneIdentity(TestCluster cluster, KubernetesClient admin,
            TestNamespace ns) {
        String blob = "x".repeat(100_000);
        for (int i = 0; i < 3; i++) {
            admin.resource(cm(ns, "big-" + i, blob)).create();
        }
        try (FaultProxy proxy = FaultProxy.start(cluster);
             KubernetesClient narrow = client(proxy, "narrow");
             KubernetesClient wide = client(proxy, "wide");
             KubernetesClient watcher = client(proxy, "narrow-watch")) {
            proxy.add(FaultRule.of(Fault.bandwidth(100_000, 16_384)).forIdentity("narrow"));

            // ~300 kB down at 100 kB/s, the first 16 kB from a full bucket.
            Duration list = time(() -> assertThat(narrow.configMaps().inNamespace(ns.name()).list().getItems()).hasSize(3));
            assertThat(list).isBetween(Duration.ofMillis(2_700), Duration.ofMillis(4_500));
            Duration spared = time(() -> assertThat(wide.configMaps().inNamespace(ns.name()).list().getItems()).hasSize(3));
            assertThat(spared).as("another identity is not throttled").isLessThan(Duration.ofMillis(1_000));

            // 100 kB up, then the server's 100 kB answer down: both directions are throttled.
            Duration create = time(() -> narrow.resource(cm(ns, "uploaded", blob)).create());
            assertThat(create).isBetween(Duration.ofMillis(1_500), Duration.ofMillis(3_500));

            // A watch open before its rule is throttled from then on: 2 x 100 kB of events.
            Map<String, Long> seenAt = new ConcurrentHashMap<>();
            try (Watch watch = watcher.configMaps().inNamespace(ns.name()).withLabel("batch", "w").watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, ConfigMap resource) {
                    seenAt.putIfAbsent(resource.getMetadata().getName(), System.nanoTime());
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            })) {
                await().atMost(WAIT).until(() -> proxy.openWatches("narrow-watch") == 1);
                proxy.add(FaultRule.of(Fault.bandwidth(100_000, 16_384)).forIdentity("narrow-watch"));
                long t0 = System.nanoTime();
                for (int i = 0; i < 2; i++) {
                    admin.resource(new ConfigMapBuilder(cm(ns, "w-" + i, blob)).editMetadata().addToLabels("batch", "w")
                            .endMetadata().build()).create();
                }
                await().atMost(WAIT).until(() -> seenAt.size() == 2);
                Duration events = Duration.ofNanos(seenAt.values().stream().mapToLong(Long::longValue).max().orElseThrow() - t0);
                assertThat(events).isBetween(Duration.ofMillis(1_600), Duration.ofMillis(4_000));
            }
            assertThat(proxy.requests("narrow-watch")).filteredOn(RequestRecord::watch).singleElement()
                    .satisfies(r -> assertThat(r.faults()).containsExactly("bandwidth 100000B/s buffer=16384B"));
            assertThat(proxy.requests("wide")).allSatisfy(r -> assertThat(r.faults()).isEmpty());
        }
    }

    // ------------------------------------------------------------------ replaced responses

    @Test
    void replacedResponsesReachTheClientAfterTheServerAnswered(TestCluster cluster, KubernetesClient admin,
            TestNamespace ns) throws Exception {
        admin.resource(cm(ns, "real", "1")).create();
        String status = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                + "\"message\":\"replaced by chaos\",\"reason\":\"ServiceUnavailable\",\"code\":503}";
        try (FaultProxy proxy = FaultProxy.start(cluster); KubernetesClient c = client(proxy, "replaced")) {
            proxy.add(FaultRule.of(Fault.replaceResponse(503, status)).forIdentity("replaced").forMethods("GET")
                    .forPath("/api/v1/namespaces/[^/]+/configmaps").times(1));
            assertThatThrownBy(() -> c.configMaps().inNamespace(ns.name()).list())
                    .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                        assertThat(e.getCode()).isEqualTo(503);
                        assertThat(e.getStatus().getMessage()).isEqualTo("replaced by chaos");
                    });
            assertThat(proxy.requests("replaced")).singleElement().satisfies(r -> {
                assertThat(r.forwarded()).as("the server answered first").isTrue();
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.faults()).containsExactly("replace code=503 body=" + status.length() + "B");
            });
            assertThat(c.configMaps().inNamespace(ns.name()).list().getItems()).as("used up").hasSize(1);

            // A new code keeps the server's body; the keep-alive connection stays usable.
            proxy.add(FaultRule.of(Fault.replaceCode(500)).forIdentity("replaced").forPath(".*/configmaps/real").times(1));
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            URI real = URI.create(proxy.url("replaced") + "/api/v1/namespaces/" + ns.name() + "/configmaps/real");
            HttpResponse<String> replaced = http.send(HttpRequest.newBuilder(real).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(replaced.statusCode()).isEqualTo(500);
            assertThat(replaced.body()).contains("\"name\":\"real\"");
            assertThat(http.send(HttpRequest.newBuilder(real).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);

            // Watches are never replaced.
            proxy.add(FaultRule.of(Fault.replaceCode(500)).forIdentity("replaced"));
            Map<String, Boolean> seen = new ConcurrentHashMap<>();
            try (Watch w = c.configMaps().inNamespace(ns.name()).watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, ConfigMap resource) {
                    seen.put(resource.getMetadata().getName(), true);
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            })) {
                await().atMost(WAIT).until(() -> seen.containsKey("real"));
            }
        }
    }

    // ------------------------------------------------------------------ probability

    private static List<Integer> statuses(HttpClient http, FaultProxy proxy, String identity, TestNamespace ns, int n)
            throws Exception {
        URI uri = URI.create(proxy.url(identity) + "/api/v1/namespaces/" + ns.name() + "/configmaps");
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        }
        return out;
    }

    @Test
    void aRuleWithAProbabilityAppliesToASeededShareOfRequests(TestCluster cluster, TestNamespace ns) throws Exception {
        try (FaultProxy proxy = FaultProxy.start(cluster)) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            FaultRule coin = FaultRule.of(Fault.serviceUnavailable(null)).withProbability(30).withSeed(5);
            ActiveRule a = proxy.add(coin.forIdentity("coin-a"));
            proxy.add(coin.forIdentity("coin-b"));
            proxy.add(coin.forIdentity("coin-c").withSeed(6));
            List<Integer> first = statuses(http, proxy, "coin-a", ns, 40);
            long failed = first.stream().filter(s -> s == 503).count();
            assertThat(failed).as("about 30 %% of 40: %s", first).isBetween(5L, 20L);
            assertThat(first).containsOnly(200, 503);
            assertThat(a.hits()).isEqualTo(failed);
            assertThat(statuses(http, proxy, "coin-b", ns, 40)).as("the same seed, the same requests").isEqualTo(first);
            assertThat(statuses(http, proxy, "coin-c", ns, 40)).as("another seed").isNotEqualTo(first);

            // Requests the draw spares do not count against times.
            ActiveRule limited = proxy.add(FaultRule.of(Fault.serviceUnavailable(null)).forIdentity("coin-d")
                    .withProbability(50).times(3));
            assertThat(statuses(http, proxy, "coin-d", ns, 30).stream().filter(s -> s == 503).count()).isEqualTo(3);
            assertThat(limited.hits()).isEqualTo(3);
        }
    }
}
