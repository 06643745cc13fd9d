package dev.flotilla.sharding.auditlog;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The invariants of a chaos run, judged from the API server's audit log: single writer
 * ({@link SingleWriterCheck}), request budgets and no retry storm after recovery
 * ({@link RequestBudgetCheck}), and range ownership ({@link RangeOwnershipCheck}). Written as JSON
 * for machines and as Markdown tables for a results file.
 *
 * <pre>{@code
 * SingleWriterCheck singleWriter;
 * RequestBudgetCheck budgets;
 * RangeOwnershipCheck ownership;
 * Instant from;
 * Instant to;
 * Instant faultEnd;
 * List<AuditedRequest> log = AuditLog.read(Path.of("audit.log"));
 * var verdict = new ChaosVerdict(singleWriter.violations(log), budgets.check(log, from, to, Optional.of(faultEnd)),
 *         ownership.check(log, from, to, faultEnd));
 * if (!verdict.holds()) verdict.failures().forEach(System.out::println);
 * System.out.print(verdict.toMarkdown());
 * }</pre>
 *
 * @param singleWriter writes accepted from one replica while another held their shard
 */
public record ChaosVerdict(List<SingleWriterCheck.Violation> singleWriter, RequestBudgetCheck.Result requests,
        RangeOwnershipCheck.Result ownership) {

    private static final KubernetesSerialization JSON = new KubernetesSerialization();

    public ChaosVerdict {
        singleWriter = List.copyOf(singleWriter);
        Objects.requireNonNull(requests, "requests");
        Objects.requireNonNull(ownership, "ownership");
    }

    /** Whether every invariant holds. */
    public boolean holds() {
        return failures().isEmpty();
    }

    /** One line per violation, each starting with its invariant's name. */
    public List<String> failures() {
        List<String> out = new ArrayList<>();
        singleWriter.forEach(v -> out.add("single writer: " + v));
        requests.failures().forEach(f -> out.add("request budget: " + f));
        ownership.violations().forEach(v -> out.add("range ownership: " + v));
        return out;
    }

    /** One JSON object: {@code holds}, {@code failures}, then {@code singleWriter}, {@code requestBudget}, {@code ownership}. */
    public String toJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("holds", holds());
        root.put("failures", failures());
        root.put("singleWriter", Map.of("holds", singleWriter.isEmpty(), "violations", singleWriter.stream().map(v -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("shard", v.shard());
            m.put("holder", v.holder());
            m.put("acquiredAt", v.acquiredAt().toString());
            m.put("writer", v.write().user());
            m.put("write", v.write().verb() + " " + v.write().resource() + " " + v.write().namespace() + "/" + v.write().name());
            m.put("acceptedAt", v.write().completed().toString());
            return m;
        }).toList()));
        Map<String, Object> budget = new LinkedHashMap<>();
        budget.put("holds", requests.holds());
        budget.put("budget", requests.budget());
        budget.put("leaseBudget", requests.leaseBudget());
        requests.recovery().ifPresent(r -> budget.put("recovery", r.toString()));
        budget.put("identities", requests.identities().stream().map(i -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("identity", i.identity());
            m.put("peak", window(i.peak()));
            m.put("violations", i.violations().stream().map(ChaosVerdict::window).toList());
            m.put("leasePeak", window(i.leasePeak()));
            m.put("leaseViolations", i.leaseViolations().stream().map(ChaosVerdict::window).toList());
            i.afterRecoveryPeak().ifPresent(w -> m.put("afterRecoveryPeak", window(w)));
            i.afterRecoveryLeasePeak().ifPresent(w -> m.put("afterRecoveryLeasePeak", window(w)));
            return m;
        }).toList());
        root.put("requestBudget", budget);
        Map<String, Object> owned = new LinkedHashMap<>();
        owned.put("holds", ownership.holds());
        owned.put("from", ownership.from().toString());
        owned.put("to", ownership.to().toString());
        owned.put("faultEnd", ownership.faultEnd().toString());
        owned.put("deadline", ownership.deadline().toString());
        owned.put("violations", ownership.violations().stream().map(Object::toString).toList());
        owned.put("shards", ownership.shards().stream().map(s -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("shard", s.shard());
            m.put("unownedSeconds", seconds(s.unowned()));
            m.put("twoOwnersSeconds", seconds(s.twoOwners()));
            m.put("longestUnownedSeconds", seconds(s.longestUnowned()));
            m.put("timeline", s.spans().stream().map(span -> Map.of("from", span.from().toString(), "to",
                    span.to().toString(), "owners", span.owners())).toList());
            return m;
        }).toList());
        root.put("ownership", owned);
        return JSON.asJson(root);
    }

    /**
     * One line per invariant: its name, {@code holds} or {@code VIOLATED}, and in brackets what was
     * measured, e.g. {@code range ownership: holds (every range owned by exactly one live replica by
     * 2026-12-03T10:00:17Z; longest unowned 0.5 s)}.
     */
    public List<String> summary() {
        return rows().stream().map(r -> r.invariant() + ": " + (r.holds() ? "holds" : "VIOLATED") + " (" + r.detail() + ")")
                .toList();
    }

    /** An invariant's line of the summary. */
    private record Row(String invariant, boolean holds, String detail) {
    }

    private List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("single writer", singleWriter.isEmpty(), singleWriter.size()
                + " writes accepted while another replica held their shard"));
        Optional<RequestBudgetCheck.IdentityResult> busiest = requests.identities().stream()
                .max(java.util.Comparator.comparingInt(i -> i.peak().requests()));
        int leasePeak = requests.identities().stream().mapToInt(i -> i.leasePeak().requests()).max().orElse(0);
        rows.add(new Row("request budget", requests.identities().stream().allMatch(i -> i.violations().isEmpty()
                && i.leaseViolations().isEmpty()), busiest.map(i -> requests.identities().size() + " identities; peak "
                + i.peak().requests() + " of " + RequestBudgetCheck.format(requests.budget()) + " requests/10 s ("
                + i.identity() + "); Lease peak " + leasePeak + " of " + requests.leaseBudget())
                .orElse("no judged identity sent anything")));
        if (requests.recovery().isPresent()) {
            int peak = requests.identities().stream().mapToInt(i -> i.afterRecoveryPeak().map(
                    RequestBudgetCheck.Window::requests).orElse(0)).max().orElse(0);
            rows.add(new Row("no retry storm after recovery", requests.identities().stream().allMatch(i ->
                    i.afterRecoveryPeak().map(w -> w.requests() <= requests.budget()).orElse(true)
                            && i.afterRecoveryLeasePeak().map(w -> w.requests() <= requests.leaseBudget()).orElse(true)),
                    "peak " + peak + " requests/10 s in the 30 s after " + requests.recovery().get()));
        }
        Duration unowned = ownership.shards().stream().map(RangeOwnershipCheck.ShardTimeline::longestUnowned)
                .max(Duration::compareTo).orElse(Duration.ZERO);
        rows.add(new Row("range ownership", ownership.holds(), ownership.shards().size() + " ranges, each to be owned by"
                + " exactly one live replica by " + ownership.deadline() + "; longest unowned "
                + RangeOwnershipCheck.seconds(unowned) + " s"));
        return rows;
    }

    /** A summary table of the invariants, the per-identity and per-shard tables, then the failures. */
    public String toMarkdown() {
        StringBuilder b = new StringBuilder();
        b.append("# Chaos verdict: ").append(holds() ? "every invariant holds" : "VIOLATED").append("\n\n");
        b.append("| invariant | verdict | detail |\n|---|---|---|\n");
        for (Row r : rows()) {
            b.append("| ").append(r.invariant()).append(" | ").append(r.holds() ? "holds" : "VIOLATED").append(" | ")
                    .append(r.detail().replace("|", "\\|")).append(" |\n");
        }
        b.append("\n| identity | peak requests/10 s | from | Lease peak/10 s | after-recovery peak | over budget |\n"
                + "|---|---|---|---|---|---|\n");
        for (RequestBudgetCheck.IdentityResult i : requests.identities()) {
            b.append("| ").append(i.identity()).append(" | ").append(i.peak().requests()).append(" | ")
                    .append(i.peak().start()).append(" | ").append(i.leasePeak().requests()).append(" | ")
                    .append(i.afterRecoveryPeak().map(w -> Integer.toString(w.requests())).orElse("-")).append(" | ")
                    .append(i.violations().size() + i.leaseViolations().size()).append(" |\n");
        }
        b.append("\n| shard | unowned s | two owners s | longest unowned s | owners (last) |\n|---|---|---|---|---|\n");
        for (RangeOwnershipCheck.ShardTimeline s : ownership.shards()) {
            b.append("| ").append(s.shard()).append(" | ").append(RangeOwnershipCheck.seconds(s.unowned())).append(" | ")
                    .append(RangeOwnershipCheck.seconds(s.twoOwners())).append(" | ")
                    .append(RangeOwnershipCheck.seconds(s.longestUnowned())).append(" | ")
                    .append(s.spans().isEmpty() || s.spans().getLast().owners().isEmpty() ? "-"
                            : String.join(", ", s.spans().getLast().owners()))
                    .append(" |\n");
        }
        List<String> failures = failures();
        if (!failures.isEmpty()) {
            b.append("\nViolations:\n\n");
            failures.forEach(f -> b.append("- ").append(f.replace("|", "\\|")).append('\n'));
        }
        return b.toString();
    }

    private static Map<String, Object> window(RequestBudgetCheck.Window w) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("start", w.start().toString());
        m.put("requests", w.requests());
        return m;
    }

    private static double seconds(Duration d) {
        return Math.round(d.toMillis() / 100.0) / 10.0;
    }
}
