package dev.flotilla.examples.mirror;

import static dev.flotilla.examples.mirror.ConfigMapMirror.*;

import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.events.EventRecorder;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.core.reconcile.Request;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.core.reconcile.TerminalException;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ConfigMapMirror} reconciler. Reads the source from the request's cache and the
 * existing mirror from the owned informer's cache; writes only when the mirror is missing or
 * stale, and never a ConfigMap it does not own.
 *
 * <ul>
 *   <li>source gone: done; garbage collection deletes the mirror through its owner reference;</li>
 *   <li>source being deleted, or itself a mirror: done, nothing written;</li>
 *   <li>{@code <name>-mirror} longer than 253 characters: {@link TerminalException} (retrying
 *       cannot shorten a name);</li>
 *   <li>a ConfigMap of that name that is not this source's mirror (no controller reference to the
 *       source): left exactly as it is; a Warning Event {@value ConfigMapMirror#REASON_BLOCKED} and the
 *       annotation {@value ConfigMapMirror#BLOCKED_ANNOTATION} on the source say why, and the
 *       source is looked at again after {@link ConfigMapMirror#BLOCKED_RECHECK};</li>
 *   <li>mirror up to date ({@link ConfigMapMirror#isConverged}): done, nothing written;</li>
 *   <li>mirror missing from the cache: created ({@code POST}, which fails rather than overwrite
 *       whatever has that name); stale: updated ({@code PUT} of the cached mirror, so only with the
 *       resourceVersion the decision was made on). A 422 is terminal; a 409 on create means something
 *       of that name exists, which is then read and either updated (ours) or reported blocked
 *       (someone else's); a 409 on update and anything else is retried with backoff.</li>
 *   <li>a source carrying the blocked annotation: the mirror's name is read from the API server
 *       (an unlabelled foreign ConfigMap is not in the cache); still foreign, still blocked; free or
 *       its own, the annotation is cleared first and the mirror written from the source as that
 *       patch left it, so unblocking costs one mirror write.</li>
 * </ul>
 *
 * Why not server-side apply: it cannot say "create, but only if nothing is there", so applying
 * with force took over any ConfigMap named {@code <name>-mirror}; checking first would cost a
 * request per new mirror.
 */
public final class MirrorReconciler implements Reconciler<ConfigMap> {

    /** Counts the mirror writes (creates and updates) the API server accepted from this process; the demo reports it as "writes". */
    public static final String WRITES_TOTAL = "flotilla_mirror_writes_total";

    private static final Logger log = LoggerFactory.getLogger(MirrorReconciler.class);

    private final KubernetesClient client;
    private final Cache<ConfigMap> mirrors;
    private final EventRecorder events;
    private final Counter writes;

    /** Without events, counting writes in a private registry: for tests and benchmarks. */
    public MirrorReconciler(KubernetesClient client, Cache<ConfigMap> mirrors) {
        this(client, mirrors, null, writesCounter(new SimpleMeterRegistry()));
    }

    /**
     * @param mirrors the owned informer's cache ({@link ConfigMapMirror#MIRROR_SELECTOR})
     * @param events  may be null: no events
     * @param writes  incremented once per create or update the API server accepted
     */
    public MirrorReconciler(KubernetesClient client, Cache<ConfigMap> mirrors, EventRecorder events, Counter writes) {
        this.client = Objects.requireNonNull(client, "client");
        this.mirrors = Objects.requireNonNull(mirrors, "mirrors");
        this.events = events;
        this.writes = Objects.requireNonNull(writes, "writes");
    }

    static Counter writesCounter(MeterRegistry registry) {
        return Counter.builder(WRITES_TOTAL)
                .description("ConfigMap mirrors created or updated")
                .tag(MetricNames.LABEL_CONTROLLER, CONTROLLER_NAME)
                .register(registry);
    }

    @Override
    public Result reconcile(Request<ConfigMap> request) throws TerminalException {
        Optional<ConfigMap> found = request.object();
        if (found.isEmpty()) {
            return Result.done(); // deleted: the mirror goes with it (owner reference)
        }
        ConfigMap source = found.get();
        if (source.getMetadata().getDeletionTimestamp() != null || isMirror(source)) {
            return Result.done();
        }
        String namespace = source.getMetadata().getNamespace();
        String name = mirrorName(source.getMetadata().getName());
        if (name.length() > MAX_NAME_LENGTH) {
            throw new TerminalException("mirror name " + name.substring(0, 20) + "..." + MIRROR_SUFFIX + " would have "
                    + name.length() + " characters; ConfigMap names have at most " + MAX_NAME_LENGTH);
        }
        ConfigMap current = mirrors.get(ObjectKey.of(namespace, name)).orElse(null);
        if (current != null && !isControlledBy(current, source)) {
            return blocked(source, current);
        }
        if (blockedAnnotation(source) != null) {
            // Blocked last time. Someone else's ConfigMap need not be in the cache (unlabelled): read the name.
            if (current == null) {
                current = client.configMaps().inNamespace(namespace).withName(name).get();
                if (current != null && !isControlledBy(current, source)) {
                    return blocked(source, current);
                }
            }
            // Unblocked. Clear the annotation before writing, and write from the source as the patch left it:
            // the mirror then records the source's final resourceVersion, and the patch's own watch event
            // finds it converged (one mirror write, not two).
            source = annotateSource(source, null);
        }
        if (current != null && isConverged(source, current)) {
            return Result.done();
        }
        try {
            if (current != null) {
                update(source, current);
            } else if (!create(source)) {
                // Something named like the mirror is there but not in our cache: ours not seen yet, or someone else's.
                ConfigMap there = client.configMaps().inNamespace(namespace).withName(name).get();
                if (there == null) {
                    return Result.requeue(); // gone again meanwhile: decide afresh
                }
                if (!isControlledBy(there, source)) {
                    return blocked(source, there);
                }
                if (!isConverged(source, there)) { // ours, written a moment ago and not in the cache yet: often current
                    update(source, there);
                }
            }
        } catch (KubernetesClientException e) {
            if (e.getCode() == 422) {
                throw new TerminalException("cannot write mirror " + namespace + "/" + name + ": "
                        + (e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage()), e);
            }
            throw e;
        }
        return Result.done();
    }

    /** Creates the mirror; false if a ConfigMap of that name exists already (409), which is then not touched. */
    private boolean create(ConfigMap source) {
        try {
            client.configMaps().resource(desiredMirror(source)).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                return false;
            }
            throw e;
        }
        writes.increment();
        log.atDebug().addKeyValue("namespace", source.getMetadata().getNamespace())
                .addKeyValue("source", source.getMetadata().getName())
                .addKeyValue("resourceVersion", source.getMetadata().getResourceVersion()).log("mirror created");
        event(source, REASON_CREATED, "mirror " + mirrorName(source.getMetadata().getName()) + " created from resourceVersion "
                + source.getMetadata().getResourceVersion());
        return true;
    }

    /** Updates this source's own mirror to match it, on the version {@code current} was read at (a 409 if it moved on). */
    private void update(ConfigMap source, ConfigMap current) {
        client.configMaps().resource(updatedMirror(source, current)).update();
        writes.increment();
        log.atDebug().addKeyValue("namespace", source.getMetadata().getNamespace())
                .addKeyValue("source", source.getMetadata().getName())
                .addKeyValue("resourceVersion", source.getMetadata().getResourceVersion()).log("mirror updated");
        event(source, REASON_UPDATED, "mirror " + current.getMetadata().getName() + " updated from resourceVersion "
                + source.getMetadata().getResourceVersion());
    }

    /**
     * A ConfigMap named like the mirror that this source does not control: it is someone else's and
     * stays as it is. The source says so (Event, annotation) and is looked at again later.
     */
    private Result blocked(ConfigMap source, ConfigMap foreign) {
        String reason = "ConfigMap " + foreign.getMetadata().getNamespace() + "/" + foreign.getMetadata().getName()
                + " exists and is not this source's mirror (" + controllerOf(foreign) + "); it is left as it is";
        boolean news = !reason.equals(blockedAnnotation(source));
        // Warn when the block starts; the recheck every BLOCKED_RECHECK is the reminder (the Event aggregates a count).
        log.atLevel(news ? org.slf4j.event.Level.WARN : org.slf4j.event.Level.DEBUG)
                .addKeyValue("namespace", source.getMetadata().getNamespace())
                .addKeyValue("source", source.getMetadata().getName()).addKeyValue("reason", reason).log("mirror blocked");
        event(source, REASON_BLOCKED, reason);
        if (news) {
            annotateSource(source, reason);
        }
        return Result.requeueAfter(BLOCKED_RECHECK);
    }

    private static String blockedAnnotation(ConfigMap source) {
        Map<String, String> a = source.getMetadata().getAnnotations();
        return a == null ? null : a.get(BLOCKED_ANNOTATION);
    }

    /**
     * Sets (or, with null, removes) the blocked annotation on the source: a merge patch of that one
     * key. Returns the source as the API server stored it.
     */
    private ConfigMap annotateSource(ConfigMap source, String reason) {
        Map<String, Object> annotations = new HashMap<>();
        annotations.put(BLOCKED_ANNOTATION, reason);
        // On the resource (not withName): fabric8 would otherwise GET the object first.
        return client.configMaps().resource(source)
                .patch(PatchContext.of(PatchType.JSON_MERGE),
                        client.getKubernetesSerialization().asJson(Map.of("metadata", Map.of("annotations", annotations))));
    }

    private static String controllerOf(ConfigMap cm) {
        List<OwnerReference> refs = cm.getMetadata().getOwnerReferences();
        return refs == null ? "no controller" : refs.stream().filter(r -> Boolean.TRUE.equals(r.getController())).findFirst()
                .map(r -> "controlled by " + r.getKind() + " " + r.getName() + " uid " + r.getUid()).orElse("no controller");
    }

    private void event(ConfigMap source, String reason, String message) {
        if (events != null) {
            if (REASON_BLOCKED.equals(reason)) {
                events.warning(source, reason, message);
            } else {
                events.normal(source, reason, message);
            }
        }
    }
}
