package dev.flotilla.bench.plain;

import dev.flotilla.bench.protocol.ContenderArgs;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.util.Map;
import java.util.Objects;

/**
 * The mirror workload's rules for the contenders that cannot link Flotilla's {@code ConfigMapMirror}
 * (the Java Operator SDK contender and both ceilings), written against the part of fabric8's model
 * API that 7.5 and 8.0 share: this source is compiled into {@code benchmarks} (fabric8 8) and into
 * {@code benchmarks-josdk} (fabric8 7.5.2). The names come from the driver, which reads them from
 * {@code ConfigMapMirror}; {@code MirrorSpecTest} checks that {@link #desired} and
 * {@link #isConverged} agree with {@code ConfigMapMirror}'s own.
 *
 * <pre>{@code
 * String[] argv;     // the contender's command line
 * ConfigMap source;  // a labelled source from the informer
 * MirrorSpec spec = MirrorSpec.from(ContenderArgs.parse(argv));
 * client.resource(spec.desired(source)).fieldManager(spec.fieldManager()).forceConflicts().serverSideApply();
 * }</pre>
 */
public record MirrorSpec(String roleLabel, String roleValue, String suffix, String observedAnnotation, String fieldManager) {

    public MirrorSpec {
        Objects.requireNonNull(roleLabel, "roleLabel");
        Objects.requireNonNull(roleValue, "roleValue");
        Objects.requireNonNull(suffix, "suffix");
        Objects.requireNonNull(observedAnnotation, "observedAnnotation");
        Objects.requireNonNull(fieldManager, "fieldManager");
    }

    public static MirrorSpec from(ContenderArgs args) {
        return new MirrorSpec(args.value(ContenderArgs.ROLE_LABEL), args.value(ContenderArgs.ROLE_VALUE),
                args.value(ContenderArgs.MIRROR_SUFFIX), args.value(ContenderArgs.OBSERVED_ANNOTATION),
                args.value(ContenderArgs.FIELD_MANAGER));
    }

    public String mirrorName(ConfigMap source) {
        return source.getMetadata().getName() + suffix;
    }

    public boolean isMirror(ConfigMap cm) {
        Map<String, String> labels = cm.getMetadata().getLabels();
        return labels != null && labels.containsKey(roleLabel);
    }

    /** Exactly the fields the controller owns: name, namespace, role label, observed resourceVersion, data, owner. */
    public ConfigMap desired(ConfigMap source) {
        var s = source.getMetadata();
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(mirrorName(source))
                .withNamespace(s.getNamespace())
                .withLabels(Map.of(roleLabel, roleValue))
                .withAnnotations(Map.of(observedAnnotation, String.valueOf(s.getResourceVersion())))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap")
                        .withName(s.getName()).withUid(s.getUid()).withController(true).withBlockOwnerDeletion(true).build())
                .endMetadata()
                .withData(nullIfEmpty(source.getData()))
                .withBinaryData(nullIfEmpty(source.getBinaryData()))
                .build();
    }

    /** Whether {@code mirror} carries the source's resourceVersion, data, role label and controller owner. */
    public boolean isConverged(ConfigMap source, ConfigMap mirror) {
        var s = source.getMetadata();
        var m = mirror.getMetadata();
        if (!mirrorName(source).equals(m.getName()) || !Objects.equals(s.getNamespace(), m.getNamespace())) {
            return false;
        }
        if (m.getLabels() == null || !roleValue.equals(m.getLabels().get(roleLabel))) {
            return false;
        }
        String observed = m.getAnnotations() == null ? null : m.getAnnotations().get(observedAnnotation);
        if (s.getResourceVersion() == null || !s.getResourceVersion().equals(observed)) {
            return false;
        }
        boolean controlled = s.getUid() != null && m.getOwnerReferences() != null && m.getOwnerReferences().stream()
                .anyMatch(r -> Boolean.TRUE.equals(r.getController()) && s.getUid().equals(r.getUid())
                        && "ConfigMap".equals(r.getKind()));
        return controlled && emptyIfNull(source.getData()).equals(emptyIfNull(mirror.getData()))
                && emptyIfNull(source.getBinaryData()).equals(emptyIfNull(mirror.getBinaryData()));
    }

    private static <V> Map<String, V> emptyIfNull(Map<String, V> m) {
        return m == null ? Map.of() : m;
    }

    private static <V> Map<String, V> nullIfEmpty(Map<String, V> m) {
        return m == null || m.isEmpty() ? null : m;
    }
}
