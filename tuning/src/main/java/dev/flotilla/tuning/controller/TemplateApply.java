package dev.flotilla.tuning.controller;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.StatusCause;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tuner's write of a pod template's resources: server-side apply under its own field manager that never
 * forces by default. Where another manager (Helm, Argo CD, kubectl) owns a field the change would alter, the API
 * server refuses with a conflict; the tuner then takes the fields only from managers the policy names in
 * {@code spec.takeOverFrom}, and otherwise reports the conflict instead of starting a tug-of-war with GitOps.
 * The plain apply carries no resourceVersion: it cannot take anything from anyone, and the status writes of the
 * workload's own controller (every rollout) would otherwise refuse it. A take-over is judged again on a version read
 * just before it and forced with that version as a precondition, so it never lands on owners that were not judged.
 */
final class TemplateApply {

    private static final Pattern MANAGER = Pattern.compile("conflict with \"([^\"]+)\"");
    /** A container's key in managedFields: {@code k:{"name":"app"}}. */
    private static final Pattern CONTAINER_KEY = Pattern.compile("k:\\{\"name\":\"(.+)\"\\}");

    /** One field another manager owns. */
    record FieldConflict(String manager, String field) {
        FieldConflict {
            Objects.requireNonNull(manager, "manager");
            Objects.requireNonNull(field, "field");
        }
    }

    /** What became of an apply. */
    sealed interface ApplyResult {
        /** Applied without taking anything from anyone; {@code applied} is the workload as the API server returned it. */
        record Applied(HasMetadata applied) implements ApplyResult {
        }

        /** Applied by taking these fields from managers the policy allows; {@code applied} as returned. */
        record TookOver(List<FieldConflict> taken, HasMetadata applied) implements ApplyResult {
            public TookOver {
                taken = List.copyOf(taken);
            }
        }

        /** Not applied: these fields belong to managers the policy does not allow taking from. */
        record Conflicted(List<FieldConflict> conflicts) implements ApplyResult {
            public Conflicted {
                conflicts = List.copyOf(conflicts);
            }

            Set<String> managers() {
                Set<String> m = new LinkedHashSet<>();
                conflicts.forEach(c -> m.add(c.manager()));
                return m;
            }
        }
    }

    private TemplateApply() {
    }

    /**
     * @param patch       the fields to apply (no resourceVersion)
     * @param mayTakeFrom which conflicting managers' fields may be taken
     */
    static ApplyResult apply(KubernetesClient client, HasMetadata patch, String fieldManager, Predicate<String> mayTakeFrom) {
        patch.getMetadata().setResourceVersion(null);
        List<FieldConflict> conflicts;
        try {
            return new ApplyResult.Applied(client.resource(patch).fieldManager(fieldManager).serverSideApply());
        } catch (KubernetesClientException e) {
            conflicts = fieldConflicts(e);
        }
        if (conflicts.stream().anyMatch(c -> !mayTakeFrom.test(c.manager()))) {
            return new ApplyResult.Conflicted(conflicts.stream().filter(c -> !mayTakeFrom.test(c.manager())).toList());
        }
        // Every owner may be taken from: judge again on a version read now, and force on that version only. The
        // workload's controller may write its status in between (the version moves, nothing else): then again.
        for (int attempt = 1; ; attempt++) {
            HasMetadata fresh = current(client, patch);
            if (fresh == null) {
                throw new KubernetesClientException(patch.getKind() + " " + patch.getMetadata().getName() + " was deleted meanwhile");
            }
            patch.getMetadata().setResourceVersion(fresh.getMetadata().getResourceVersion());
            try {
                try {
                    return new ApplyResult.Applied(client.resource(patch).fieldManager(fieldManager).serverSideApply());
                } catch (KubernetesClientException e) {
                    conflicts = fieldConflicts(e);
                }
                List<FieldConflict> kept = conflicts.stream().filter(c -> !mayTakeFrom.test(c.manager())).toList();
                if (!kept.isEmpty()) {
                    return new ApplyResult.Conflicted(kept);
                }
                return new ApplyResult.TookOver(conflicts, client.resource(patch).fieldManager(fieldManager).forceConflicts()
                        .serverSideApply());
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || !conflicts(e).isEmpty() || attempt == TAKE_OVER_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /** The workload as it is now, read by list (the tuner's RBAC has list and patch on workloads, not get). */
    private static HasMetadata current(KubernetesClient client, HasMetadata patch) {
        return client.resources(patch.getClass()).inNamespace(patch.getMetadata().getNamespace())
                .withField("metadata.name", patch.getMetadata().getName()).list().getItems().stream().findFirst().orElse(null);
    }

    /** Take-overs tried on a fresh version before a moving one is left to the next pass. */
    static final int TAKE_OVER_ATTEMPTS = 10;

    /** The field conflicts of a refused apply; anything else (a moved resourceVersion, a 422) is thrown as it came. */
    private static List<FieldConflict> fieldConflicts(KubernetesClientException e) {
        List<FieldConflict> conflicts = e.getCode() == 409 ? conflicts(e) : List.of();
        if (conflicts.isEmpty()) {
            throw e; // reported as a failure of this action and tried again next pass
        }
        return conflicts;
    }

    /**
     * One pass's applies. A server-side apply states the field manager's whole intent for the object: a container's
     * resources left out of it are given up (and removed where nobody else owns them). So each apply to a workload
     * carries the container it changes, those changed earlier in the pass, and those the tuner owns already.
     */
    static final class Session {
        private final String fieldManager;
        private final Map<String, Map<String, ResourceRequirements>> applied = new HashMap<>();

        Session(String fieldManager) {
            this.fieldManager = Objects.requireNonNull(fieldManager, "fieldManager");
        }

        /** The containers (name and resources only) an apply of {@code container} to workload {@code ref} must state. */
        List<Container> containers(String ref, HasMetadata workload, PodSpec template, String container,
                ResourceRequirements resources) {
            Map<String, ResourceRequirements> earlier = applied.getOrDefault(ref, Map.of());
            Set<String> owned = ownedContainers(workload, fieldManager);
            List<Container> out = new ArrayList<>();
            for (Container c : template.getContainers()) {
                ResourceRequirements r = c.getName().equals(container) ? resources
                        : earlier.containsKey(c.getName()) ? earlier.get(c.getName())
                        : owned.contains(c.getName()) ? c.getResources() : null;
                if (r != null) {
                    out.add(new ContainerBuilder().withName(c.getName()).withResources(r).build());
                }
            }
            return out;
        }

        void applied(String ref, String container, ResourceRequirements resources) {
            applied.computeIfAbsent(ref, k -> new HashMap<>()).put(container, resources);
        }
    }

    /**
     * When {@code fieldManager}'s apply last changed a field it owns in the workload (its managedFields entry's time,
     * which the API server moves whenever that manager's fields or their values change); empty when it owns nothing.
     */
    static Optional<Instant> lastApplied(HasMetadata workload, String fieldManager) {
        List<ManagedFieldsEntry> entries = workload.getMetadata().getManagedFields() == null ? List.of()
                : workload.getMetadata().getManagedFields();
        return entries.stream().filter(e -> fieldManager.equals(e.getManager()) && "Apply".equals(e.getOperation())
                && e.getTime() != null).map(e -> {
                    try {
                        return Optional.of(Instant.parse(e.getTime()));
                    } catch (RuntimeException unparsable) {
                        return Optional.<Instant>empty();
                    }
                }).flatMap(Optional::stream).max(Instant::compareTo);
    }

    /** The template containers whose resources {@code fieldManager} owns by apply, from the workload's managedFields. */
    @SuppressWarnings("unchecked")
    static Set<String> ownedContainers(HasMetadata workload, String fieldManager) {
        Set<String> out = new LinkedHashSet<>();
        List<ManagedFieldsEntry> entries = workload.getMetadata().getManagedFields() == null ? List.of()
                : workload.getMetadata().getManagedFields();
        for (ManagedFieldsEntry e : entries) {
            if (!fieldManager.equals(e.getManager()) || !"Apply".equals(e.getOperation()) || e.getFieldsV1() == null) {
                continue;
            }
            Object containers = path(Serialization.unmarshal(Serialization.asJson(e.getFieldsV1()), Map.class),
                    "f:spec", "f:template", "f:spec", "f:containers");
            if (containers instanceof Map<?, ?> byKey) {
                for (Map.Entry<?, ?> c : byKey.entrySet()) {
                    String key = String.valueOf(c.getKey());
                    Matcher m = CONTAINER_KEY.matcher(key);
                    if (m.matches() && c.getValue() instanceof Map<?, ?> fields && fields.containsKey("f:resources")) {
                        out.add(m.group(1));
                    }
                }
            }
        }
        return out;
    }

    private static Object path(Map<?, ?> root, String... keys) {
        Object at = root;
        for (String k : keys) {
            if (!(at instanceof Map<?, ?> m)) {
                return null;
            }
            at = m.get(k);
        }
        return at;
    }

    /** The field-manager conflicts of a 409, from the Status causes the API server sends with it. */
    static List<FieldConflict> conflicts(KubernetesClientException e) {
        List<FieldConflict> out = new ArrayList<>();
        var status = e.getStatus();
        List<StatusCause> causes = status == null || status.getDetails() == null || status.getDetails().getCauses() == null
                ? List.of() : status.getDetails().getCauses();
        for (StatusCause c : causes) {
            if (!"FieldManagerConflict".equals(c.getReason()) || c.getMessage() == null) {
                continue;
            }
            Matcher m = MANAGER.matcher(c.getMessage());
            if (m.find()) {
                out.add(new FieldConflict(m.group(1), c.getField() == null ? "" : c.getField()));
            }
        }
        return out;
    }
}
