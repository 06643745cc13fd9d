package dev.flotilla.examples.mirror;

import static dev.flotilla.examples.mirror.ConfigMapMirror.*;

import dev.flotilla.core.apply.Apply;
import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.events.EventRecorder;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.core.reconcile.Request;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.core.reconcile.TerminalException;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ConfigMapMirror} reconciler. Reads the source from the request's cache and the
 * existing mirror from the owned informer's cache; writes (one server-side apply) only when the
 * mirror is missing or stale.
 *
 * <ul>
 *   <li>source gone: done; garbage collection deletes the mirror through its owner reference;</li>
 *   <li>source being deleted, or itself a mirror: done, nothing written;</li>
 *   <li>{@code <name>-mirror} longer than 253 characters: {@link TerminalException} (retrying
 *       cannot shorten a name);</li>
 *   <li>mirror up to date ({@link ConfigMapMirror#isConverged}): done, nothing written;</li>
 *   <li>otherwise: apply; a 422 (for example a ConfigMap of that name controlled by someone
 *       else) is terminal, anything else is retried with backoff.</li>
 * </ul>
 */
public final class MirrorReconciler implements Reconciler<ConfigMap> {

    /** Counts the mirror applies this process made; the demo reports it as "writes". */
    public static final String APPLIES_TOTAL = "flotilla_mirror_applies_total";

    private static final Logger log = LoggerFactory.getLogger(MirrorReconciler.class);

    private final KubernetesClient client;
    private final Cache<ConfigMap> mirrors;
    private final EventRecorder events;
    private final Counter applies;

    /** Without events, counting applies in a private registry: for tests and benchmarks. */
    public MirrorReconciler(KubernetesClient client, Cache<ConfigMap> mirrors) {
        this(client, mirrors, null, appliesCounter(new SimpleMeterRegistry()));
    }

    /**
     * @param mirrors the owned informer's cache ({@link ConfigMapMirror#MIRROR_SELECTOR})
     * @param events  may be null: no events
     * @param applies incremented once per apply sent
     */
    public MirrorReconciler(KubernetesClient client, Cache<ConfigMap> mirrors, EventRecorder events, Counter applies) {
        this.client = Objects.requireNonNull(client, "client");
        this.mirrors = Objects.requireNonNull(mirrors, "mirrors");
        this.events = events;
        this.applies = Objects.requireNonNull(applies, "applies");
    }

    static Counter appliesCounter(MeterRegistry registry) {
        return Counter.builder(APPLIES_TOTAL)
                .description("Server-side applies of ConfigMap mirrors")
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
        String name = mirrorName(source.getMetadata().getName());
        if (name.length() > MAX_NAME_LENGTH) {
            throw new TerminalException("mirror name " + name.substring(0, 20) + "..." + MIRROR_SUFFIX + " would have "
                    + name.length() + " characters; ConfigMap names have at most " + MAX_NAME_LENGTH);
        }
        Optional<ConfigMap> existing = mirrors.get(ObjectKey.of(source.getMetadata().getNamespace(), name));
        if (existing.isPresent() && isConverged(source, existing.get())) {
            return Result.done(); // up to date: no write
        }
        ConfigMap desired = desiredMirror(source);
        try {
            applies.increment();
            Apply.serverSideApply(client, desired, FIELD_MANAGER);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 422) {
                throw new TerminalException("cannot apply mirror " + request.key().namespace() + "/" + name + ": "
                        + (e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage()), e);
            }
            throw e;
        }
        log.atDebug().addKeyValue("namespace", source.getMetadata().getNamespace()).addKeyValue("source", source.getMetadata().getName())
                .addKeyValue("resourceVersion", source.getMetadata().getResourceVersion())
                .log(existing.isPresent() ? "mirror updated" : "mirror created");
        if (events != null) {
            boolean created = existing.isEmpty();
            events.normal(source, created ? REASON_CREATED : REASON_UPDATED, "mirror " + name
                    + (created ? " created" : " updated") + " from resourceVersion " + source.getMetadata().getResourceVersion());
        }
        return Result.done();
    }
}
