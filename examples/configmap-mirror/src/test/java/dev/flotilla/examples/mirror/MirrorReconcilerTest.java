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
    private Counter writes;
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
        writes = Counter.builder("writes").register(new SimpleMeterRegistry());
        reconciler = new MirrorReconciler(client, mirrors, null, writes);
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

    /** What the API server would hold after creating the desired mirror. */
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
        assertThat(writes.count()).isZero();
    }

    private static final String COLLECTION = "/api/v1/namespaces/shop/configmaps";
    private static final String MIRROR_PATH = COLLECTION + "/settings-mirror";
    private static final String SOURCE_PATH = COLLECTION + "/settings";

    private ConfigMap sent(RecordedRequest request) {
        return new KubernetesSerialization().unmarshal(request.getBody().readUtf8(), ConfigMap.class);
    }

    private RecordedRequest take() throws InterruptedException {
        return server.takeRequest(1, TimeUnit.SECONDS);
    }

    static ConfigMap foreignMirror() {
        return new ConfigMapBuilder().withNewMetadata().withName("settings-mirror").withNamespace("shop")
                .withUid("uid-foreign").withResourceVersion("55").withLabels(Map.of("app", "theirs")).endMetadata()
                .withData(Map.of("theirs", "x")).build();
    }

    @Test
    void updatesItsOwnMirrorOnTheVersionItRead() throws Exception {
        ConfigMap old = source("settings", "41", Map.of("a", "1", "gone", "x"));
        ConfigMap now = source("settings", "42", Map.of("a", "2"));
        sources.put(now);
        ConfigMap cached = new ConfigMapBuilder(appliedMirror(old)).editMetadata()
                .addToLabels("added-by", "someone").addToAnnotations("note", "kept").endMetadata().build();
        mirrors.put(cached);
        server.expect().put().withPath(MIRROR_PATH).andReturn(200, appliedMirror(now)).once();

        assertThat(reconcile("settings")).isEqualTo(Result.done());

        assertThat(server.getRequestCount()).isEqualTo(1);
        RecordedRequest put = take();
        assertThat(put.getMethod()).isEqualTo("PUT");
        ConfigMap body = sent(put);
        assertThat(body.getData()).as("data replaced, a removed key gone").isEqualTo(Map.of("a", "2"));
        assertThat(body.getMetadata().getResourceVersion()).as("the precondition: the version the decision was made on")
                .isEqualTo("900");
        assertThat(body.getMetadata().getAnnotations()).containsEntry(OBSERVED_RESOURCE_VERSION, "42").containsEntry("note", "kept");
        assertThat(body.getMetadata().getLabels()).containsEntry(ROLE_LABEL, ROLE_COPY).containsEntry("added-by", "someone");
        assertThat(body.getMetadata().getOwnerReferences()).singleElement().satisfies(ref -> {
            assertThat(ref.getUid()).isEqualTo("uid-settings");
            assertThat(ref.getController()).isTrue();
        });
        assertThat(writes.count()).isEqualTo(1);
    }

    @Test
    void createsAMissingMirrorWithPost() throws Exception {
        ConfigMap src = source("settings", "7", Map.of("a", "1"));
        sources.put(src);
        server.expect().post().withPath(COLLECTION).andReturn(201, appliedMirror(src)).once();

        assertThat(reconcile("settings")).isEqualTo(Result.done());

        assertThat(server.getRequestCount()).isEqualTo(1);
        RecordedRequest post = take();
        assertThat(post.getMethod()).isEqualTo("POST");
        ConfigMap body = sent(post);
        assertThat(body.getMetadata().getName()).isEqualTo("settings-mirror");
        assertThat(body.getMetadata().getLabels()).isEqualTo(Map.of(ROLE_LABEL, ROLE_COPY));
        assertThat(body.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(ref -> assertThat(ref.getUid()).isEqualTo("uid-settings"));
        assertThat(writes.count()).isEqualTo(1);
    }

    @Test
    void aCreateThatFindsItsOwnMirrorNotYetCachedUpdatesIt() throws Exception {
        ConfigMap old = source("settings", "6", Map.of("a", "0"));
        ConfigMap src = source("settings", "7", Map.of("a", "1"));
        sources.put(src);
        server.expect().post().withPath(COLLECTION).andReturn(409, conflict()).once();
        server.expect().get().withPath(MIRROR_PATH).andReturn(200, appliedMirror(old)).once();
        server.expect().put().withPath(MIRROR_PATH).andReturn(200, appliedMirror(src)).once();

        assertThat(reconcile("settings")).isEqualTo(Result.done());

        assertThat(take().getMethod()).isEqualTo("POST");
        assertThat(take().getMethod()).isEqualTo("GET");
        RecordedRequest put = take();
        assertThat(put.getMethod()).isEqualTo("PUT");
        assertThat(sent(put).getData()).isEqualTo(Map.of("a", "1"));
        assertThat(server.getRequestCount()).isEqualTo(3);
    }

    @Test
    void aForeignConfigMapNotInTheCacheIsNeverWritten() throws Exception {
        sources.put(source("settings", "7", Map.of("a", "1")));
        server.expect().post().withPath(COLLECTION).andReturn(409, conflict()).once();
        server.expect().get().withPath(MIRROR_PATH).andReturn(200, foreignMirror()).once();
        server.expect().patch().withPath(SOURCE_PATH).andReturn(200, source("settings", "8", Map.of("a", "1"))).once();

        assertThat(reconcile("settings")).isEqualTo(Result.requeueAfter(BLOCKED_RECHECK));

        assertThat(take().getMethod()).isEqualTo("POST");
        assertThat(take().getMethod()).isEqualTo("GET");
        RecordedRequest patch = take();
        assertThat(patch.getMethod()).isEqualTo("PATCH");
        assertThat(patch.getPath()).as("only the source is written").isEqualTo(SOURCE_PATH);
        assertThat(patch.getBody().readUtf8()).contains(BLOCKED_ANNOTATION).contains("shop/settings-mirror")
                .contains("no controller");
        assertThat(server.getRequestCount()).isEqualTo(3);
    }

    @Test
    void aLabelledButUnownedMirrorInTheCacheIsNeverWritten() throws Exception {
        ConfigMap src = source("settings", "7", Map.of("a", "1"));
        sources.put(src);
        ConfigMap impostor = new ConfigMapBuilder(desiredMirror(src)).editMetadata().withOwnerReferences()
                .withResourceVersion("3").endMetadata().build();
        mirrors.put(impostor);
        server.expect().patch().withPath(SOURCE_PATH).andReturn(200, src).once();

        assertThat(reconcile("settings")).isEqualTo(Result.requeueAfter(BLOCKED_RECHECK));
        assertThat(server.getRequestCount()).isEqualTo(1);
        RecordedRequest patch = take();
        assertThat(patch.getPath()).isEqualTo(SOURCE_PATH);
        assertThat(writes.count()).isZero();
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Map<String, String>>> body = new KubernetesSerialization().unmarshal(patch.getBody().readUtf8(), Map.class);
        String reason = body.get("metadata").get("annotations").get(BLOCKED_ANNOTATION);
        assertThat(reason).contains("shop/settings-mirror").contains("no controller");

        // Already marked with this reason: the recheck sends nothing at all.
        sources.put(new ConfigMapBuilder(src).editMetadata().addToAnnotations(BLOCKED_ANNOTATION, reason).endMetadata().build());
        assertThat(reconcile("settings")).isEqualTo(Result.requeueAfter(BLOCKED_RECHECK));
        assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void aSourceNoLongerBlockedHasItsAnnotationRemoved() throws Exception {
        ConfigMap src = new ConfigMapBuilder(source("settings", "7", Map.of("a", "1"))).editMetadata()
                .addToAnnotations(BLOCKED_ANNOTATION, "was blocked").endMetadata().build();
        sources.put(src);
        mirrors.put(appliedMirror(src));
        server.expect().patch().withPath(SOURCE_PATH).andReturn(200, src).once();

        assertThat(reconcile("settings")).isEqualTo(Result.done());

        RecordedRequest patch = take();
        assertThat(patch.getBody().readUtf8()).isEqualTo("{\"metadata\":{\"annotations\":{\"" + BLOCKED_ANNOTATION + "\":null}}}");
        assertThat(server.getRequestCount()).isEqualTo(1);
        assertThat(writes.count()).isZero();
    }

    @Test
    void aCreateThatFindsItsOwnCurrentMirrorNotYetCachedWritesNothing() throws Exception {
        // The watch of a write a moment ago has not reached the cache: the mirror there is already current.
        ConfigMap src = source("settings", "7", Map.of("a", "1"));
        sources.put(src);
        server.expect().post().withPath(COLLECTION).andReturn(409, conflict()).once();
        server.expect().get().withPath(MIRROR_PATH).andReturn(200, appliedMirror(src)).once();

        assertThat(reconcile("settings")).isEqualTo(Result.done());

        assertThat(take().getMethod()).isEqualTo("POST");
        assertThat(take().getMethod()).isEqualTo("GET");
        assertThat(server.getRequestCount()).isEqualTo(2);
        assertThat(writes.count()).isZero();
    }

    @Test
    void aBlockedSourceWhoseNameIsFreeClearsItsAnnotationFirstAndMirrorsThePatchedVersion() throws Exception {
        ConfigMap src = new ConfigMapBuilder(source("settings", "7", Map.of("a", "1"))).editMetadata()
                .addToAnnotations(BLOCKED_ANNOTATION, "was blocked").endMetadata().build();
        sources.put(src);
        ConfigMap patched = source("settings", "8", Map.of("a", "1"));
        server.expect().get().withPath(MIRROR_PATH).andReturn(404, "").once();
        server.expect().patch().withPath(SOURCE_PATH).andReturn(200, patched).once();
        server.expect().post().withPath(COLLECTION).andReturn(201, appliedMirror(patched)).once();

        assertThat(reconcile("settings")).isEqualTo(Result.done());

        assertThat(take().getMethod()).as("the foreign one need not be cached: the name is read").isEqualTo("GET");
        assertThat(take().getMethod()).isEqualTo("PATCH");
        RecordedRequest post = take();
        assertThat(post.getMethod()).isEqualTo("POST");
        assertThat(sent(post).getMetadata().getAnnotations()).as("the mirror records the version the patch left")
                .containsEntry(OBSERVED_RESOURCE_VERSION, "8");
        assertThat(server.getRequestCount()).isEqualTo(3);
        assertThat(writes.count()).isEqualTo(1);
    }

    @Test
    void aBlockedSourceStillBlockedByAnUncachedForeignConfigMapSendsOnlyTheRead() throws Exception {
        String reason = "ConfigMap shop/settings-mirror exists and is not this source's mirror (no controller); it is left as it is";
        sources.put(new ConfigMapBuilder(source("settings", "7", Map.of("a", "1"))).editMetadata()
                .addToAnnotations(BLOCKED_ANNOTATION, reason).endMetadata().build());
        server.expect().get().withPath(MIRROR_PATH).andReturn(200, foreignMirror()).once();

        assertThat(reconcile("settings")).isEqualTo(Result.requeueAfter(BLOCKED_RECHECK));

        assertThat(take().getMethod()).isEqualTo("GET");
        assertThat(server.getRequestCount()).as("no annotation flapping, no create attempt").isEqualTo(1);
        assertThat(writes.count()).isZero();
    }

    private static String conflict() {
        return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":409,"
                + "\"reason\":\"AlreadyExists\",\"message\":\"configmaps \\\"settings-mirror\\\" already exists\"}";
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
    void anInvalidWriteIsTerminal() {
        sources.put(source("settings", "1", Map.of("a", "1")));
        server.expect().post().withPath(COLLECTION)
                .andReturn(422, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":422,"
                        + "\"reason\":\"Invalid\",\"message\":\"Only one reference can have Controller set to true\"}").once();
        assertThatThrownBy(() -> reconcile("settings")).isInstanceOf(TerminalException.class)
                .hasMessageContaining("shop/settings-mirror").hasMessageContaining("Only one reference");
    }

    @Test
    void aServerErrorIsRetried() {
        sources.put(source("settings", "1", Map.of("a", "1")));
        server.expect().post().withPath(COLLECTION)
                .andReturn(500, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":500,\"message\":\"etcd down\"}")
                .always();
        assertThatThrownBy(() -> reconcile("settings")).isNotInstanceOf(TerminalException.class)
                .hasMessageContaining("etcd down");
        assertThat(server.getRequestCount()).isEqualTo(1);
    }
}
