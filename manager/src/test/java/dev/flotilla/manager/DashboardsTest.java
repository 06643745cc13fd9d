package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The shape of the Grafana dashboards (Grafana itself is not reachable here; {@code DashboardQueriesRealTest} runs their
 * queries on a real Prometheus): each parses, panel ids are unique in it, every panel and target reads the
 * {@code ${datasource}} variable, panel types are ones Grafana ships, every metric an expression reads is one the code
 * defines (or a known process or Resilience4j one), rates use {@code $__rate_interval}, and uids are unique.
 */
class DashboardsTest {

    @Test
    void everyDashboardIsWellFormedAndReadsOnlyMetricsTheCodeDefines() {
        List<Dashboards.Dashboard> dashboards = Dashboards.load();
        assertThat(dashboards).extracting(Dashboards.Dashboard::file)
                .containsExactlyInAnyOrder("api-guard.json", "controller-runtime.json", "sharding.json", "tuner.json");
        Set<String> known = Dashboards.knownMetrics();
        List<String> problems = new ArrayList<>();
        for (Dashboards.Dashboard d : dashboards) {
            problems.addAll(problems(d.file(), d.json(), known));
        }
        problems.addAll(uidProblems(dashboards.stream().map(Dashboards.Dashboard::json).toList()));
        assertThat(problems).isEmpty();
        int panels = dashboards.stream().mapToInt(d -> Dashboards.panels(d.json()).size()).sum();
        int exprs = dashboards.stream().mapToInt(d -> Dashboards.expressions(d.json()).size()).sum();
        System.out.printf("DASHBOARDS dashboards=%d panels=%d expressions=%d%n", dashboards.size(), panels, exprs);
    }

    @Test
    void eachCheckFindsItsFaultInAWeakenedDashboard() {
        Set<String> known = Dashboards.knownMetrics();
        JsonNode good = Dashboards.load().getFirst().json();
        assertThat(problems("good", good, known)).isEmpty();

        ObjectNode dupId = good.deepCopy();
        ((ObjectNode) dupId.path("panels").get(1)).put("id", dupId.path("panels").get(0).path("id").asInt());
        assertThat(problems("w", dupId, known)).anyMatch(p -> p.contains("duplicate panel id"));

        ObjectNode fixedSource = good.deepCopy();
        ((ObjectNode) fixedSource.path("panels").get(1)).set("datasource", new TextNode("Prometheus"));
        assertThat(problems("w", fixedSource, known)).anyMatch(p -> p.contains("datasource"));

        ObjectNode targetSource = good.deepCopy();
        ((ObjectNode) firstTarget(targetSource).path("datasource")).put("uid", "P1809F7CD0C75ACF3");
        assertThat(problems("w", targetSource, known)).anyMatch(p -> p.contains("datasource"));

        ObjectNode oddType = good.deepCopy();
        ((ObjectNode) oddType.path("panels").get(1)).put("type", "graph");
        assertThat(problems("w", oddType, known)).anyMatch(p -> p.contains("panel type graph"));

        ObjectNode typo = good.deepCopy();
        ObjectNode t = firstTarget(typo);
        t.put("expr", t.path("expr").asText().replace("_total", "_totl"));
        assertThat(problems("w", typo, known)).anyMatch(p -> p.contains("unknown metric"));

        ObjectNode fixedRange = good.deepCopy();
        ObjectNode r = firstTarget(fixedRange);
        r.put("expr", r.path("expr").asText().replace("$__rate_interval", "5m"));
        assertThat(problems("w", fixedRange, known)).anyMatch(p -> p.contains("$__rate_interval"));

        ObjectNode variable = good.deepCopy();
        ((ObjectNode) variable.path("templating").path("list").get(1)).set("datasource", new TextNode("Prometheus"));
        assertThat(problems("w", variable, known)).anyMatch(p -> p.contains("variable"));

        assertThat(uidProblems(List.of(good, good.deepCopy()))).anyMatch(p -> p.contains("uid"));
        assertThat(Dashboards.metricNames("sum by (pod) (rate(a_total{x=\"{b}\", y=~\"c|d\"}[5m])) / on (pod) max(b_bytes) > 0.5"))
                .containsExactly("a_total", "b_bytes");
    }

    private static ObjectNode firstTarget(ObjectNode dashboard) {
        for (JsonNode p : Dashboards.panels(dashboard)) {
            if (!p.path("targets").isEmpty()) {
                return (ObjectNode) p.path("targets").get(0);
            }
        }
        throw new AssertionError("no target");
    }

    static List<String> problems(String file, JsonNode d, Set<String> known) {
        List<String> out = new ArrayList<>();
        if (d.path("uid").asText().isEmpty() || d.path("title").asText().isEmpty()) {
            out.add(file + ": no uid or title");
        }
        boolean datasourceVariable = false;
        for (JsonNode v : d.path("templating").path("list")) {
            if ("datasource".equals(v.path("type").asText()) && "datasource".equals(v.path("name").asText())
                    && "prometheus".equals(v.path("query").asText())) {
                datasourceVariable = true;
            } else if ("query".equals(v.path("type").asText()) && !readsVariable(v.path("datasource"))) {
                out.add(file + ": variable " + v.path("name").asText() + " does not read ${datasource}");
            }
        }
        if (!datasourceVariable) {
            out.add(file + ": no datasource variable of type prometheus");
        }
        try {
            for (Dashboards.Variable v : Dashboards.variables(d)) {
                Dashboards.metricNames(v.selector()).stream().filter(m -> !known.contains(m))
                        .forEach(m -> out.add(file + ": variable " + v.name() + " reads unknown metric " + m));
            }
        } catch (IllegalArgumentException e) {
            out.add(file + ": " + e.getMessage());
        }
        Set<Integer> ids = new HashSet<>();
        for (JsonNode p : Dashboards.panels(d)) {
            String where = file + " panel " + p.path("id").asText() + " '" + p.path("title").asText() + "'";
            if (!p.path("id").isInt() || !ids.add(p.path("id").asInt())) {
                out.add(where + ": duplicate panel id");
            }
            if (!Dashboards.PANEL_TYPES.contains(p.path("type").asText())) {
                out.add(where + ": panel type " + p.path("type").asText() + " is not one of " + Dashboards.PANEL_TYPES);
            }
            if (!readsVariable(p.path("datasource"))) {
                out.add(where + ": datasource is not ${datasource}");
            }
            for (JsonNode t : p.path("targets")) {
                if (!readsVariable(t.path("datasource"))) {
                    out.add(where + " target " + t.path("refId").asText() + ": datasource is not ${datasource}");
                }
                String expr = t.path("expr").asText();
                for (String m : Dashboards.metricNames(expr)) {
                    if (!known.contains(m)) {
                        out.add(where + ": unknown metric " + m + " in " + expr);
                    }
                }
                if (expr.matches("(?s).*\\b(rate|irate|increase)\\(.*") && expr.contains("rate(") && !expr.contains("$__rate_interval")) {
                    out.add(where + ": rate without $__rate_interval: " + expr);
                }
            }
        }
        return out;
    }

    private static boolean readsVariable(JsonNode datasource) {
        return Dashboards.DATASOURCE.equals(datasource.path("uid").asText()) && "prometheus".equals(datasource.path("type").asText());
    }

    static List<String> uidProblems(List<JsonNode> dashboards) {
        Map<String, Integer> uids = new HashMap<>();
        dashboards.forEach(d -> uids.merge(d.path("uid").asText(), 1, Integer::sum));
        return uids.entrySet().stream().filter(e -> e.getValue() > 1).map(e -> "uid " + e.getKey() + " used " + e.getValue() + " times")
                .toList();
    }
}
