package dev.flotilla.examples.mirror;

import dev.flotilla.core.apply.Apply;
import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.cache.InformerKey;
import dev.flotilla.core.controller.Controller;
import dev.flotilla.core.controller.EventPredicate;
import dev.flotilla.core.controller.KeyMapper;
import dev.flotilla.core.events.EventRecorder;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.core.rbac.ApiPermission;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Flotilla's built-in example controller, {@value #CONTROLLER_NAME}: for every ConfigMap labelled
 * {@value #SOURCE_SELECTOR} it keeps a ConfigMap {@code <name>-mirror} in the same namespace with
 * the same {@code data} and {@code binaryData}, labelled {@value #ROLE_LABEL}={@value #ROLE_COPY},
 * controlled by the source (owner reference, so garbage collection deletes it with the source).
 * It creates the mirror with {@code POST} and updates it with {@code PUT} of the version it read,
 * so it never writes a ConfigMap it does not own: an existing {@code <name>-mirror} that is not this
 * source's copy is left alone, and the source says why (see {@link MirrorReconciler}). Labelled
 * ConfigMaps are watched and mapped back to their source by owner reference and by name
 * ({@link #sourcesOf}), so a mirror changed behind the controller's back is restored, and deleting a
 * labelled foreign {@code <x>-mirror} unblocks {@code <x>} at once.
 *
 * <p><b>Observed-generation marker.</b> ConfigMaps have no {@code metadata.generation}, so the
 * mirror records the source's {@code metadata.resourceVersion} in the annotation
 * {@value #OBSERVED_RESOURCE_VERSION}. A mirror is up to date when that annotation equals the
 * source's current resourceVersion and the data match ({@link #isConverged}). Any change of the
 * source, even of a label, gives it a new resourceVersion and so one new write; a mirror that is
 * already up to date is never written again (no write amplification from resyncs or from the
 * controller's own writes echoing back through the watch).
 *
 * <p>Mirrors are never mirrored: the mirror does not copy the source's labels, and a source that
 * itself carries {@value #ROLE_LABEL} is skipped.
 *
 * <pre>{@code
 * Controller<ConfigMap> c = ConfigMapMirror.register(manager, 4);
 * manager.start();
 * }</pre>
 */
public final class ConfigMapMirror {

    public static final String CONTROLLER_NAME = "configmap-mirror";
    /** Label marking a ConfigMap to be mirrored (value {@value #SOURCE_VALUE}). */
    public static final String SOURCE_LABEL = "flotilla.dev/mirror";
    public static final String SOURCE_VALUE = "true";
    public static final String SOURCE_SELECTOR = SOURCE_LABEL + "=" + SOURCE_VALUE;
    /** Label every mirror carries (value {@value #ROLE_COPY}); the owned informer watches only these. */
    public static final String ROLE_LABEL = "flotilla.dev/mirror-role";
    public static final String ROLE_COPY = "copy";
    public static final String MIRROR_SELECTOR = ROLE_LABEL + "=" + ROLE_COPY;
    /** The source's metadata.resourceVersion the mirror was written from. */
    public static final String OBSERVED_RESOURCE_VERSION = "flotilla.dev/observed-resource-version";
    /**
     * The name the controller acts under: the reporting component of its Events, and the field
     * manager of the benchmarks' baseline mirrors, which write the same objects.
     */
    public static final String COMPONENT = "flotilla-mirror";
    /**
     * Annotation on a source whose mirror cannot be written because a ConfigMap of that name
     * exists and is not its copy; the value says which and why. ConfigMaps have no status, so this
     * is the source's condition; it is removed once the mirror is written.
     */
    public static final String BLOCKED_ANNOTATION = "flotilla.dev/mirror-blocked";
    /** How long a blocked source waits before it is looked at again (the foreign ConfigMap is not watched). */
    public static final Duration BLOCKED_RECHECK = Duration.ofMinutes(5);
    public static final String MIRROR_SUFFIX = "-mirror";
    /** Longest name a ConfigMap may have (a DNS subdomain). */
    public static final int MAX_NAME_LENGTH = 253;
    /** Event reasons on the source. */
    public static final String REASON_CREATED = "MirrorCreated";
    public static final String REASON_UPDATED = "MirrorUpdated";
    /** Warning: a ConfigMap named like the mirror exists and is not this source's copy. */
    public static final String REASON_BLOCKED = "MirrorBlocked";

    /**
     * Everything the controller needs from RBAC, in the order {@code flotilla run} checks it:
     * {@code create} and {@code update} write mirrors, {@code get} reads a ConfigMap that has the
     * mirror's name but is not in the cache, {@code patch} sets and clears {@link #BLOCKED_ANNOTATION}.
     */
    public static final List<ApiPermission> REQUIRED_PERMISSIONS = List.of(
            ApiPermission.core("get", "configmaps"),
            ApiPermission.core("list", "configmaps"),
            ApiPermission.core("watch", "configmaps"),
            ApiPermission.core("create", "configmaps"),
            ApiPermission.core("update", "configmaps"),
            ApiPermission.core("patch", "configmaps"),
            ApiPermission.core("create", "events"),
            ApiPermission.core("patch", "events"));

    private ConfigMapMirror() {
    }

    /** Registers the controller with {@code workers} workers and no events. */
    public static Controller<ConfigMap> register(Manager manager, int workers) {
        return register(manager, workers, null, UnaryOperator.identity());
    }

    /**
     * Registers the controller.
     *
     * @param events records {@value #REASON_CREATED}, {@value #REASON_UPDATED} and (Warning)
     *               {@value #REASON_BLOCKED} on the source, or null for none
     * @param around wraps the reconciler (the demo injects failures here); identity for none
     */
    public static Controller<ConfigMap> register(Manager manager, int workers, EventRecorder events,
            UnaryOperator<Reconciler<ConfigMap>> around) {
        Objects.requireNonNull(manager, "manager");
        Objects.requireNonNull(around, "around");
        Cache<ConfigMap> mirrors = manager.informers().informerFor(InformerKey.of(ConfigMap.class, MIRROR_SELECTOR));
        Reconciler<ConfigMap> reconciler = new MirrorReconciler(manager.client(), mirrors, events,
                MirrorReconciler.writesCounter(manager.registry()));
        return manager.controller(ConfigMap.class)
                .named(CONTROLLER_NAME)
                .withLabelSelector(SOURCE_SELECTOR)
                .withPredicate(EventPredicate.resourceVersionChanged())
                .watches(ConfigMap.class, MIRROR_SELECTOR, EventPredicate.all(), ConfigMapMirror::sourcesOf)
                .workers(workers)
                .complete(Objects.requireNonNull(around.apply(reconciler), "around returned null"));
    }

    /**
     * The sources a labelled ConfigMap matters to: its controlling source (owner reference) and the
     * source its name belongs to. The second makes a labelled foreign {@code <x>-mirror} bring its
     * blocked source {@code <x>} back at once when it changes or goes away.
     */
    static List<ObjectKey> sourcesOf(ConfigMap mirror) {
        List<ObjectKey> owners = OWNER.keysFor(mirror);
        String name = mirror.getMetadata().getName();
        if (name == null || !name.endsWith(MIRROR_SUFFIX) || name.length() <= MIRROR_SUFFIX.length()) {
            return owners;
        }
        ObjectKey byName = ObjectKey.of(mirror.getMetadata().getNamespace(), name.substring(0, name.length() - MIRROR_SUFFIX.length()));
        if (owners.contains(byName)) {
            return owners; // a mirror's own source: the usual case, no second list
        }
        List<ObjectKey> keys = new ArrayList<>(owners.size() + 1);
        keys.addAll(owners);
        keys.add(byName);
        return List.copyOf(keys);
    }

    private static final KeyMapper<ConfigMap> OWNER = KeyMapper.controllerOwner("v1", "ConfigMap");

    /** {@code <source>-mirror}; may exceed {@link #MAX_NAME_LENGTH} (the reconciler then fails terminally). */
    public static String mirrorName(String sourceName) {
        return sourceName + MIRROR_SUFFIX;
    }

    /** Whether {@code configMap} is a mirror (and so must never be mirrored itself). */
    public static boolean isMirror(ConfigMap configMap) {
        Map<String, String> labels = configMap.getMetadata() == null ? null : configMap.getMetadata().getLabels();
        return labels != null && labels.containsKey(ROLE_LABEL);
    }

    /**
     * The mirror as the controller creates it: name, namespace, role label, observed-resource-version
     * annotation, data, binaryData and the controller owner reference.
     */
    public static ConfigMap desiredMirror(ConfigMap source) {
        Objects.requireNonNull(source, "source");
        ConfigMap mirror = new ConfigMapBuilder()
                .withNewMetadata()
                .withName(mirrorName(source.getMetadata().getName()))
                .withNamespace(source.getMetadata().getNamespace())
                .withLabels(Map.of(ROLE_LABEL, ROLE_COPY))
                .withAnnotations(Map.of(OBSERVED_RESOURCE_VERSION, String.valueOf(source.getMetadata().getResourceVersion())))
                .endMetadata()
                .withData(nullIfEmpty(source.getData()))
                .withBinaryData(nullIfEmpty(source.getBinaryData()))
                .build();
        return Apply.setControllerOwner(mirror, source);
    }

    /**
     * {@code current} (this source's own mirror, as read) brought up to date: data and binaryData
     * replaced by the source's, the role label and observed-resource-version annotation set, the
     * controller reference ensured; everything else, resourceVersion included, kept as read, so the
     * update fails with 409 if the mirror changed since and keeps labels and annotations others added.
     */
    public static ConfigMap updatedMirror(ConfigMap source, ConfigMap current) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(current, "current");
        if (!isControlledBy(current, source)) {
            throw new IllegalArgumentException("ConfigMap " + current.getMetadata().getNamespace() + "/"
                    + current.getMetadata().getName() + " is not controlled by source uid " + source.getMetadata().getUid());
        }
        Map<String, String> labels = new LinkedHashMap<>(emptyIfNull(current.getMetadata().getLabels()));
        labels.put(ROLE_LABEL, ROLE_COPY);
        Map<String, String> annotations = new LinkedHashMap<>(emptyIfNull(current.getMetadata().getAnnotations()));
        annotations.put(OBSERVED_RESOURCE_VERSION, String.valueOf(source.getMetadata().getResourceVersion()));
        return new ConfigMapBuilder(current)
                .editMetadata().withLabels(labels).withAnnotations(annotations).endMetadata()
                .withData(nullIfEmpty(source.getData()))
                .withBinaryData(nullIfEmpty(source.getBinaryData()))
                .build();
    }

    /**
     * Whether {@code configMap} is controlled by {@code source}: it has a controller owner reference
     * of kind ConfigMap with the source's uid. Only such a ConfigMap is ever written as a mirror.
     */
    public static boolean isControlledBy(ConfigMap configMap, ConfigMap source) {
        return configMap != null && configMap.getMetadata() != null && source != null && source.getMetadata() != null
                && controlledBy(configMap, source.getMetadata().getUid());
    }

    /**
     * Whether {@code mirror} is an up-to-date mirror of {@code source}: the right name and
     * namespace, the role label, controlled by this source (same uid), the same data and
     * binaryData (absent and empty are equal), and the observed-resource-version annotation equal
     * to the source's current resourceVersion.
     */
    public static boolean isConverged(ConfigMap source, ConfigMap mirror) {
        if (source == null || mirror == null || source.getMetadata() == null || mirror.getMetadata() == null) {
            return false;
        }
        var s = source.getMetadata();
        var m = mirror.getMetadata();
        if (!mirrorName(s.getName()).equals(m.getName()) || !Objects.equals(s.getNamespace(), m.getNamespace())) {
            return false;
        }
        if (m.getLabels() == null || !ROLE_COPY.equals(m.getLabels().get(ROLE_LABEL))) {
            return false;
        }
        if (m.getAnnotations() == null || s.getResourceVersion() == null
                || !s.getResourceVersion().equals(m.getAnnotations().get(OBSERVED_RESOURCE_VERSION))) {
            return false;
        }
        if (!controlledBy(mirror, s.getUid())) {
            return false;
        }
        return emptyIfNull(source.getData()).equals(emptyIfNull(mirror.getData()))
                && emptyIfNull(source.getBinaryData()).equals(emptyIfNull(mirror.getBinaryData()));
    }

    /** Why {@code mirror} is not converged, for messages; null when it is. */
    public static String divergence(ConfigMap source, ConfigMap mirror) {
        if (isConverged(source, mirror)) {
            return null;
        }
        if (mirror == null) {
            return "mirror missing";
        }
        var s = source.getMetadata();
        var m = mirror.getMetadata();
        String observed = m.getAnnotations() == null ? null : m.getAnnotations().get(OBSERVED_RESOURCE_VERSION);
        if (!Objects.equals(observed, s.getResourceVersion())) {
            return "mirror observed resourceVersion " + observed + ", source is at " + s.getResourceVersion();
        }
        if (!controlledBy(mirror, s.getUid())) {
            return "mirror is not controlled by the source";
        }
        if (!emptyIfNull(source.getData()).equals(emptyIfNull(mirror.getData()))
                || !emptyIfNull(source.getBinaryData()).equals(emptyIfNull(mirror.getBinaryData()))) {
            return "mirror data differs";
        }
        return "mirror labels differ";
    }

    private static boolean controlledBy(ConfigMap mirror, String uid) {
        List<OwnerReference> refs = mirror.getMetadata().getOwnerReferences();
        return uid != null && refs != null && refs.stream()
                .anyMatch(r -> Boolean.TRUE.equals(r.getController()) && uid.equals(r.getUid()) && "ConfigMap".equals(r.getKind()));
    }

    private static <V> Map<String, V> emptyIfNull(Map<String, V> m) {
        return m == null ? Map.of() : m;
    }

    private static <V> Map<String, V> nullIfEmpty(Map<String, V> m) {
        return m == null || m.isEmpty() ? null : m;
    }
}
