package dev.flotilla.demo;

import dev.flotilla.cli.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of one demo run, printed as text or as one JSON object ({@code --json}).
 *
 * @param result           {@code converged}, {@code timeout} or {@code failed}
 * @param reason           why not converged; null when converged
 * @param converged        sources whose mirror is up to date, checked against the API server
 * @param timeToConvergeMs from manager start until the API server confirmed every mirror; -1 if never
 * @param reconciles       sum of controller_runtime_reconcile_total over all results
 * @param retries          workqueue_retries_total
 * @param errors           controller_runtime_reconcile_errors_total
 * @param injectedFailures first attempts failed on purpose ({@code --failure-rate})
 * @param updates          sources changed mid-run ({@code --updates})
 * @param writes           mirror creates and updates sent (flotilla_mirror_writes_total)
 * @param apiRequests      sum of rest_client_requests_total (the demo's own requests included)
 * @param metricsUrl       the /metrics URL (of the first replica), or null when the health server is off
 * @param replicas         replicas that ran
 * @param sharding         what the sharded replicas did (the kill, the handover, the audit), or null when unsharded
 * @param note             a remark on how the run differs from what was asked (e.g. the mock cannot shard), or null
 */
public record DemoSummary(String result, String reason, int objects, int namespaces, int workers, int converged,
        long timeToConvergeMs, long elapsedMs, long reconciles, long retries, long errors, long injectedFailures,
        int updates, long writes, long apiRequests, String backend, String metricsUrl, int replicas,
        ShardingOutcome sharding, String note) {

    public static final String CONVERGED = "converged";
    public static final String TIMEOUT = "timeout";
    public static final String FAILED = "failed";

    /**
     * The sharded part of a run.
     *
     * @param killed               the replica killed without warning, or null (one replica: no kill)
     * @param killAtMs             when, from the managers' start; -1 without a kill
     * @param killedShards         shards it was working on when killed
     * @param killedNamespaces     demo namespaces in those shards
     * @param killedSources        source ConfigMaps in those namespaces
     * @param handoverMs           from the kill until every one of its shards was active on a survivor; -1 if never
     * @param takenOver            how many of its shards were active on a survivor at the end
     * @param shardsAtEnd          the shards each surviving replica worked on at the end, by replica
     * @param coordinatorAtEnd     the coordinator at the end
     * @param auditedReconciles    reconciles in the audit trail (all replicas)
     * @param overlaps             reconciles of one namespace by two replicas at overlapping times (must be 0)
     * @param firstOverlap         the first such overlap, or null
     */
    public record ShardingOutcome(int shards, String leaseDuration, String renewDeadline, String retryPeriod,
            String killed, boolean killedWasCoordinator, long killAtMs, int killedShards, int killedNamespaces,
            int killedSources, long handoverMs, int takenOver, Map<String, List<Integer>> shardsAtEnd,
            String coordinatorAtEnd, long auditedReconciles, int overlaps, String firstOverlap) {

        Map<String, Object> fields() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("shards", shards);
            m.put("leaseDuration", leaseDuration);
            m.put("renewDeadline", renewDeadline);
            m.put("retryPeriod", retryPeriod);
            m.put("killed", killed);
            m.put("killedWasCoordinator", killedWasCoordinator);
            m.put("killAtMs", killAtMs);
            m.put("killedShards", killedShards);
            m.put("killedNamespaces", killedNamespaces);
            m.put("killedSources", killedSources);
            m.put("handoverMs", handoverMs);
            m.put("takenOver", takenOver);
            m.put("shardsAtEnd", shardsAtEnd);
            m.put("coordinatorAtEnd", coordinatorAtEnd);
            m.put("auditedReconciles", auditedReconciles);
            m.put("overlaps", overlaps);
            m.put("firstOverlap", firstOverlap);
            return m;
        }
    }

    public boolean isConverged() {
        return CONVERGED.equals(result);
    }

    /** Field order as printed. */
    Map<String, Object> fields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", result);
        m.put("objects", objects);
        m.put("namespaces", namespaces);
        m.put("workers", workers);
        m.put("converged", converged);
        m.put("timeToConvergeMs", timeToConvergeMs);
        m.put("elapsedMs", elapsedMs);
        m.put("reconciles", reconciles);
        m.put("retries", retries);
        m.put("errors", errors);
        m.put("injectedFailures", injectedFailures);
        m.put("updates", updates);
        m.put("writes", writes);
        m.put("apiRequests", apiRequests);
        m.put("backend", backend);
        m.put("metricsUrl", metricsUrl);
        m.put("replicas", replicas);
        m.put("sharding", sharding == null ? null : sharding.fields());
        m.put("note", note);
        m.put("reason", reason);
        return m;
    }

    /** One line of JSON. */
    public String toJson() {
        return Json.write(fields());
    }

    /** The human summary, several lines. */
    public String toText() {
        String pct = objects == 0 ? "" : String.format(Locale.ROOT, " (%.0f%%)", 100.0 * converged / objects);
        StringBuilder b = new StringBuilder();
        b.append("flotilla demo: ").append(isConverged() ? "all mirrors converged" : result + " - " + reason).append('\n');
        row(b, "objects", objects + " ConfigMaps in " + namespaces + " namespaces, " + workers + " workers"
                + (replicas > 1 ? " per replica" : ""));
        row(b, "converged", converged + "/" + objects + pct);
        row(b, "time to converge", timeToConvergeMs < 0 ? "-" : timeToConvergeMs + " ms");
        row(b, "reconciles", Long.toString(reconciles));
        row(b, "retries", retries + " (injected failures " + injectedFailures + ")");
        row(b, "errors", Long.toString(errors));
        row(b, "updates", updates + " sources changed mid-run");
        row(b, "writes", writes + " mirror creates and updates");
        row(b, "API requests", Long.toString(apiRequests));
        if (sharding == null) {
            row(b, "replicas", replicas + " (unsharded)");
        } else {
            ShardingOutcome s = sharding;
            row(b, "replicas", replicas + " sharded, " + s.shards() + " shards, leases " + s.leaseDuration() + "/"
                    + s.renewDeadline() + "/" + s.retryPeriod() + " (duration/renew deadline/retry)");
            if (s.killed() == null) {
                row(b, "killed", "none (one replica)");
            } else {
                row(b, "killed", String.format(Locale.ROOT, "%s at %.1fs without warning%s: it held %d shards (%d of the "
                        + "namespaces, %d sources)", s.killed(), s.killAtMs() / 1000.0,
                        s.killedWasCoordinator() ? " (the coordinator)" : "", s.killedShards(), s.killedNamespaces(),
                        s.killedSources()));
                row(b, "handover", s.handoverMs() < 0
                        ? "incomplete: " + s.takenOver() + "/" + s.killedShards() + " of its shards active on the survivors"
                        : s.handoverMs() + " ms from the kill until all " + s.killedShards()
                                + " of its shards were active on the survivors");
            }
            List<String> owners = new ArrayList<>();
            s.shardsAtEnd().forEach((replica, shards) -> owners.add(replica + " " + shards.size() + " [" + ranges(shards) + "]"));
            row(b, "shards at end", String.join(", ", owners) + (s.coordinatorAtEnd() == null ? ""
                    : "; coordinator " + s.coordinatorAtEnd()));
            row(b, "overlap check", s.overlaps() + " overlaps in " + s.auditedReconciles()
                    + " audited reconciles (a namespace reconciled by two replicas at once)"
                    + (s.firstOverlap() == null ? "" : "; first: " + s.firstOverlap()));
        }
        row(b, "backend", backend);
        row(b, "metrics", metricsUrl == null ? "off" : metricsUrl);
        if (note != null) {
            row(b, "note", note);
        }
        return b.toString();
    }

    /** 0,1,2,3,7,9,10 -> "0-3,7,9-10". */
    static String ranges(List<Integer> sorted) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < sorted.size()) {
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) {
                j++;
            }
            if (b.length() > 0) {
                b.append(',');
            }
            b.append(sorted.get(i));
            if (j > i) {
                b.append('-').append(sorted.get(j));
            }
            i = j + 1;
        }
        return b.toString();
    }

    private static void row(StringBuilder b, String name, String value) {
        b.append(String.format(Locale.ROOT, "  %-17s %s%n", name, value));
    }
}
