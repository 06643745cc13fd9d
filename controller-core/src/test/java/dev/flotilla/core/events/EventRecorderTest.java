package dev.flotilla.core.events;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

@WithCluster
class EventRecorderTest {

    @Test
    void identicalEventsAggregateIntoOneWithACountAndDistinctOnesStaySeparate(KubernetesClient client, TestNamespace ns) throws Exception {
        ConfigMap cm = client.resource(new ConfigMapBuilder().withNewMetadata().withName("src").withNamespace(ns.name())
                .endMetadata().build()).create();
        try (var recorder = new EventRecorder(client, "flotilla-test", "replica-0", Clock.systemUTC())) {
            for (int i = 0; i < 5; i++) {
                recorder.normal(cm, "Mirrored", "mirror is up to date");
                recorder.flush(Duration.ofSeconds(5));
            }
            recorder.warning(cm, "MirrorFailed", "quota exceeded");
            recorder.flush(Duration.ofSeconds(5));
        }
        List<Event> events = client.v1().events().inNamespace(ns.name()).list().getItems();
        assertThat(events).hasSize(2);
        Event mirrored = events.stream().filter(e -> e.getReason().equals("Mirrored")).findFirst().orElseThrow();
        assertThat(mirrored.getCount()).isEqualTo(5);
        assertThat(mirrored.getType()).isEqualTo("Normal");
        assertThat(mirrored.getInvolvedObject().getName()).isEqualTo("src");
        assertThat(mirrored.getInvolvedObject().getUid()).isEqualTo(cm.getMetadata().getUid());
        assertThat(mirrored.getReportingComponent()).isEqualTo("flotilla-test");
    }

    @Test
    void aStormOnOneObjectIsCappedAtTheBurstButStillCounted(KubernetesClient client, TestNamespace ns) throws Exception {
        ConfigMap cm = client.resource(new ConfigMapBuilder().withNewMetadata().withName("noisy").withNamespace(ns.name())
                .endMetadata().build()).create();
        try (var recorder = new EventRecorder(client, "flotilla-test", "replica-0", Clock.systemUTC())) {
            for (int i = 0; i < 200; i++) {
                recorder.warning(cm, "Failing", "attempt " + (i % 40)); // 40 distinct messages
            }
            recorder.flush(Duration.ofSeconds(10));
        }
        List<Event> events = client.v1().events().inNamespace(ns.name()).list().getItems();
        assertThat(events.size()).as("writes per object are capped by the burst").isEqualTo(EventRecorder.BURST);
    }
}
