package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The balance figures on the named datasets with three members, beside today's (equal-width shards
 * balanced by count), and the churn when objects are added to a balanced plan.
 */
class RangePlannerBalanceTest {

    @Test
    void objectsPerMemberStayWithinTheBoundOnEveryDataset() {
        StringBuilder table = new StringBuilder(String.format("%n%-26s %5s %16s %12s %8s  %s%n", "dataset", "R", "planner max/mean", "equal-width", "bound", "planner loads"));
        List<String> failures = new ArrayList<>();
        for (Map.Entry<String, Map<String, Long>> d : PlannerDatasets.all().entrySet()) {
            for (int r : new int[] {32, 256}) {
                NamespaceWeights weights = NamespaceWeights.ofNamespaces(d.getValue());
                RangePlan plan = RangePlanner.plan(RangePlan.Input.coldStart(r, PlannerDatasets.THREE, weights));
                double mean = weights.total() / 3.0;
                double boundRatio = (Math.max(weights.largest(), mean) + 0.10 * mean) / mean;
                double equalWidth = PlannerDatasets.equalWidthMaxOverMean(d.getValue(), r, PlannerDatasets.THREE);
                table.append(String.format("%-26s %5d %16.3f %12.3f %8.3f  %s%n", d.getKey(), r, plan.maxOverMean(), equalWidth, boundRatio, plan.loads().values()));
                if (!plan.withinBound() || plan.maxOverMean() > boundRatio + 1e-9) {
                    failures.add(d.getKey() + " R=" + r + ": " + plan.loads() + " allowed " + plan.maxLoadAllowed());
                }
            }
        }
        System.out.println(table);
        assertThat(failures).as("datasets over the bound").isEmpty();
    }

    @Test
    void addingObjectsToABalancedPlanChangesFewSlots() {
        StringBuilder report = new StringBuilder(String.format("%n%-26s %5s %-28s %8s %8s %9s%n", "dataset", "R", "change", "ranges", "owners", "max/mean"));
        for (Map.Entry<String, Map<String, Long>> d : PlannerDatasets.all().entrySet()) {
            for (int r : new int[] {32, 256}) {
                Map<String, Long> before = d.getValue();
                RangePlan balanced = RangePlanner.plan(RangePlan.Input.coldStart(r, PlannerDatasets.THREE, NamespaceWeights.ofNamespaces(before)));
                List<String> three = before.keySet().stream().sorted().limit(3).toList();

                // Each of three namespaces grows by 10%.
                Map<String, Long> grown = new TreeMap<>(before);
                three.forEach(ns -> grown.merge(ns, Math.max(1, before.get(ns) / 10), Long::sum));
                RangePlan afterGrowth = RangePlanner.plan(RangePlan.Input.after(balanced, PlannerDatasets.THREE, NamespaceWeights.ofNamespaces(grown)));
                report.append(line(d.getKey(), r, "3 namespaces +10% each", afterGrowth));
                assertThat(afterGrowth.rangeChanged()).isEmpty();
                assertThat(afterGrowth.ownerChanged()).isEmpty();

                // 10% of all objects, new, in three namespaces.
                long total = before.values().stream().mapToLong(Long::longValue).sum();
                Map<String, Long> burst = new TreeMap<>(before);
                three.forEach(ns -> burst.merge(ns, total / 10 / 3, Long::sum));
                RangePlan afterBurst = RangePlanner.plan(RangePlan.Input.after(balanced, PlannerDatasets.THREE, NamespaceWeights.ofNamespaces(burst)));
                report.append(line(d.getKey(), r, "+10% of all in 3 namespaces", afterBurst));
                assertThat(afterBurst.rangeChanged().size()).isLessThanOrEqualTo(RangePlan.Input.defaultMaxRangeChanges(r));
                assertThat(afterBurst.ownerChanged().size()).isLessThanOrEqualTo(r / 4);
                assertThat(afterBurst.withinBound() || afterBurst.capped()).isTrue();
            }
        }
        System.out.println(report);
    }

    private static String line(String dataset, int r, String change, RangePlan plan) {
        return String.format("%-26s %5d %-28s %8d %8d %9.3f%n", dataset, r, change, plan.rangeChanged().size(), plan.ownerChanged().size(), plan.maxOverMean());
    }
}
