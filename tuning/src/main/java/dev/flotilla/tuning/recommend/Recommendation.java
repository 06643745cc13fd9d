package dev.flotilla.tuning.recommend;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What the recommender would set, and why.
 *
 * @param target      the recommended requests and limits (an absent CPU limit after {@link Rule#SELF_THROTTLING} with
 *                    lifting means "remove the limit")
 * @param findings    every rule that shaped the result, in order, with the signal values
 * @param missing     signals that were absent or stale
 * @param usageOnly   true when no kernel signal (run-queue, throttling, PSI, OOM) was used
 */
public record Recommendation(ContainerResources target, List<Finding> findings, Set<String> missing, boolean usageOnly) {
    public Recommendation {
        Objects.requireNonNull(target, "target");
        findings = List.copyOf(findings);
        missing = Set.copyOf(missing);
    }

    public boolean fired(Rule rule) {
        return findings.stream().anyMatch(f -> f.rule() == rule);
    }
}
