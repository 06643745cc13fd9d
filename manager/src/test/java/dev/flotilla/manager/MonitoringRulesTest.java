package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.resilience.guard.GuardMetricNames;
import dev.flotilla.sharding.ShardMetrics;
import dev.flotilla.tuning.controller.TunerMetrics;
import dev.flotilla.testing.docs.MarkdownBlocks;
import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The alerting rules of {@code deploy/components/monitoring}: they live once, in the PrometheusRule; its {@code spec}
 * is extracted into a plain rules file, which {@code promtool check rules} accepts and on which the committed unit
 * tests ({@code tests/*.yaml}, not part of the kustomization) pass. Every alert has a case where it fires and one where
 * it does not, a severity, a summary, a description and a runbook link to a heading of deploy/README.md; every metric
 * the rules read is one the code names. Broken copies of the rules make promtool fail.
 */
class MonitoringRulesTest {

    static final Path COMPONENT = MarkdownBlocks.repositoryFile("deploy").resolve("components/monitoring");
    static final String RULES_FILE = "flotilla-rules.yaml"; // the name the test files' rule_files lists
    // Expressions as block literals and never wrapped, so the extracted file reads like the PrometheusRule.
    static final YAMLMapper YAML = YAMLMapper.builder().disable(YAMLGenerator.Feature.SPLIT_LINES)
            .enable(YAMLGenerator.Feature.LITERAL_BLOCK_STYLE).build();

    @TempDir
    Path tmp;
    Path promtool;

    /** Skips the calling test, saying why, when promtool is not installed; the checks of the YAML alone still run. */
    void requirePromtool() {
        Optional<Path> found = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .map(d -> Path.of(d, "promtool")).filter(Files::isExecutable).findFirst();
        Assumptions.assumeTrue(found.isPresent(),
                "promtool is not on PATH: scripts/prometheus.sh (run by test.sh) installs Debian's prometheus package, which has it");
        promtool = found.get();
    }

    /** The PrometheusRule's spec, as a plain Prometheus rules file in {@code dir} beside copies of the test files. */
    static String extractedRules() throws Exception {
        JsonNode rule = YAML.readTree(COMPONENT.resolve("prometheusrule.yaml").toFile());
        assertThat(rule.path("kind").asText()).isEqualTo("PrometheusRule");
        return YAML.writeValueAsString(rule.get("spec"));
    }

    /** Writes {@code rules} and copies of the test files into a new directory {@code name} of the temporary one. */
    List<Path> prepare(String name, String rules) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve(RULES_FILE), rules);
        List<Path> tests = new ArrayList<>();
        try (Stream<Path> files = Files.list(COMPONENT.resolve("tests"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                tests.add(Files.copy(f, dir.resolve(f.getFileName())));
            }
        }
        assertThat(tests).as("promtool test files in %s", COMPONENT.resolve("tests")).isNotEmpty();
        return tests;
    }

    record Run(int code, String out) {
    }

    /** Runs promtool in {@code dir}, where the rules file and the tests are. */
    Run promtool(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(promtool.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("promtool " + String.join(" ", args) + " did not finish within 120 s");
        }
        return new Run(p.exitValue(), out);
    }

    Run testRules(List<Path> tests) throws Exception {
        List<String> args = new ArrayList<>(List.of("test", "rules"));
        tests.forEach(t -> args.add(t.getFileName().toString()));
        return promtool(tests.getFirst().getParent(), args.toArray(String[]::new));
    }

    /** Every alert rule of the PrometheusRule, by name. */
    static Map<String, JsonNode> alerts() throws Exception {
        Map<String, JsonNode> alerts = new LinkedHashMap<>();
        for (JsonNode group : YAML.readTree(extractedRules()).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.has("alert")) {
                    assertThat(alerts.put(rule.get("alert").asText(), rule)).as("alert %s defined twice", rule.get("alert")).isNull();
                }
            }
        }
        return alerts;
    }

    @Test
    void theRulesPassPromtoolsCheckAndTheirUnitTests() throws Exception {
        requirePromtool();
        List<Path> tests = prepare("shipped", extractedRules());
        Run check = promtool(tests.getFirst().getParent(), "check", "rules", RULES_FILE);
        assertThat(check.code()).as(check.out()).isZero();
        assertThat(check.out()).contains("SUCCESS: " + alerts().size() + " rules found");
        Run test = testRules(tests);
        assertThat(test.code()).as(test.out()).isZero();
        assertThat(test.out()).contains("SUCCESS");
    }

    @Test
    void everyAlertHasACaseWhereItFiresAndOneWhereItDoesNot() throws Exception {
        Set<String> fires = new TreeSet<>();
        Set<String> quiet = new TreeSet<>();
        try (Stream<Path> files = Files.list(COMPONENT.resolve("tests"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                JsonNode doc = YAML.readTree(f.toFile());
                assertThat(doc.path("rule_files")).extracting(JsonNode::asText).containsExactly(RULES_FILE);
                for (JsonNode test : doc.path("tests")) {
                    for (JsonNode c : test.path("alert_rule_test")) {
                        (c.path("exp_alerts").isEmpty() ? quiet : fires).add(c.path("alertname").asText());
                    }
                }
            }
        }
        Set<String> names = alerts().keySet();
        assertThat(fires).as("alerts with a case where they fire").containsAll(names);
        assertThat(quiet).as("alerts with a case where they do not fire").containsAll(names);
        assertThat(names).as("alerts the tests name").containsAll(fires).containsAll(quiet);
    }

    /** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as dashes. */
    static String anchor(String heading) {
        return heading.trim().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9 _-]", "").replace(' ', '-');
    }

    @Test
    void everyAlertHasASeverityASummaryADescriptionAndARunbookParagraph() throws Exception {
        Set<String> anchors = new TreeSet<>();
        for (String line : Files.readAllLines(MarkdownBlocks.repositoryFile("deploy/README.md"))) {
            if (line.startsWith("#")) {
                anchors.add(anchor(line.replaceFirst("^#+", "")));
            }
        }
        alerts().forEach((name, rule) -> {
            assertThat(rule.path("labels").path("severity").asText()).as("severity of %s", name).isIn("critical", "warning", "info");
            assertThat(rule.path("annotations").path("summary").asText()).as("summary of %s", name).isNotBlank();
            assertThat(rule.path("annotations").path("description").asText()).as("description of %s", name).isNotBlank();
            String url = rule.path("annotations").path("runbook_url").asText();
            assertThat(url).as("runbook_url of %s", name).isEqualTo("deploy/README.md#" + anchor(name));
            assertThat(anchors).as("a heading of deploy/README.md for %s", name).contains(anchor(name));
        });
    }

    /** The names the code defines as constants in its one class per module. */
    static Set<String> namedInCode() throws Exception {
        Set<String> names = new TreeSet<>();
        for (Class<?> c : List.of(MetricNames.class, ShardMetrics.class, GuardMetricNames.class, TunerMetrics.class)) {
            for (Field f : c.getFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class && !f.getName().startsWith("LABEL_")) {
                    names.add((String) f.get(null));
                }
            }
        }
        return names;
    }

    @Test
    void everyMetricTheRulesReadIsOneTheCodeNames() throws Exception {
        Set<String> read = new TreeSet<>();
        // A metric name: an identifier outside label matchers and label lists that is not a function or a keyword.
        Set<String> keywords = Set.of("by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                "bool", "offset");
        Matcher m = Pattern.compile("\\b([a-zA-Z_:][a-zA-Z0-9_:]*)\\b(?!\\s*\\()").matcher("");
        for (JsonNode rule : alerts().values()) {
            m.reset(rule.get("expr").asText().replaceAll("\\{[^}]*\\}", " ")
                    .replaceAll("\\b(by|without|on|ignoring)\\s*\\([^)]*\\)", " "));
            while (m.find()) {
                if (!keywords.contains(m.group(1))) {
                    read.add(m.group(1));
                }
            }
        }
        Set<String> ours = new TreeSet<>(read);
        ours.removeIf(n -> n.equals("up") || n.startsWith("kube_") // Prometheus's own, kube-state-metrics'
                || n.startsWith("resilience4j_")); // Resilience4j's own meters (TaggedCircuitBreakerMetrics)
        assertThat(ours).as("metrics the rules read").isNotEmpty();
        assertThat(namedInCode()).as("metric constants of MetricNames, ShardMetrics, GuardMetricNames, TunerMetrics").containsAll(ours);
        assertThat(read).contains("resilience4j_circuitbreaker_state", TunerMetrics.ACTIONS_TOTAL, TunerMetrics.SIGNAL_FAILURES_TOTAL);
    }

    /**
     * The tests can fail: a threshold moved, a metric misspelt, the {@code for} of an alert dropped each make promtool's
     * unit tests fail naming the alert, and an expression that does not parse fails its check.
     */
    @Test
    void brokenCopiesOfTheRulesFailPromtool() throws Exception {
        requirePromtool();
        String rules = extractedRules();
        record Edit(String alert, String from, String to) {
        }
        List<Edit> edits = List.of(
                new Edit("FlotillaLeaseRenewalsFailing", "[5m])) > 5", "[5m])) > 4"), // fires for 5 failures too
                new Edit("FlotillaShardWithoutOwner", "(flotilla_shards_owned)", "(flotilla_shard_owned)"), // never fires
                new Edit("FlotillaShardWithoutOwner", "for: \"2m\"", "for: \"0s\""), // fires at once
                new Edit("FlotillaReconcileErrorsHigh", "> 0.1", "> 0.3")); // misses 30% errors
        int i = 0;
        for (Edit e : edits) {
            assertThat(rules).as("the text %s edits", e.alert()).containsOnlyOnce(e.from());
            List<Path> tests = prepare("broken-" + i++, rules.replace(e.from(), e.to()));
            Run run = testRules(tests);
            assertThat(run.code()).as("promtool test rules with %s changed to %s:%n%s", e.from(), e.to(), run.out()).isNotZero();
            assertThat(run.out()).contains("alertname: " + e.alert());
        }
        // An expression that does not parse: promtool's check fails on it, naming the rule.
        List<Path> tests = prepare("unparsable", rules.replace("max_over_time(", "max_over_time(("));
        Run check = promtool(tests.getFirst().getParent(), "check", "rules", RULES_FILE);
        assertThat(check.code()).as(check.out()).isNotZero();
        assertThat(check.out()).contains("\"FlotillaCircuitBreakerOpen\": could not parse expression");
    }
}
