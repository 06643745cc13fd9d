package dev.flotilla.tuning.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.StatusCause;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tuner's write of a pod template's resources: server-side apply under its own field manager that never
 * forces by default. Where another manager (Helm, Argo CD, kubectl) owns a field the change would alter, the API
 * server refuses with a conflict; the tuner then takes the fields only from managers the policy names in
 * {@code spec.takeOverFrom}, and otherwise reports the conflict instead of starting a tug-of-war with GitOps.
 * Both attempts carry the workload's resourceVersion as a precondition, so a forced take-over never lands on a
 * version whose owners were not the ones judged.
 */
final class TemplateApply {

    private static final Pattern MANAGER = Pattern.compile("conflict with \"([^\"]+)\"");

    /** One field another manager owns. */
    record FieldConflict(String manager, String field) {
        FieldConflict {
            Objects.requireNonNull(manager, "manager");
            Objects.requireNonNull(field, "field");
        }
    }

    /** What became of an apply. */
    sealed interface Outcome {
        /** Applied without taking anything from anyone. */
        record Applied() implements Outcome {
        }

        /** Applied by taking these fields from managers the policy allows. */
        record TookOver(List<FieldConflict> taken) implements Outcome {
            public TookOver {
                taken = List.copyOf(taken);
            }
        }

        /** Not applied: these fields belong to managers the policy does not allow taking from. */
        record Conflicted(List<FieldConflict> conflicts) implements Outcome {
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
     * @param patch       the fields to apply, with metadata.resourceVersion set to the version the change was judged on
     * @param mayTakeFrom which conflicting managers' fields may be taken
     */
    static Outcome apply(KubernetesClient client, HasMetadata patch, String fieldManager, Predicate<String> mayTakeFrom) {
        try {
            client.resource(patch).fieldManager(fieldManager).serverSideApply();
            return new Outcome.Applied();
        } catch (KubernetesClientException e) {
            List<FieldConflict> conflicts = e.getCode() == 409 ? conflicts(e) : List.of();
            if (conflicts.isEmpty()) {
                throw e; // not a field conflict (e.g. the resourceVersion moved on): reported as a failure, retried next pass
            }
            List<FieldConflict> kept = conflicts.stream().filter(c -> !mayTakeFrom.test(c.manager())).toList();
            if (!kept.isEmpty()) {
                return new Outcome.Conflicted(kept);
            }
            client.resource(patch).fieldManager(fieldManager).forceConflicts().serverSideApply();
            return new Outcome.TookOver(conflicts);
        }
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
