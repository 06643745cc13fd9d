package dev.flotilla.core.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionsTest {

    private static Clock at(String instant) {
        return Clock.fixed(Instant.parse(instant), ZoneOffset.UTC);
    }

    @Test
    void transitionTimeMovesOnlyWhenTheStatusChanges() {
        List<Condition> c1 = Conditions.set(List.of(), Conditions.READY, false, "Pending", "waiting", 1L, at("2026-01-01T00:00:00Z"));
        List<Condition> c2 = Conditions.set(c1, Conditions.READY, false, "StillPending", "still", 2L, at("2026-01-01T00:05:00Z"));
        List<Condition> c3 = Conditions.set(c2, Conditions.READY, true, "Synced", "done", 3L, at("2026-01-01T00:09:00Z"));
        assertThat(c2).singleElement().satisfies(c -> {
            assertThat(c.getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
            assertThat(c.getReason()).isEqualTo("StillPending");
            assertThat(c.getObservedGeneration()).isEqualTo(2L);
        });
        assertThat(c3).singleElement().satisfies(c -> {
            assertThat(c.getLastTransitionTime()).isEqualTo("2026-01-01T00:09:00Z");
            assertThat(c.getStatus()).isEqualTo("True");
        });
        assertThat(Conditions.isTrue(c3, Conditions.READY)).isTrue();
        assertThat(c1).as("input not changed").singleElement().extracting(Condition::getReason).isEqualTo("Pending");
    }

    @Test
    void otherConditionTypesAreKept() {
        List<Condition> c = Conditions.set(List.of(), "Invalid", true, "MinAboveMax", "min > max", 1L, Clock.systemUTC());
        c = Conditions.set(c, Conditions.READY, false, "Invalid", "see Invalid", 1L, Clock.systemUTC());
        assertThat(c).extracting(Condition::getType).containsExactly("Invalid", "Ready");
    }

    @Test
    void malformedReasonsAndStatusesAreRejected() {
        assertThatThrownBy(() -> Conditions.set(List.of(), "Ready", true, "has spaces", "", 1L, Clock.systemUTC()))
                .hasMessageContaining("reason");
        assertThatThrownBy(() -> Conditions.set(List.of(), "Ready", "yes", "Ok", "", 1L, Clock.systemUTC()))
                .hasMessageContaining("True, False or Unknown");
    }

    @Test
    void controllerOwnerIsSetOnceAndNeverAcrossNamespacesOrControllers() {
        var owner = new ConfigMapBuilder().withNewMetadata().withName("src").withNamespace("a").withUid("u1").endMetadata().build();
        var owned = new ConfigMapBuilder().withNewMetadata().withName("dst").withNamespace("a").endMetadata().build();
        Apply.setControllerOwner(owned, owner);
        Apply.setControllerOwner(owned, owner); // idempotent
        assertThat(owned.getMetadata().getOwnerReferences()).singleElement().satisfies(r -> {
            assertThat(r.getController()).isTrue();
            assertThat(r.getBlockOwnerDeletion()).isTrue();
            assertThat(r.getKind()).isEqualTo("ConfigMap");
            assertThat(r.getApiVersion()).isEqualTo("v1");
            assertThat(r.getUid()).isEqualTo("u1");
        });
        var elsewhere = new ConfigMapBuilder().withNewMetadata().withName("dst").withNamespace("b").endMetadata().build();
        assertThatThrownBy(() -> Apply.setControllerOwner(elsewhere, owner)).hasMessageContaining("cannot cross namespaces");
        var taken = new ConfigMapBuilder().withNewMetadata().withName("dst").withNamespace("a")
                .withOwnerReferences(new OwnerReferenceBuilder().withKind("Deployment").withName("web").withUid("u2")
                        .withController(true).build()).endMetadata().build();
        assertThatThrownBy(() -> Apply.setControllerOwner(taken, owner)).hasMessageContaining("already controlled by Deployment web");
        var noUid = new ConfigMapBuilder().withNewMetadata().withName("src").withNamespace("a").endMetadata().build();
        assertThatThrownBy(() -> Apply.setControllerOwner(owned, noUid)).hasMessageContaining("no uid");
    }
}
