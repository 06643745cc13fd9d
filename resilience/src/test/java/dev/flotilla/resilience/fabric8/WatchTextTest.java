package dev.flotilla.resilience.fabric8;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.testing.fault.FaultProxy;
import dev.flotilla.testing.fault.RequestRecord;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Text that is not ASCII reaches a guarded informer over its HTTP watch exactly, with no relist, judged from the
 * informer's cache and the fault proxy's request log. fabric8 8.0.0 decodes each buffer of an HTTP watch on its own
 * and padded or split multi-byte characters ({@link AsciiJsonStream}); with the re-encoding taken out of
 * {@link GuardedHttpClient} this test failed at the second value: the {@code \u0000} left behind "café" made the
 * next event unparseable, and the watch failed ("Unexpected exception processing watch event"; fabric8's default
 * handler stops the informer, Flotilla's relist).
 */
@WithCluster
class WatchTextTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void accentsEmojiAndLongMultiByteValuesArriveExactlyWithoutARelist(TestCluster cluster, TestNamespace ns) {
        List<String> values = List.of("café", "日本語のテキスト ☕", "emoji 😀🚀 and \"quotes\" \\ too",
                "é".repeat(12_000) + "€".repeat(3_000) + "😀".repeat(1_000)); // 37 KB of UTF-8: split across the client's buffers
        try (FaultProxy proxy = FaultProxy.start(cluster);
                KubernetesClient client = GuardedClients.newClient(proxy.clientConfig("text"),
                        RequestGuard.create(GuardConfig.defaults(), new SimpleMeterRegistry()), new JdkHttpClientFactory())) {
            cluster.client().resource(new ConfigMapBuilder().withNewMetadata().withName("text").withNamespace(ns.name())
                    .endMetadata().withData(Map.of("v", "plain")).build()).create();
            try (SharedIndexInformer<ConfigMap> informer = client.configMaps().inNamespace(ns.name()).inform()) {
                await().atMost(WAIT).until(() -> informer.hasSynced() && proxy.openWatches("text") == 1);
                for (String value : values) {
                    cluster.client().configMaps().inNamespace(ns.name()).withName("text")
                            .edit(c -> new ConfigMapBuilder(c).withData(Map.of("v", value)).build());
                    await("the cache holds the value of " + value.length() + " characters").atMost(WAIT)
                            .until(() -> value.equals(cached(informer, ns)));
                }
            }
            List<RequestRecord> requests = proxy.requests("text");
            assertThat(requests).filteredOn(r -> !r.watch() && r.method().equals("GET") && r.path().endsWith("/configmaps"))
                    .as("the informer's one LIST: every event parsed").hasSize(1);
            assertThat(requests).filteredOn(RequestRecord::watch).as("one watch, over HTTP").hasSize(1)
                    .allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
        }
    }

    private static String cached(SharedIndexInformer<ConfigMap> informer, TestNamespace ns) {
        ConfigMap c = informer.getStore().getByKey(ns.name() + "/text");
        return c == null || c.getData() == null ? null : c.getData().get("v");
    }
}
