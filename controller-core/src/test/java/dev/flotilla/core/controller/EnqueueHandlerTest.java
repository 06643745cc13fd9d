package dev.flotilla.core.controller;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.reconcile.ObjectKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EnqueueHandlerTest {

    private final List<ObjectKey> queued = new ArrayList<>();
    private final EnqueueHandler<ConfigMap> toOwner = new EnqueueHandler<>("test", EventPredicate.all(),
            KeyMapper.controllerOwner("v1", "ConfigMap"), queued::add);

    private static ConfigMap ownedBy(String owner) {
        return new ConfigMapBuilder().withNewMetadata().withName("child").withNamespace("shop").withResourceVersion(owner)
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap").withName(owner)
                        .withUid("u-" + owner).withController(true).build())
                .endMetadata().build();
    }

    @Test
    void everyEventQueuesTheKeysItMapsTo() {
        toOwner.onAdd(ownedBy("a"));
        toOwner.onUpdate(ownedBy("a"), ownedBy("a"));
        toOwner.onDelete(ownedBy("a"), false);
        assertThat(queued).containsExactly(ObjectKey.of("shop", "a"), ObjectKey.of("shop", "a"), ObjectKey.of("shop", "a"));
    }

    @Test
    void anOwnerThatMovedQueuesTheNewOwnerAndTheOldOne() {
        toOwner.onUpdate(ownedBy("a"), ownedBy("b"));
        assertThat(queued).containsExactly(ObjectKey.of("shop", "b"), ObjectKey.of("shop", "a"));
    }

    @Test
    void aPredicateThatSaysNoQueuesNothing() {
        EnqueueHandler<ConfigMap> none = new EnqueueHandler<>("test", EventPredicate.hasLabel("x", "y"),
                KeyMapper.controllerOwner("v1", "ConfigMap"), queued::add);
        none.onAdd(ownedBy("a"));
        none.onUpdate(ownedBy("a"), ownedBy("b"));
        none.onDelete(ownedBy("a"), true);
        assertThat(queued).isEmpty();
    }

    @Test
    void anObjectThatCannotBeMappedIsSkippedWithoutThrowingIntoTheInformer() {
        ConfigMap noMetadata = new ConfigMap();
        toOwner.onAdd(noMetadata);
        toOwner.onUpdate(noMetadata, noMetadata);
        toOwner.onUpdate(ownedBy("a"), noMetadata);
        toOwner.onDelete(noMetadata, true);
        assertThat(queued).isEmpty();
        toOwner.onAdd(ownedBy("a")); // and the next good event still goes through
        assertThat(queued).containsExactly(ObjectKey.of("shop", "a"));
    }
}
