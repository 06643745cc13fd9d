package dev.flotilla.tuning.controller;

import dev.flotilla.tuning.api.ContainerRecommendation;
import dev.flotilla.tuning.api.ResourceTuningPolicyStatus;
import dev.flotilla.tuning.api.TuningAction;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Merges this pass's status into one another writer put on the object meanwhile (see
 * {@code TuningReconciler.writeStatus}). This pass's view wins, except for what only the other writer knows:
 * entries for containers this pass did not write are kept (for workloads it targets), and each container keeps the
 * later of the two
 * {@code lastChanged} (the cool-down's memory), as does the policy's {@code lastAction}.
 */
final class StatusMerge {

    private StatusMerge() {
    }

    /**
     * @param targeted the workloads ({@code Kind/name}) this pass targets: an entry only the other writer has is kept for
     *                 those alone, so one this pass dropped on purpose (a workload no longer selected; a policy now
     *                 Invalid or in Conflict, which targets none) does not come back
     */
    static ResourceTuningPolicyStatus merge(ResourceTuningPolicyStatus ours, ResourceTuningPolicyStatus theirs,
            Set<String> targeted) {
        if (theirs == null) {
            return ours;
        }
        ResourceTuningPolicyStatus out = new ResourceTuningPolicyStatus();
        out.setObservedGeneration(ours.getObservedGeneration());
        out.setConditions(ours.getConditions());
        List<ContainerRecommendation> containers = new ArrayList<>();
        List<ContainerRecommendation> other = theirs.getContainers() == null ? List.of() : theirs.getContainers();
        for (ContainerRecommendation mine : ours.getContainers()) {
            Optional<ContainerRecommendation> same = other.stream().filter(o -> sameContainer(o, mine)).findFirst();
            same.ifPresent(o -> mine.setLastChanged(later(mine.getLastChanged(), o.getLastChanged())));
            containers.add(mine);
        }
        for (ContainerRecommendation o : other) {
            if (targeted.contains(o.getWorkload()) && ours.getContainers().stream().noneMatch(m -> sameContainer(m, o))) {
                containers.add(o);
            }
        }
        out.setContainers(containers);
        out.setLastAction(laterAction(ours.getLastAction(), theirs.getLastAction()));
        return out;
    }

    private static boolean sameContainer(ContainerRecommendation a, ContainerRecommendation b) {
        return Objects.equals(a.getWorkload(), b.getWorkload()) && Objects.equals(a.getContainer(), b.getContainer());
    }

    /** The later of two times; a time that does not parse loses to one that does. */
    static String later(String a, String b) {
        Optional<Instant> ta = parse(a);
        Optional<Instant> tb = parse(b);
        if (ta.isEmpty()) {
            return tb.isPresent() ? b : a;
        }
        return tb.isPresent() && tb.get().isAfter(ta.get()) ? b : a;
    }

    private static TuningAction laterAction(TuningAction a, TuningAction b) {
        if (a == null || b == null) {
            return a == null ? b : a;
        }
        return Objects.equals(later(a.getTime(), b.getTime()), b.getTime()) && !Objects.equals(a.getTime(), b.getTime()) ? b : a;
    }

    private static Optional<Instant> parse(String time) {
        try {
            return time == null ? Optional.empty() : Optional.of(Instant.parse(time));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
