package dev.flotilla.examples.mirror;

import static dev.flotilla.examples.mirror.ConfigMapMirror.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.events.EventRecorder;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.events.v1.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The mirror controller on a real API server next to ConfigMaps it does not own. Judged from the
 * server: a foreign {@code <name>-mirror} keeps its resourceVersion (no write landed on it), data,
 * labels and owner references; the source carries the blocked annotation and a Warning Event.
 */
@WithCluster
class ForeignMirrorTest {

    private Manager manager;
    private EventRecorder events;

    @AfterEach
    void stop() {
        if (manager != null) {
            manager.stop();
        }
        if (events != null) {
            events.close();
        }
    }

    private void startController(TestCluster cluster) throws Exception {
        manager = new Manager(cluster.client(), ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
        events = new EventRecorder(cluster.client(), COMPONENT, "foreign-mirror-test", Clock.systemUTC());
        ConfigMapMirror.register(manager, 2, events, UnaryOperator.identity());
        manager.start();
    }

    private static ConfigMap source(TestNamespace ns, String name, Map<String, String> data) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns.name())
                .withLabels(Map.of(SOURCE_LABEL, SOURCE_VALUE)).endMetadata().withData(data).build();
    }

    private static ConfigMap foreign(TestNamespace ns, String name, Map<String, String> labels) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns.name())
                .withLabels(labels).endMetadata().withData(Map.of("owner", "someone else", "secret-ish", "keep me")).build();
    }

    private static String blocked(KubernetesClient client, TestNamespace ns, String source) {
        ConfigMap s = client.configMaps().inNamespace(ns.name()).withName(source).get();
        return s.getMetadata().getAnnotations() == null ? null : s.getMetadata().getAnnotations().get(BLOCKED_ANNOTATION);
    }

    private static List<Event> blockedEvents(KubernetesClient client, TestNamespace ns, String source) {
        return client.events().v1().events().inNamespace(ns.name()).list().getItems().stream()
                .filter(e -> REASON_BLOCKED.equals(e.getReason()) && e.getRegarding() != null
                        && source.equals(e.getRegarding().getName()))
                .toList();
    }

    /** How many times the source was reported blocked: the Events' counts (repeats update one Event). */
    private static int blockedCount(KubernetesClient client, TestNamespace ns, String source) {
        return client.v1().events().inNamespace(ns.name()).list().getItems().stream()
                .filter(e -> REASON_BLOCKED.equals(e.getReason()) && e.getInvolvedObject() != null
                        && source.equals(e.getInvolvedObject().getName()))
                .mapToInt(e -> e.getCount() == null ? 1 : e.getCount()).sum();
    }

    @Test
    void aForeignConfigMapNamedLikeTheMirrorSurvivesUnchanged(TestCluster cluster, KubernetesClient client, TestNamespace ns)
            throws Exception {
        var configMaps = client.configMaps().inNamespace(ns.name());
        // Three ways of not being this source's mirror: unlabelled (not in the controller's cache),
        // labelled as a copy but without an owner, and controlled by some other object.
        ConfigMap plain = configMaps.resource(foreign(ns, "plain-mirror", Map.of("app", "theirs"))).create();
        ConfigMap labelled = configMaps.resource(foreign(ns, "labelled-mirror", Map.of(ROLE_LABEL, ROLE_COPY))).create();
        // A real owner (not a source), so that a cluster running the garbage collector keeps the owned copy.
        ConfigMap owner = configMaps.resource(foreign(ns, "someone-elses", Map.of("app", "theirs"))).create();
        String ownerUid = owner.getMetadata().getUid();
        ConfigMap other = configMaps.resource(new ConfigMapBuilder(foreign(ns, "owned-mirror", Map.of(ROLE_LABEL, ROLE_COPY)))
                .editMetadata().withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap")
                        .withName("someone-elses").withUid(ownerUid).withController(true).build())
                .endMetadata().build()).create();
        List<ConfigMap> before = List.of(plain, labelled, other, owner);

        startController(cluster);
        for (String name : List.of("plain", "labelled", "owned", "free")) {
            configMaps.resource(source(ns, name, Map.of("k", name))).create();
        }

        // The free one shows the controller is working; the three others are blocked and say so.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            ConfigMap free = configMaps.withName("free").get();
            assertThat(isConverged(free, configMaps.withName("free-mirror").get())).as("free-mirror converged").isTrue();
            for (String name : List.of("plain", "labelled", "owned")) {
                assertThat(blocked(client, ns, name)).as(name + " blocked annotation")
                        .contains(ns.name() + "/" + name + "-mirror").contains("is not this source's mirror");
            }
        });
        assertThat(events.flush(Duration.ofSeconds(10))).isTrue();
        for (String name : List.of("plain", "labelled", "owned")) {
            assertThat(blockedEvents(client, ns, name)).as(name + " MirrorBlocked event").singleElement()
                    .satisfies(e -> assertThat(e.getType()).isEqualTo("Warning"));
        }
        assertThat(blocked(client, ns, "owned")).contains("controlled by ConfigMap someone-elses uid " + ownerUid);
        assertThat(blocked(client, ns, "plain")).contains("no controller");

        // Touch the sources: another reconcile each, still nothing written to the foreign ones.
        for (String name : List.of("plain", "labelled", "owned")) {
            configMaps.withName(name).edit(cm -> new ConfigMapBuilder(cm).addToData("k2", "v2").build());
        }
        configMaps.withName("free").edit(cm -> new ConfigMapBuilder(cm).addToData("k2", "v2").build());
        // Each blocked source's second reconcile has run once its Event counts it a second time.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(events.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(configMaps.withName("free-mirror").get().getData()).containsEntry("k2", "v2");
            for (String name : List.of("plain", "labelled", "owned")) {
                assertThat(blockedCount(client, ns, name)).as(name + " MirrorBlocked count").isGreaterThanOrEqualTo(2);
            }
        });
        manager.stop(); // whatever was in flight has finished: the state below is final

        for (ConfigMap was : before) {
            ConfigMap now = configMaps.withName(was.getMetadata().getName()).get();
            assertThat(now.getMetadata().getResourceVersion()).as(was.getMetadata().getName() + " resourceVersion (no write)")
                    .isEqualTo(was.getMetadata().getResourceVersion());
            assertThat(now.getData()).isEqualTo(was.getData());
            assertThat(now.getMetadata().getLabels()).isEqualTo(was.getMetadata().getLabels());
            assertThat(now.getMetadata().getAnnotations()).isEqualTo(was.getMetadata().getAnnotations());
            assertThat(now.getMetadata().getOwnerReferences()).isEqualTo(was.getMetadata().getOwnerReferences());
        }
    }

    @Test
    void onceTheForeignConfigMapIsGoneTheMirrorIsWrittenAndTheSourceUnblocked(TestCluster cluster, KubernetesClient client,
            TestNamespace ns) throws Exception {
        var configMaps = client.configMaps().inNamespace(ns.name());
        configMaps.resource(foreign(ns, "late-mirror", Map.of())).create();
        startController(cluster);
        configMaps.resource(source(ns, "late", Map.of("k", "v"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> blocked(client, ns, "late") != null);

        configMaps.withName("late-mirror").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> configMaps.withName("late-mirror").get() == null);
        // The foreign ConfigMap is not watched; a change of the source (or BLOCKED_RECHECK) brings the next look.
        configMaps.withName("late").edit(cm -> new ConfigMapBuilder(cm).addToData("k", "v2").build());

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            ConfigMap src = configMaps.withName("late").get();
            assertThat(blocked(client, ns, "late")).as("blocked annotation cleared").isNull();
            assertThat(isConverged(src, configMaps.withName("late-mirror").get())).as("mirror converged").isTrue();
        });
    }

    @Test
    void deletingALabelledForeignMirrorUnblocksTheSourceAtOnceWithOneWrite(TestCluster cluster, KubernetesClient client,
            TestNamespace ns) throws Exception {
        var configMaps = client.configMaps().inNamespace(ns.name());
        configMaps.resource(foreign(ns, "prompt-mirror", Map.of(ROLE_LABEL, ROLE_COPY))).create();
        startController(cluster);
        configMaps.resource(source(ns, "prompt", Map.of("k", "v"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> blocked(client, ns, "prompt") != null);

        // Nothing touches the source: the watch on labelled ConfigMaps maps "prompt-mirror" to "prompt".
        configMaps.withName("prompt-mirror").delete();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            ConfigMap src = configMaps.withName("prompt").get();
            assertThat(blocked(client, ns, "prompt")).as("blocked annotation cleared").isNull();
            assertThat(isConverged(src, configMaps.withName("prompt-mirror").get())).as("mirror converged").isTrue();
        });
        // The mirror was written once, from the source as the annotation's removal left it: it stays put.
        String mirrorVersion = configMaps.withName("prompt-mirror").get().getMetadata().getResourceVersion();
        Thread.sleep(2000);
        manager.stop();
        ConfigMap mirror = configMaps.withName("prompt-mirror").get();
        assertThat(mirror.getMetadata().getResourceVersion()).as("no second write").isEqualTo(mirrorVersion);
        assertThat(isConverged(configMaps.withName("prompt").get(), mirror)).isTrue();
        assertThat(manager.registry().get(MirrorReconciler.WRITES_TOTAL).counter().count()).as("mirror writes").isEqualTo(1.0);
    }
}
