package dev.flotilla.bench.josdk;

import dev.flotilla.bench.plain.MirrorSpec;
import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.bench.protocol.EventLatency;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.TransformingItemStore;
import java.util.List;
import java.util.Optional;

/**
 * Flotilla's {@code configmap-mirror} logic on the Java Operator SDK, step for step: skip sources
 * being deleted or that are mirrors; read the mirror from the secondary cache; write nothing when
 * it already carries the source's resourceVersion, data and owner; otherwise one server-side apply
 * (forced, same field manager) of exactly the fields Flotilla's {@code desiredMirror} sets. The
 * rules are {@link MirrorSpec}'s (Flotilla's own class is compiled against fabric8 8, this against 7.5.2).
 */
final class MirrorReconciler implements Reconciler<ConfigMap> {

    static final String MIRRORS = "mirrors";

    private final ContenderArgs args;
    private final MirrorSpec spec;
    private final ContenderSession session;
    private volatile InformerEventSource<ConfigMap, ConfigMap> mirrors;
    private volatile IndexedResourceCache<ConfigMap> primaries;

    private final boolean stripManagedFields;

    MirrorReconciler(ContenderArgs args, MirrorSpec spec, ContenderSession session, boolean stripManagedFields) {
        this.args = args;
        this.spec = spec;
        this.session = session;
        this.stripManagedFields = stripManagedFields;
    }

    /** An item store that keeps each ConfigMap without its managedFields (JOSDK's documented way to prune a cache). */
    static TransformingItemStore<ConfigMap> withoutManagedFields() {
        return new TransformingItemStore<>(cm -> {
            cm.getMetadata().setManagedFields(null);
            return cm;
        });
    }

    @Override
    public List<EventSource<?, ConfigMap>> prepareEventSources(EventSourceContext<ConfigMap> context) {
        var config = InformerEventSourceConfiguration.from(ConfigMap.class, ConfigMap.class)
                .withName(MIRRORS)
                .withLabelSelector(args.value(ContenderArgs.MIRROR_SELECTOR))
                .withWatchAllNamespaces();
        if (stripManagedFields) {
            config.withItemStore(withoutManagedFields());
        }
        mirrors = new InformerEventSource<>(config.build(), context);
        return List.of(mirrors);
    }

    @Override
    public UpdateControl<ConfigMap> reconcile(ConfigMap source, Context<ConfigMap> context) {
        primaries = context.getPrimaryCache();
        String key = source.getMetadata().getNamespace() + "/" + source.getMetadata().getName();
        String stamp = EventLatency.stamp(source.getMetadata().getAnnotations());
        session.started().observe(key, stamp);
        try {
            if (source.getMetadata().getDeletionTimestamp() != null || spec.isMirror(source)) {
                return UpdateControl.noUpdate();
            }
            Optional<ConfigMap> existing = context.getSecondaryResource(ConfigMap.class, MIRRORS);
            if (existing.isEmpty() || !spec.isConverged(source, existing.get())) {
                context.getClient().resource(spec.desired(source))
                        .fieldManager(spec.fieldManager()).forceConflicts().serverSideApply();
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

}
