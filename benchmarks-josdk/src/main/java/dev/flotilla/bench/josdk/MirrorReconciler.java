package dev.flotilla.bench.josdk;

import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.bench.protocol.EventLatency;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Flotilla's {@code configmap-mirror} logic on the Java Operator SDK, step for step: skip sources
 * being deleted or that are mirrors; read the mirror from the secondary cache; write nothing when
 * it already carries the source's resourceVersion, data and owner; otherwise one server-side apply
 * (forced, same field manager) of exactly the fields Flotilla's {@code desiredMirror} sets.
 * It cannot reuse Flotilla's class: that is compiled against fabric8 8, this against 7.5.2.
 */
final class MirrorReconciler implements Reconciler<ConfigMap> {

    static final String MIRRORS = "mirrors";

    private final ContenderArgs args;
    private final ContenderSession session;
    private volatile InformerEventSource<ConfigMap, ConfigMap> mirrors;
    private volatile IndexedResourceCache<ConfigMap> primaries;

    MirrorReconciler(ContenderArgs args, ContenderSession session) {
        this.args = args;
        this.session = session;
    }

    @Override
    public List<EventSource<?, ConfigMap>> prepareEventSources(EventSourceContext<ConfigMap> context) {
        mirrors = new InformerEventSource<>(InformerEventSourceConfiguration.from(ConfigMap.class, ConfigMap.class)
                .withName(MIRRORS)
                .withLabelSelector(args.value(ContenderArgs.MIRROR_SELECTOR))
                .withWatchAllNamespaces()
                .build(), context);
        return List.of(mirrors);
    }

    @Override
    public UpdateControl<ConfigMap> reconcile(ConfigMap source, Context<ConfigMap> context) {
        primaries = context.getPrimaryCache();
        String key = source.getMetadata().getNamespace() + "/" + source.getMetadata().getName();
        String stamp = annotation(source, EventLatency.STAMP_ANNOTATION);
        session.started().observe(key, stamp);
        try {
            if (source.getMetadata().getDeletionTimestamp() != null || isMirror(source)) {
                return UpdateControl.noUpdate();
            }
            String name = source.getMetadata().getName() + args.value(ContenderArgs.MIRROR_SUFFIX);
            Optional<ConfigMap> existing = context.getSecondaryResource(ConfigMap.class, MIRRORS)
                    .filter(m -> name.equals(m.getMetadata().getName()));
            if (existing.isEmpty() || !isConverged(source, existing.get())) {
                context.getClient().resource(desiredMirror(source, name))
                        .fieldManager(args.value(ContenderArgs.FIELD_MANAGER)).forceConflicts().serverSideApply();
            }
            return UpdateControl.noUpdate();
        } finally {
            session.finished().observe(key, stamp);
        }
    }

    /** Sources in the primary cache plus mirrors in the secondary one. */
    long cachedObjects() {
        IndexedResourceCache<ConfigMap> p = primaries;
        InformerEventSource<ConfigMap, ConfigMap> m = mirrors;
        return (p == null ? 0 : p.list().count()) + (m == null ? 0 : m.list().count());
    }

    private boolean isMirror(ConfigMap cm) {
        Map<String, String> labels = cm.getMetadata().getLabels();
        return labels != null && labels.containsKey(args.value(ContenderArgs.ROLE_LABEL));
    }

    private ConfigMap desiredMirror(ConfigMap source, String name) {
        var s = source.getMetadata();
        OwnerReference owner = new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap")
                .withName(s.getName()).withUid(s.getUid()).withController(true).withBlockOwnerDeletion(true).build();
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(s.getNamespace())
                .withLabels(Map.of(args.value(ContenderArgs.ROLE_LABEL), args.value(ContenderArgs.ROLE_VALUE)))
                .withAnnotations(Map.of(args.value(ContenderArgs.OBSERVED_ANNOTATION), String.valueOf(s.getResourceVersion())))
                .withOwnerReferences(owner)
                .endMetadata()
                .withData(nullIfEmpty(source.getData()))
                .withBinaryData(nullIfEmpty(source.getBinaryData()))
                .build();
    }

    private boolean isConverged(ConfigMap source, ConfigMap mirror) {
        var s = source.getMetadata();
        var m = mirror.getMetadata();
        if (m.getLabels() == null || !args.value(ContenderArgs.ROLE_VALUE).equals(m.getLabels().get(args.value(ContenderArgs.ROLE_LABEL)))) {
            return false;
        }
        if (!Objects.equals(s.getResourceVersion(), annotation(mirror, args.value(ContenderArgs.OBSERVED_ANNOTATION)))) {
            return false;
        }
        boolean controlled = m.getOwnerReferences() != null && m.getOwnerReferences().stream()
                .anyMatch(r -> Boolean.TRUE.equals(r.getController()) && Objects.equals(s.getUid(), r.getUid()));
        return controlled && emptyIfNull(source.getData()).equals(emptyIfNull(mirror.getData()))
                && emptyIfNull(source.getBinaryData()).equals(emptyIfNull(mirror.getBinaryData()));
    }

    private static String annotation(ConfigMap cm, String key) {
        Map<String, String> a = cm.getMetadata().getAnnotations();
        return a == null ? null : a.get(key);
    }

    private static <V> Map<String, V> emptyIfNull(Map<String, V> m) {
        return m == null ? Map.of() : m;
    }

    private static <V> Map<String, V> nullIfEmpty(Map<String, V> m) {
        return m == null || m.isEmpty() ? null : m;
    }
}
