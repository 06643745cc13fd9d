package dev.flotilla.manager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.resilience.guard.GuardMetricNames;
import dev.flotilla.sharding.ShardMetrics;
import dev.flotilla.testing.docs.MarkdownBlocks;
import dev.flotilla.tuning.controller.TunerMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Grafana dashboards of deploy/components/monitoring/dashboards as the tests read them: their panels
 * (rows' nested panels included), the PromQL of every target and variable, and the metric names in it.
 */
final class Dashboards {

    static final Path DIR = MarkdownBlocks.repositoryFile("deploy").resolve("components/monitoring/dashboards");
    static final Set<String> PANEL_TYPES = Set.of("timeseries", "stat", "gauge", "table", "heatmap", "bargauge", "text", "row",
            "state-timeline");
    static final String DATASOURCE = "${datasource}";

    /** resilience4j-micrometer's names as the Prometheus registry exposes them (tagged binders the guard binds). */
    static final Set<String> RESILIENCE4J_METRICS = Set.of("resilience4j_circuitbreaker_state",
            "resilience4j_circuitbreaker_failure_rate", "resilience4j_circuitbreaker_not_permitted_calls_total",
            "resilience4j_retry_calls_total", "resilience4j_ratelimiter_available_permissions",
            "resilience4j_ratelimiter_waiting_threads");

    private static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
            "offset", "bool", "and", "or", "unless", "inf", "nan");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_VALUES = Pattern.compile("^label_values\\((.*),\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*\\)$");

    record Dashboard(String file, JsonNode json) {
        String uid() {
            return json.path("uid").asText();
        }
    }

    /** A query variable: {@code label_values(selector, label)}; {@code multi} when "All" and several values may be chosen. */
    record Variable(String name, String selector, String label, boolean multi) {
    }

    private Dashboards() {
    }

    static List<Dashboard> load() {
        try (Stream<Path> files = Files.list(DIR)) {
            ObjectMapper json = new ObjectMapper();
            List<Dashboard> out = new ArrayList<>();
            for (Path f : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                out.add(new Dashboard(f.getFileName().toString(), json.readTree(f.toFile())));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every panel, a row's collapsed panels included. */
    static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode p : dashboard.path("panels")) {
            out.add(p);
            p.path("panels").forEach(out::add);
        }
        return out;
    }

    static List<String> expressions(JsonNode dashboard) {
        List<String> out = new ArrayList<>();
        for (JsonNode p : panels(dashboard)) {
            for (JsonNode t : p.path("targets")) {
                out.add(t.path("expr").asText());
            }
        }
        return out;
    }

    static List<Variable> variables(JsonNode dashboard) {
        List<Variable> out = new ArrayList<>();
        for (JsonNode v : dashboard.path("templating").path("list")) {
            if (!"query".equals(v.path("type").asText())) {
                continue;
            }
            JsonNode q = v.path("query");
            String query = q.isTextual() ? q.asText() : q.path("query").asText();
            Matcher m = LABEL_VALUES.matcher(query.trim());
            if (!m.matches()) {
                throw new IllegalArgumentException("variable " + v.path("name").asText() + ": not label_values(selector, label): "
                        + query);
            }
            out.add(new Variable(v.path("name").asText(), m.group(1).trim(), m.group(2), v.path("multi").asBoolean()));
        }
        return out;
    }

    /** The metric names an expression reads: identifiers outside strings, selectors, ranges and label lists, not functions. */
    static Set<String> metricNames(String expr) {
        String s = expr.replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"") // strings first: they may hold braces
                .replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\[[^]]*]", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
        Set<String> out = new LinkedHashSet<>();
        Matcher m = IDENTIFIER.matcher(s);
        while (m.find()) {
            String id = m.group();
            int next = m.end();
            while (next < s.length() && Character.isWhitespace(s.charAt(next))) {
                next++;
            }
            boolean function = next < s.length() && s.charAt(next) == '(';
            boolean number = m.start() > 0 && (Character.isDigit(s.charAt(m.start() - 1)) || s.charAt(m.start() - 1) == '.');
            if (!function && !number && !PROMQL_WORDS.contains(id.toLowerCase())) {
                out.add(id);
            }
        }
        return out;
    }

    /**
     * Every series name the code defines (the constants of controller-core's MetricNames, the guard's, sharding's and the
     * tuner's, with a timer's {@code _bucket}, {@code _count}, {@code _sum}; MetricNames holds the process metrics too), and
     * Resilience4j's names.
     */
    static Set<String> knownMetrics() {
        Set<String> out = new TreeSet<>();
        for (Class<?> names : List.of(MetricNames.class, GuardMetricNames.class, ShardMetrics.class, TunerMetrics.class)) {
            for (Field f : names.getFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class && !f.getName().startsWith("LABEL_")) {
                    try {
                        String name = (String) f.get(null);
                        out.add(name);
                        if (name.endsWith("_seconds")) {
                            out.addAll(List.of(name + "_bucket", name + "_count", name + "_sum"));
                        }
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }
        out.addAll(RESILIENCE4J_METRICS);
        return out;
    }

    /** {@code text} with Grafana's built-in interval as {@code interval} and each {@code $var}/{@code ${var}} replaced. */
    static String substitute(String text, String interval, java.util.Map<String, String> values) {
        String out = text.replace("$__rate_interval", interval);
        List<String> names = new ArrayList<>(values.keySet());
        names.sort((a, b) -> b.length() - a.length()); // $tuned_namespace before $namespace's prefix cannot clash
        for (String n : names) {
            out = out.replace("${" + n + "}", values.get(n)).replace("$" + n, values.get(n));
        }
        return out;
    }
}
