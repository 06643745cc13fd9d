package dev.flotilla.examples.mirror;

import static dev.flotilla.examples.mirror.ConfigMapMirror.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Request;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.core.reconcile.TerminalException;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The reconciler against fabric8's mock server in expectations mode: every request it makes is
 * recorded, so "writes nothing" is checked as "sent no request at all".
 */
class MirrorReconcilerTest {

    private KubernetesMockServer server;
    private KubernetesClient client;
    private final MapCache sources = new MapCache();
    private final MapCache mirrors = new MapCache();
    private Counter applies;
    private MirrorReconciler reconciler;

    @BeforeEach
    void setUp() {
        server = new KubernetesMockServer(false);
        server.init();
        // No fabric8 retries: every reconcile's requests are exactly what the test counts.
        try (KubernetesClient base = server.createClient()) {
            client = new KubernetesClientBuilder()
                    .withConfig(new ConfigBuilder(base.getConfiguration()).withRequestRetryBackoffLimit(0).build()).build();
        }
        applies = Counter.builder("applies").register(new SimpleMeterRegistry());
        reconciler = new MirrorReconciler(client, mirrors, null, applies);
    }

    @AfterEach
    void tearDown() {
        client.close();
        server.destroy();
    }

    static ConfigMap source(String name, String resourceVersion, Map<String, String> data) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace("shop")
                .withUid("uid-" + name).withResourceVersion(resourceVersion)
                .withLabels(Map.of(SOURCE_LABEL, SOURCE_VALUE, "team", "web")).endMetadata()
                .withData(data).build();
    }

    /** What the API server would hold after an apply of the desired mirror. */
    static ConfigMap appliedMirror(ConfigMap source) {
        ConfigMap m = desiredMirror(source);
        m.getMetadata().setUid("uid-mirror");
        m.getMetadata().setResourceVersion("900");
        return m;
    }

    private Result reconcile(String name) throws Exception {
        return reconciler.reconcile(new Request<>(ObjectKey.of("shop", name), sources));
    }

    @Test
    void writesNothingWhenTheMirrorIsUpToDate() throws Exception {
        ConfigMap src = source("settings", "41", Map.of("a", "1"));
        sources.put(src);
        mirrors.put(appliedMirror(src));

        assertThat(reconcile("settings")).isEqualTo(Result.done());
        assertThat(server.getRequestCount()).as("requests sent").isZero();
        assertThat(applies.count()).isZero();
    }

    @Test
    void appliesWhenTheSourceMovedOn() throws Exception {
        ConfigMap old = source("settings", "41", Map.of("a", "1"));
        ConfigMap now = source("settings", "42", Map.of("a", "2"));
        sources.put(now);
        mirrors.put(appliedMirror(old));
        server.expect().patch().withPath("/api/v1/namespaces/shop/configmaps/settings-mirror?fieldManager=flotilla-mirror&force=true")
                .andReturn(200, appliedMirror(now)).once();

        assertThat(reconcile("settings")).isEqualTo(Result.done());

        assertThat(server.getRequestCount()).isEqualTo(1);
        RecordedRequest patch = server.takeRequest(1, TimeUnit.SECONDS);
        assertThat(patch.getHeader("Content-Type")).startsWith("application/apply-patch+yaml");
        ConfigMap sent = new KubernetesSerialization().unmarshal(patch.getBody().readUtf8(), ConfigMap.class);
        assertThat(sent.getData()).isEqualTo(Map.of("a", "2"));
        assertThat(sent.getMetadata().getAnnotations()).containsEntry(OBSERVED_RESOURCE_VERSION, "42");
        assertThat(sent.getMetadata().getLabels()).isEqualTo(Map.of(ROLE_LABEL, ROLE_COPY));
        assertThat(sent.getMetadata().getOwnerReferences()).singleElement().satisfies(ref -> {
            assertThat(ref.getUid()).isEqualTo("uid-settings");
            assertThat(ref.getController()).isTrue();
            assertThat(ref.getKind()).isEqualTo("ConfigMap");
        });
        assertThat(sent.getMetadata().getResourceVersion()).as("an apply states intent, not a precondition").isNull();
        assertThat(applies.count()).isEqualTo(1);
    }

    @Test
    void createsAMissingMirror() throws Exception {
        ConfigMap src = source("settings", "7", Map.of("a", "1"));
        sources.put(src);
        server.expect().patch().withPath("/api/v1/namespaces/shop/configmaps/settings-mirror?fieldManager=flotilla-mirror&force=true")
                .andReturn(201, appliedMirror(src)).once();
        assertThat(reconcile("settings")).isEqualTo(Result.done());
        assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void aNameTooLongForAMirrorIsTerminal() throws Exception {
        String name = "n".repeat(250); // + "-mirror" = 257 > 253
        sources.put(source(name, "1", Map.of("a", "1")));
        assertThatThrownBy(() -> reconcile(name))
                .isInstanceOf(TerminalException.class)
                .hasMessageContaining("257 characters").hasMessageContaining("253");
        assertThat(server.getRequestCount()).isZero();

        String longest = "n".repeat(MAX_NAME_LENGTH - MIRROR_SUFFIX.length());
        ConfigMap ok = source(longest, "1", Map.of("a", "1"));
        sources.put(ok);
        mirrors.put(appliedMirror(ok));
        assertThat(reconcile(longest)).isEqualTo(Result.done());
    }

    @Test
    void aDeletedSourceNeedsNothing() throws Exception {
        assertThat(reconcile("gone")).isEqualTo(Result.done());
        assertThat(server.getRequestCount()).isZero();
    }

    @Test
    void mirrorsAreNeverMirrored() throws Exception {
        ConfigMap src = source("settings", "1", Map.of("a", "1"));
        ConfigMap mirrorLabelledAsSource = new ConfigMapBuilder(appliedMirror(src)).editMetadata()
                .addToLabels(SOURCE_LABEL, SOURCE_VALUE).endMetadata().build();
        sources.put(mirrorLabelledAsSource);
        assertThat(reconcile("settings-mirror")).isEqualTo(Result.done());
        assertThat(server.getRequestCount()).isZero();
    }

    @Test
    void anInvalidApplyIsTerminal() {
        sources.put(source("settings", "1", Map.of("a", "1")));
        server.expect().patch().withPath("/api/v1/namespaces/shop/configmaps/settings-mirror?fieldManager=flotilla-mirror&force=true")
                .andReturn(422, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":422,"
                        + "\"reason\":\"Invalid\",\"message\":\"Only one reference can have Controller set to true\"}").once();
        assertThatThrownBy(() -> reconcile("settings")).isInstanceOf(TerminalException.class)
                .hasMessageContaining("shop/settings-mirror").hasMessageContaining("Only one reference");
    }

    @Test
    void aServerErrorIsRetried() {
        sources.put(source("settings", "1", Map.of("a", "1")));
        server.expect().patch().withPath("/api/v1/namespaces/shop/configmaps/settings-mirror?fieldManager=flotilla-mirror&force=true")
                .andReturn(500, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":500,\"message\":\"etcd down\"}")
                .always();
        assertThatThrownBy(() -> reconcile("settings")).isNotInstanceOf(TerminalException.class)
                .hasMessageContaining("etcd down");
        assertThat(server.getRequestCount()).isEqualTo(1);
    }
}
