package dev.flotilla.chaos.engine;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The reports of a chaos run: JSON for machines, a Markdown table for people. */
public final class Reports {

    private static final KubernetesSerialization JSON = new KubernetesSerialization();

    private Reports() {
    }

    public static String json(Duration baseline, List<ExperimentResult> results) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("faultFreeConvergenceMillis", baseline.toMillis());
        List<Object> list = new ArrayList<>();
        for (ExperimentResult r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("experiment", r.experiment());
            m.put("action", r.action());
            m.put("build", r.build());
            m.put("targets", r.targets());
            m.put("faultStart", r.faultStart().toString());
            m.put("faultEnd", r.faultEnd().toString());
            m.put("convergenceMillis", r.convergence() == null ? null : r.convergence().toMillis());
            m.put("convergenceLimitMillis", r.convergenceLimit() == null ? null : r.convergenceLimit().toMillis());
            m.put("singleWriterViolations", r.singleWriterViolations());
            m.put("peakRequestsPer10sPerReplica", r.peakRequestsPer10s());
            m.put("requestBudgetPer10s", r.requestBudget());
            m.put("longestUnownedSeconds", r.unownedSeconds());
            m.put("allRangesOwnedAfterFaultSeconds", r.allOwnedAfterFaultSeconds());
            m.put("updates", r.updates());
            m.put("holds", r.holds());
            m.put("violations", r.violations());
            m.put("notes", r.notes());
            list.add(m);
        }
        root.put("experiments", list);
        return JSON.asJson(root);
    }

    public static String markdown(Duration baseline, List<ExperimentResult> results) {
        StringBuilder b = new StringBuilder();
        b.append("Fault-free convergence: ").append(seconds(baseline)).append(" s\n\n");
        b.append("| experiment | action | build | targets | converged after fault (s) | T (s) | single-writer violations "
                + "| peak requests / 10 s / replica (budget) | longest unowned range (s) | every range owned after fault (s) | verdict |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (ExperimentResult r : results) {
            b.append("| ").append(r.experiment()).append(" | ").append(r.action()).append(" | ").append(r.build())
                    .append(" | ").append(r.targets().size())
                    .append(" | ").append(r.convergence() == null ? "never" : seconds(r.convergence()))
                    .append(" | ").append(r.convergenceLimit() == null ? "-" : seconds(r.convergenceLimit()))
                    .append(" | ").append(r.singleWriterViolations())
                    .append(" | ").append(r.peakRequestsPer10s()).append(" (").append((int) r.requestBudget()).append(")")
                    .append(" | ").append(String.format(Locale.ROOT, "%.1f", r.unownedSeconds()))
                    .append(" | ").append(String.format(Locale.ROOT, "%.1f", r.allOwnedAfterFaultSeconds()))
                    .append(" | ").append(r.holds() ? "holds" : "**violated**: " + String.join("; ", r.violations())
                            .replace("|", "/"))
                    .append(" |\n");
        }
        return b.toString();
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f", d.toMillis() / 1000.0);
    }
}
