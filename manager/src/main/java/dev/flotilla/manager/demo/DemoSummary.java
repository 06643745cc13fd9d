package dev.flotilla.manager.demo;

import java.util.LinkedHashMap;
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
 * @param writes           server-side applies of mirrors (flotilla_mirror_applies_total)
 * @param apiRequests      sum of rest_client_requests_total (the demo's own requests included)
 * @param metricsUrl       the /metrics URL, or null when the health server is off
 */
public record DemoSummary(String result, String reason, int objects, int namespaces, int workers, int converged,
        long timeToConvergeMs, long elapsedMs, long reconciles, long retries, long errors, long injectedFailures,
        int updates, long writes, long apiRequests, String backend, String metricsUrl) {

    public static final String CONVERGED = "converged";
    public static final String TIMEOUT = "timeout";
    public static final String FAILED = "failed";

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
        m.put("reason", reason);
        return m;
    }

    /** One line of JSON. */
    public String toJson() {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Object> e : fields().entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            b.append('"').append(e.getKey()).append("\":");
            Object v = e.getValue();
            if (v == null) {
                b.append("null");
            } else if (v instanceof Number) {
                b.append(v);
            } else {
                quote(b, v.toString());
            }
        }
        return b.append('}').toString();
    }

    /** The human summary, several lines. */
    public String toText() {
        String pct = objects == 0 ? "" : String.format(Locale.ROOT, " (%.0f%%)", 100.0 * converged / objects);
        StringBuilder b = new StringBuilder();
        b.append("flotilla demo: ").append(isConverged() ? "all mirrors converged" : result + " - " + reason).append('\n');
        row(b, "objects", objects + " ConfigMaps in " + namespaces + " namespaces, " + workers + " workers");
        row(b, "converged", converged + "/" + objects + pct);
        row(b, "time to converge", timeToConvergeMs < 0 ? "-" : timeToConvergeMs + " ms");
        row(b, "reconciles", Long.toString(reconciles));
        row(b, "retries", retries + " (injected failures " + injectedFailures + ")");
        row(b, "errors", Long.toString(errors));
        row(b, "updates", updates + " sources changed mid-run");
        row(b, "writes", writes + " server-side applies");
        row(b, "API requests", Long.toString(apiRequests));
        row(b, "backend", backend);
        row(b, "metrics", metricsUrl == null ? "off" : metricsUrl);
        return b.toString();
    }

    private static void row(StringBuilder b, String name, String value) {
        b.append(String.format(Locale.ROOT, "  %-17s %s%n", name, value));
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
