package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.testing.docs.MarkdownBlocks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * deploy/chaos/: Chaos Mesh experiments, checked without a cluster. Each is one document of one of five kinds, named
 * as its file, aimed at deploy/base's Pods (namespace and pod label read from deploy/base, not written here), says
 * first what it proves, and stays within the fields of Chaos Mesh's v1alpha1 types that the local engine reads
 * (field names and types as in Chaos Mesh's {@code api/v1alpha1/*_types.go}). The README's table lists every file,
 * and no install includes the directory.
 */
class ChaosExperimentsTest {

    private static final Path DEPLOY = MarkdownBlocks.repositoryFile("deploy");
    private static final Path CHAOS = DEPLOY.resolve("chaos");
    private static final Set<String> KINDS = Set.of("PodChaos", "NetworkChaos", "HTTPChaos", "StressChaos", "TimeChaos");
    private static final Set<String> MODES = Set.of("one", "all", "fixed", "fixed-percent", "random-max-percent");
    /** The label a replica puts on its own Pod while it coordinates: the one selector label besides the deploy's. */
    private static final Map<String, String> COORDINATOR_LABEL = Map.of("flotilla.dev/role", "coordinator");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    /** Chaos Mesh's pattern for a netem latency or jitter (DelaySpec). */
    private static final Pattern NETEM_TIME = Pattern.compile("[0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)");
    /** A percentage as Chaos Mesh's FloatStr fields take it: a number in a string. */
    private static final Pattern FLOAT_STR = Pattern.compile("[0-9]+(\\.[0-9]+)?");
    /** Chaos Mesh's bandwidth rate units (isValidRateUnit); "bps" is bytes per second. */
    private static final Pattern RATE = Pattern.compile("[0-9]+ ?(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)");
    /** A Go duration of one unit, signed (TimeChaos timeOffset) or not (HTTPChaos delay). */
    private static final Pattern GO_DURATION = Pattern.compile("[+-]?[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)");
    private static final Pattern MEMORY_SIZE = Pattern.compile("[0-9]+(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB|%)");
    private static final Pattern SECONDS = Pattern.compile("([1-9][0-9]*)s");
    /** A fault length as the comments state it; shorter ones ("held for 2 s") are the fault's own parameters. */
    private static final Pattern STATED_LENGTH = Pattern.compile("for ([1-9][0-9]+) s\\b");

    /** Short faults, one at a time, short enough to repeat. */
    private static final int MIN_SECONDS = 10;
    private static final int MAX_SECONDS = 30;
    /**
     * Faults that cut a replica off from the API server claim a fence or a takeover: they outlast the deploy's lease
     * duration (the sharding default, which the base does not override) by 5 s.
     */
    private static final int CUT_OFF_MIN_SECONDS = (int) ShardingConfig.DEFAULT_LEASE_DURATION.toSeconds() + 5;

    /** Chaos Mesh's kinds that fire or combine the five: a Schedule embeds one chaos, a Workflow several. */
    private static final Set<String> COMPOSITE_KINDS = Set.of("Schedule", "Workflow");
    /** The one expression selector used: "not the coordinator" (Chaos Mesh label selectors match equality only). */
    private static final Map<String, Object> NOT_COORDINATOR = Map.of("key", "flotilla.dev/role", "operator", "DoesNotExist");
    /** The local engine's annotation for how many times it fires a Schedule (chaos-tests' ChaosDocuments). */
    private static final String FIRINGS_ANNOTATION = "chaos.flotilla.dev/firings";

    /** Single-chaos documents, and the chaos each Schedule or Workflow embeds (named file#template). */
    private static List<Experiment> experiments;
    private static List<Experiment> embedded;
    private static List<Experiment> composites;
    private static String namespace;
    private static Map<String, Object> podLabels;
    private static int replicas;
    private static String container;

    /** @param deadline a workflow chaos node's deadline (how long its chaos lasts), else empty */
    record Experiment(String file, String text, Map<String, Object> doc, java.util.Optional<String> deadline) {
        Experiment(String file, String text, Map<String, Object> doc) {
            this(file, text, doc, java.util.Optional.empty());
        }

        String kind() {
            return (String) doc.get("kind");
        }

        Map<String, Object> spec() {
            return map(doc.get("spec"));
        }

        String action() {
            return (String) spec().get("action");
        }

        /** Chaos Mesh's one-shot actions (PodChaos.IsOneShot): done at once, a duration means nothing. */
        boolean oneShot() {
            return kind().equals("PodChaos") && Set.of("pod-kill", "container-kill").contains(action());
        }

        /** Cut off from the API server (the writes, the renewals or the answers): a fence or a takeover is claimed. */
        boolean cutsOff() {
            return switch (kind()) {
                case "NetworkChaos" -> Set.of("partition", "loss").contains(action());
                case "HTTPChaos" -> spec().containsKey("abort") || spec().containsKey("replace");
                default -> false;
            };
        }

        /** The comment lines the file starts with. */
        List<String> leadingComment() {
            return text.lines().takeWhile(l -> l.startsWith("#")).toList();
        }

        @Override
        public String toString() {
            return file;
        }
    }

    @BeforeAll
    static void load() throws IOException {
        Map<String, Object> kustomization = single(Files.readString(DEPLOY.resolve("base/kustomization.yaml")));
        namespace = (String) kustomization.get("namespace");
        Map<String, Object> deployment = single(Files.readString(DEPLOY.resolve("base/deployment.yaml")));
        replicas = (Integer) map(deployment.get("spec")).get("replicas");
        Map<String, Object> template = map(map(deployment.get("spec")).get("template"));
        podLabels = map(map(template.get("metadata")).get("labels"));
        container = (String) map(list(map(template.get("spec")).get("containers")).getFirst()).get("name");
        assertThat(namespace).as("deploy/base's namespace").isNotBlank();
        assertThat(podLabels).as("deploy/base's pod labels").isNotEmpty();

        experiments = new ArrayList<>();
        embedded = new ArrayList<>();
        composites = new ArrayList<>();
        try (Stream<Path> files = Files.list(CHAOS)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList()) {
                String text = Files.readString(f);
                Experiment e = new Experiment(f.getFileName().toString(), text, single(text));
                (COMPOSITE_KINDS.contains(e.kind()) ? composites : experiments).add(e);
            }
        }
        for (Experiment c : composites) {
            Map<String, Object> spec = c.spec();
            if (c.kind().equals("Schedule")) {
                String type = (String) spec.get("type");
                embedded.add(new Experiment(c.file() + "#" + embedKey(type), c.text(), chaos(c, type, spec.get(embedKey(type)))));
                continue;
            }
            for (Object t : list(spec.get("templates"))) {
                Map<String, Object> node = map(t);
                String type = (String) node.get("templateType");
                if (KINDS.contains(type)) {
                    embedded.add(new Experiment(c.file() + "#" + node.get("name"), c.text(),
                            chaos(c, type, node.get(embedKey(type))), java.util.Optional.ofNullable((String) node.get("deadline"))));
                }
            }
        }
    }

    /** Chaos Mesh's EmbedChaos key for a kind: podChaos, networkChaos, httpChaos, ... */
    private static String embedKey(String kind) {
        return kind.equals("HTTPChaos") ? "httpChaos" : Character.toLowerCase(kind.charAt(0)) + kind.substring(1);
    }

    /** An embedded chaos as the document Chaos Mesh makes of it: the composite's metadata, its own kind and spec. */
    private static Map<String, Object> chaos(Experiment composite, String kind, Object spec) {
        assertThat(kind).as("%s: embedded kind", composite).isIn(KINDS);
        assertThat(spec).as("%s: embedded %s spec", composite, kind).isInstanceOf(Map.class);
        Map<String, Object> doc = new java.util.LinkedHashMap<>();
        doc.put("apiVersion", composite.doc().get("apiVersion"));
        doc.put("kind", kind);
        doc.put("metadata", Map.of("name", map(composite.doc().get("metadata")).get("name"), "namespace", namespace));
        doc.put("spec", spec);
        return doc;
    }

    /** Every chaos that acts on a Pod: the single documents' and the embedded ones. */
    private static List<Experiment> allChaos() {
        return Stream.concat(experiments.stream(), embedded.stream()).toList();
    }

    @Test
    void atLeastSixteenExperimentsOfAllFiveKinds() {
        assertThat(experiments).hasSizeGreaterThanOrEqualTo(16);
        assertThat(experiments).allSatisfy(e -> assertThat(e.file()).as("extension").endsWith(".yaml"));
        assertThat(experiments).extracting(Experiment::kind).containsOnlyElementsOf(KINDS).containsAll(KINDS);
        assertThat(composites).extracting(Experiment::kind).containsAll(COMPOSITE_KINDS);
    }

    @Test
    void schedulesFireAtAnIntervalLongerThanATakeoverAndNeverStackFirings() {
        for (Experiment c : composites.stream().filter(e -> e.kind().equals("Schedule")).toList()) {
            Map<String, Object> spec = c.spec();
            assertThat(spec.keySet()).as("%s", c).isSubsetOf("schedule", "concurrencyPolicy", "historyLimit",
                    "startingDeadlineSeconds", "type", embedKey((String) spec.get("type")));
            Matcher every = Pattern.compile("@every ([1-9][0-9]*)s").matcher(string(spec, "schedule"));
            assertThat(every.matches()).as("%s: schedule '@every Ns' (the local engine runs interval schedules only)", c).isTrue();
            // Each firing finds the coordinator elected after the last one: a lease duration and more later.
            assertThat(Integer.parseInt(every.group(1))).as("%s: interval", c)
                    .isGreaterThanOrEqualTo(2 * (int) ShardingConfig.DEFAULT_LEASE_DURATION.toSeconds());
            assertThat(spec.get("concurrencyPolicy")).as("%s: concurrencyPolicy", c).isEqualTo("Forbid");
            assertThat(spec.get("type")).as("%s: type", c).isIn(KINDS);
            Map<String, Object> annotations = map(map(c.doc().get("metadata")).get("annotations"));
            assertThat(annotations.keySet()).as("%s: annotations", c).containsExactly(FIRINGS_ANNOTATION);
            assertThat(Integer.parseInt(string(annotations, FIRINGS_ANNOTATION))).as("%s: firings", c).isBetween(2, 5);
        }
    }

    @Test
    void workflowsAreTreesOfNamedTemplatesEachChaosWithADeadline() {
        for (Experiment c : composites.stream().filter(e -> e.kind().equals("Workflow")).toList()) {
            Map<String, Object> spec = c.spec();
            assertThat(spec.keySet()).as("%s", c).containsExactlyInAnyOrder("entry", "templates");
            Map<String, Map<String, Object>> byName = new TreeMap<>();
            for (Object t : list(spec.get("templates"))) {
                Map<String, Object> template = map(t);
                String name = (String) template.get("name");
                assertThat(name).as("%s: template name", c).matches(DNS_LABEL);
                assertThat(byName.put(name, template)).as("%s: template %s named once", c, name).isNull();
            }
            assertThat(byName).as("%s: entry", c).containsKey((String) spec.get("entry"));
            for (Map<String, Object> t : byName.values()) {
                String type = (String) t.get("templateType");
                if (t.containsKey("deadline")) {
                    assertThat(string(t, "deadline")).as("%s: %s deadline", c, t.get("name")).matches(SECONDS);
                }
                switch (type) {
                    case "Serial", "Parallel" -> {
                        assertThat(t.keySet()).as("%s: %s", c, t.get("name")).isSubsetOf("name", "templateType", "deadline", "children");
                        assertThat(list(t.get("children"))).as("%s: %s children", c, t.get("name")).isNotEmpty()
                                .allSatisfy(child -> assertThat(byName).containsKey((String) child));
                    }
                    case "Suspend" -> assertThat(t.keySet()).as("%s: %s", c, t.get("name"))
                            .containsExactlyInAnyOrder("name", "templateType", "deadline");
                    default -> {
                        assertThat(type).as("%s: %s templateType", c, t.get("name")).isIn(KINDS);
                        // Chaos Mesh ends a chaos node only at its deadline, and refuses a duration inside it.
                        assertThat(t.keySet()).as("%s: %s", c, t.get("name"))
                                .containsExactlyInAnyOrder("name", "templateType", "deadline", embedKey(type));
                        assertThat(map(t.get(embedKey(type)))).as("%s: %s", c, t.get("name")).doesNotContainKey("duration");
                    }
                }
            }
        }
    }

    @Test
    void everyFileStartsWithACommentSayingWhatItProves() {
        for (Experiment e : Stream.concat(experiments.stream(), composites.stream()).toList()) {
            assertThat(e.text()).as("%s starts with a comment", e).startsWith("# ");
            assertThat(e.leadingComment()).as("%s: its leading comment says what it proves", e)
                    .anyMatch(l -> l.startsWith("# Proves: ") && l.length() > "# Proves: ".length() + 20);
        }
    }

    @Test
    void everyExperimentIsNamedAsItsFileAndAimedAtTheDeploysPods() {
        for (Experiment e : Stream.concat(experiments.stream(), composites.stream()).toList()) {
            assertThat(e.doc().keySet()).as("%s: top-level fields", e).containsExactlyInAnyOrder("apiVersion", "kind", "metadata", "spec");
            assertThat(e.doc().get("apiVersion")).as("%s: apiVersion", e).isEqualTo("chaos-mesh.org/v1alpha1");
            Map<String, Object> metadata = map(e.doc().get("metadata"));
            assertThat(metadata.keySet()).as("%s: metadata", e).containsAll(List.of("name", "namespace"))
                    .isSubsetOf(e.kind().equals("Schedule") ? Set.of("name", "namespace", "annotations") : Set.of("name", "namespace"));
            String name = (String) metadata.get("name");
            assertThat(name).as("%s: metadata.name is the file name", e).isEqualTo(e.file().replaceFirst("\\.yaml$", ""));
            assertThat(name).as("%s: a DNS label", e).matches(DNS_LABEL);
            // Chaos Mesh appends 6 characters to what a Schedule or Workflow spawns (names of 57 and 51 at most).
            assertThat(name.length()).as("%s: name length", e).isLessThanOrEqualTo(51);
            assertThat(metadata.get("namespace")).as("%s: namespace (deploy/base)", e).isEqualTo(namespace);
        }
        for (Experiment e : allChaos()) {
            Map<String, Object> selector = map(e.spec().get("selector"));
            assertThat(selector.keySet()).as("%s: selector fields", e).contains("namespaces", "labelSelectors")
                    .isSubsetOf("namespaces", "labelSelectors", "expressionSelectors");
            if (selector.containsKey("expressionSelectors")) {
                assertThat(list(selector.get("expressionSelectors"))).as("%s: the one expression used: not the coordinator", e)
                        .containsExactly(NOT_COORDINATOR);
            }
            assertThat(list(selector.get("namespaces"))).as("%s: selector.namespaces", e).containsExactly(namespace);
            Map<String, Object> labels = map(selector.get("labelSelectors"));
            assertThat(labels).as("%s: selects the deploy's pod label", e).containsAllEntriesOf(podLabels);
            Map<String, Object> extra = new TreeMap<>(labels);
            podLabels.keySet().forEach(extra::remove);
            assertThat(extra).as("%s: the only other label is the coordinator's", e)
                    .satisfiesAnyOf(m -> assertThat(m).isEmpty(), m -> assertThat(m).isEqualTo(COORDINATOR_LABEL));
        }
        assertThat(allChaos()).as("some experiments aim at the coordinator")
                .anyMatch(e -> map(map(e.spec().get("selector")).get("labelSelectors")).keySet().containsAll(COORDINATOR_LABEL.keySet()));
    }

    @Test
    void modesAndValuesAreChaosMeshsAndNeverTakeEveryReplica() {
        for (Experiment e : allChaos()) {
            Object mode = e.spec().get("mode");
            assertThat(mode).as("%s: mode", e).isIn(MODES);
            Object value = e.spec().get("value");
            if (mode.equals("one") || mode.equals("all")) {
                assertThat(value).as("%s: no value with mode %s", e, mode).isNull();
                continue;
            }
            assertThat(value).as("%s: value, a string", e).isInstanceOf(String.class);
            int n = Integer.parseInt((String) value);
            if (mode.equals("fixed")) {
                assertThat(n).as("%s: fixed %s of deploy/base's %s replicas leaves one alive", e, n, replicas).isBetween(1, replicas - 1);
            } else {
                assertThat(n).as("%s: a percentage", e).isBetween(1, 100);
            }
        }
    }

    @Test
    void oneShotActionsHaveNoDurationAndEveryOtherExperimentAShortOne() {
        for (Experiment e : embedded.stream().filter(x -> x.deadline().isPresent()).toList()) {
            // A workflow's chaos lasts its node's deadline: the same bounds, read there.
            Matcher m = SECONDS.matcher(e.deadline().get());
            assertThat(m.matches()).as("%s: deadline %s in seconds", e, e.deadline().get()).isTrue();
            int seconds = Integer.parseInt(m.group(1));
            assertThat(seconds).as("%s: deadline", e).isBetween(e.oneShot() ? 1 : e.cutsOff() ? CUT_OFF_MIN_SECONDS : MIN_SECONDS,
                    MAX_SECONDS);
        }
        for (Experiment e : Stream.concat(experiments.stream(), embedded.stream().filter(x -> x.deadline().isEmpty())).toList()) {
            Object duration = e.spec().get("duration");
            if (e.oneShot()) {
                assertThat(duration).as("%s: %s is one-shot, a duration would mean nothing", e, e.action()).isNull();
                continue;
            }
            // Chaos Mesh requires it for pod-failure; elsewhere an experiment without one runs until deleted.
            assertThat(duration).as("%s: duration, a string", e).isInstanceOf(String.class);
            Matcher m = SECONDS.matcher((String) duration);
            assertThat(m.matches()).as("%s: duration %s in seconds", e, duration).isTrue();
            int seconds = Integer.parseInt(m.group(1));
            assertThat(seconds).as("%s: duration", e).isBetween(e.cutsOff() ? CUT_OFF_MIN_SECONDS : MIN_SECONDS, MAX_SECONDS);
            if (e.file().contains("#")) {
                continue; // a Schedule's comment states its interval and its firings as well
            }
            // What a reader sees first says the same, "... for N s", and names no other fault length.
            List<Integer> stated = new ArrayList<>();
            Matcher said = STATED_LENGTH.matcher(String.join("\n", e.leadingComment()));
            while (said.find()) {
                stated.add(Integer.parseInt(said.group(1)));
            }
            assertThat(stated).as("%s: fault lengths its comment states (\"for N s\", N >= %d)", e, MIN_SECONDS)
                    .isNotEmpty().containsOnly(seconds);
        }
    }

    @Test
    void podChaosFields() {
        for (Experiment e : ofKind("PodChaos")) {
            Map<String, Object> spec = e.spec();
            switch (e.action()) {
                case "pod-kill" -> {
                    assertThat(spec.keySet()).as("%s", e).isSubsetOf("action", "gracePeriod", "mode", "value", "selector")
                            .contains("gracePeriod");
                    assertThat(spec.get("gracePeriod")).as("%s: gracePeriod", e).isEqualTo(0);
                }
                case "pod-failure" -> assertThat(spec.keySet()).as("%s", e).isSubsetOf("action", "duration", "mode", "value", "selector");
                case "container-kill" -> {
                    assertThat(spec.keySet()).as("%s", e).isSubsetOf("action", "containerNames", "mode", "value", "selector");
                    assertThat(list(spec.get("containerNames"))).as("%s: the deploy's container", e).containsExactly(container);
                }
                default -> throw new AssertionError(e + ": PodChaos action " + e.action());
            }
        }
        assertThat(ofKind("PodChaos")).extracting(Experiment::action).contains("pod-kill", "pod-failure", "container-kill");
    }

    @Test
    void networkChaosFields() {
        for (Experiment e : ofKind("NetworkChaos")) {
            Map<String, Object> spec = e.spec();
            Set<String> common = Set.of("action", "duration", "mode", "value", "selector");
            switch (e.action()) {
                case "partition" -> {
                    assertThat(spec.keySet()).as("%s", e).isSubsetOf(with(common, "direction", "externalTargets"));
                    assertThat(spec.get("direction")).as("%s: direction", e).isEqualTo("to");
                    // Without a target a partition drops everything the Pod sends: it must name the API server.
                    assertThat(list(spec.get("externalTargets"))).as("%s: externalTargets", e).isNotEmpty()
                            .allSatisfy(t -> assertThat(t).isInstanceOf(String.class));
                }
                case "delay" -> {
                    assertThat(spec.keySet()).as("%s", e).isSubsetOf(with(common, "delay"));
                    Map<String, Object> delay = map(spec.get("delay"));
                    assertThat(delay.keySet()).as("%s: delay", e).contains("latency").isSubsetOf("latency", "jitter", "correlation");
                    assertThat(string(delay, "latency")).as("%s: latency", e).matches(NETEM_TIME);
                    assertThat(string(delay, "jitter")).as("%s: jitter", e).matches(NETEM_TIME);
                    assertPercent(e, delay, "correlation");
                }
                case "loss" -> {
                    assertThat(spec.keySet()).as("%s", e).isSubsetOf(with(common, "loss"));
                    Map<String, Object> loss = map(spec.get("loss"));
                    assertThat(loss.keySet()).as("%s: loss", e).contains("loss").isSubsetOf("loss", "correlation");
                    assertPercent(e, loss, "loss");
                    assertPercent(e, loss, "correlation");
                }
                case "duplicate" -> {
                    assertThat(spec.keySet()).as("%s", e).isSubsetOf(with(common, "duplicate"));
                    Map<String, Object> duplicate = map(spec.get("duplicate"));
                    assertThat(duplicate.keySet()).as("%s: duplicate", e).contains("duplicate").isSubsetOf("duplicate", "correlation");
                    assertPercent(e, duplicate, "duplicate");
                    assertPercent(e, duplicate, "correlation");
                }
                case "bandwidth" -> {
                    assertThat(spec.keySet()).as("%s", e).isSubsetOf(with(common, "bandwidth"));
                    Map<String, Object> bandwidth = map(spec.get("bandwidth"));
                    assertThat(bandwidth.keySet()).as("%s: bandwidth (all three required)", e).containsExactlyInAnyOrder("rate", "limit", "buffer");
                    assertThat(string(bandwidth, "rate")).as("%s: rate", e).matches(RATE);
                    assertThat(bandwidth.get("limit")).as("%s: limit, bytes", e).isInstanceOf(Integer.class).matches(v -> (Integer) v >= 1);
                    assertThat(bandwidth.get("buffer")).as("%s: buffer, bytes", e).isInstanceOf(Integer.class).matches(v -> (Integer) v >= 1);
                }
                default -> throw new AssertionError(e + ": NetworkChaos action " + e.action());
            }
        }
        assertThat(ofKind("NetworkChaos")).extracting(Experiment::action)
                .contains("partition", "delay", "loss", "duplicate", "bandwidth");
    }

    @Test
    void httpChaosFieldsAndTheTlsCaveat() {
        for (Experiment e : ofKind("HTTPChaos")) {
            Map<String, Object> spec = e.spec();
            assertThat(spec.keySet()).as("%s", e)
                    .isSubsetOf("target", "port", "abort", "delay", "replace", "duration", "mode", "value", "selector");
            assertThat(spec.get("target")).as("%s: target", e).isIn("Request", "Response");
            assertThat(spec.get("port")).as("%s: port, the API server's", e).isEqualTo(6443);
            assertThat(spec.keySet()).as("%s: a fault", e).containsAnyOf("abort", "delay", "replace");
            if (spec.containsKey("abort")) {
                assertThat(spec.get("abort")).as("%s: abort", e).isEqualTo(true);
            }
            if (spec.containsKey("delay")) {
                assertThat(string(spec, "delay")).as("%s: delay", e).matches(GO_DURATION).doesNotStartWith("-");
            }
            if (spec.containsKey("replace")) {
                Map<String, Object> replace = map(spec.get("replace"));
                assertThat(replace.keySet()).as("%s: replace", e).containsExactly("code");
                assertThat(replace.get("code")).as("%s: replace.code", e).isInstanceOf(Integer.class)
                        .matches(c -> (Integer) c >= 100 && (Integer) c <= 599);
                assertThat(spec.get("target")).as("%s: a status code is replaced in a Response", e).isEqualTo("Response");
            }
            String comment = String.join("\n", e.leadingComment());
            assertThat(comment).as("%s: says first that on a real cluster it cannot see the replicas' TLS", e)
                    .startsWith("# !!!").contains("TLS", "local engine", "fault proxy");
        }
    }

    @Test
    void stressChaosFields() {
        for (Experiment e : ofKind("StressChaos")) {
            Map<String, Object> spec = e.spec();
            assertThat(spec.keySet()).as("%s", e).isSubsetOf("stressors", "duration", "mode", "value", "selector");
            Map<String, Object> stressors = map(spec.get("stressors"));
            assertThat(stressors.keySet()).as("%s: stressors", e).isNotEmpty().isSubsetOf("cpu", "memory");
            if (stressors.containsKey("cpu")) {
                Map<String, Object> cpu = map(stressors.get("cpu"));
                assertThat(cpu.keySet()).as("%s: cpu", e).contains("workers").isSubsetOf("workers", "load");
                assertWorkers(e, cpu);
                assertThat(cpu.get("load")).as("%s: cpu.load, percent", e).isInstanceOf(Integer.class)
                        .matches(l -> (Integer) l >= 0 && (Integer) l <= 100);
            }
            if (stressors.containsKey("memory")) {
                Map<String, Object> memory = map(stressors.get("memory"));
                assertThat(memory.keySet()).as("%s: memory", e).contains("workers").isSubsetOf("workers", "size");
                assertWorkers(e, memory);
                assertThat(string(memory, "size")).as("%s: memory.size", e).matches(MEMORY_SIZE);
            }
        }
        assertThat(ofKind("StressChaos")).flatExtracting(e -> map(e.spec().get("stressors")).keySet()).contains("cpu", "memory");
    }

    @Test
    void timeChaosMovesTheWallClockOnly() {
        for (Experiment e : ofKind("TimeChaos")) {
            Map<String, Object> spec = e.spec();
            assertThat(spec.keySet()).as("%s", e)
                    .isSubsetOf("timeOffset", "clockIds", "containerNames", "duration", "mode", "value", "selector");
            assertThat(string(spec, "timeOffset")).as("%s: timeOffset", e).matches(GO_DURATION);
            // Lease timing is monotonic (System.nanoTime): shifting CLOCK_MONOTONIC is outside what the protocol models.
            assertThat(list(spec.get("clockIds"))).as("%s: clockIds", e).containsExactly("CLOCK_REALTIME");
            assertThat(list(spec.get("containerNames"))).as("%s: the deploy's container", e).containsExactly(container);
        }
        assertThat(ofKind("TimeChaos")).extracting(e -> string(e.spec(), "timeOffset")).contains("+5m", "-5m");
    }

    @Test
    void theReadmeTableListsEveryFile() throws IOException {
        Pattern row = Pattern.compile("^\\| \\[([^\\]]+)\\]\\(([^)]+)\\) \\|([^|]+)\\|[^|]+\\|([^|]+)\\|");
        Map<String, String> durations = new TreeMap<>();
        Map<String, String> listed = new TreeMap<>();
        for (String line : Files.readAllLines(CHAOS.resolve("README.md"))) {
            Matcher m = row.matcher(line);
            if (m.find()) {
                assertThat(m.group(2)).as("link of %s", m.group(1)).isEqualTo(m.group(1));
                assertThat(listed.put(m.group(1), m.group(3).strip())).as("%s listed once", m.group(1)).isNull();
                durations.put(m.group(1), m.group(4).strip());
            }
        }
        assertThat(listed.keySet()).as("the files deploy/chaos/README.md's table lists")
                .containsExactlyInAnyOrderElementsOf(Stream.concat(experiments.stream(), composites.stream()).map(Experiment::file).toList());
        for (Experiment c : composites) {
            assertThat(listed.get(c.file())).as("%s: its row's kind", c).startsWith(c.kind());
            String expected = c.kind().equals("Schedule") ? string(c.spec(), "schedule").replaceFirst("s$", " s")
                    : "deadline " + list(c.spec().get("templates")).stream().map(ChaosExperimentsTest::map)
                            .filter(t -> t.get("name").equals(c.spec().get("entry"))).findFirst().map(t -> string(t, "deadline"))
                            .orElseThrow().replace("s", " s");
            assertThat(durations.get(c.file())).as("%s: its row's duration column", c).isEqualTo(expected);
        }
        for (Experiment e : experiments) {
            assertThat(listed.get(e.file())).as("%s: its row's kind / action", e).startsWith(e.kind());
            Object duration = e.spec().get("duration");
            assertThat(durations.get(e.file())).as("%s: its row's duration", e)
                    .isEqualTo(duration == null ? "one-shot" : ((String) duration).replace("s", " s"));
        }
    }

    @Test
    void noInstallIncludesTheExperiments() throws IOException {
        try (Stream<Path> all = Files.walk(DEPLOY)) {
            List<Path> kustomizations = all.filter(p -> p.getFileName().toString().startsWith("kustomization.")).toList();
            assertThat(kustomizations).as("kustomizations under deploy/").isNotEmpty()
                    .noneMatch(p -> p.startsWith(CHAOS));
            for (Path k : kustomizations) {
                assertThat(Files.readString(k)).as("%s", DEPLOY.relativize(k)).doesNotContain("chaos");
            }
        }
        assertThat(Files.readString(DEPLOY.resolve("README.md"))).as("deploy/README.md points to the experiments")
                .contains("(chaos/README.md)");
    }

    private static List<Experiment> ofKind(String kind) {
        List<Experiment> out = allChaos().stream().filter(e -> e.kind().equals(kind)).toList();
        assertThat(out).as("experiments of kind %s", kind).isNotEmpty();
        return out;
    }

    private static void assertPercent(Experiment e, Map<String, Object> block, String key) {
        if (!key.equals("correlation") || block.containsKey(key)) {
            String v = string(block, key);
            assertThat(v).as("%s: %s, a percentage in a string", e, key).matches(FLOAT_STR);
            assertThat(Double.parseDouble(v)).as("%s: %s", e, key).isBetween(0.0, 100.0);
        }
    }

    private static void assertWorkers(Experiment e, Map<String, Object> stressor) {
        assertThat(stressor.get("workers")).as("%s: workers", e).isInstanceOf(Integer.class)
                .matches(w -> (Integer) w >= 1 && (Integer) w <= 8192);
    }

    private static String[] with(Set<String> common, String... more) {
        return Stream.concat(common.stream(), Stream.of(more)).toArray(String[]::new);
    }

    private static String string(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertThat(v).as("%s, a string", key).isInstanceOf(String.class);
        return (String) v;
    }

    /** The one YAML document of {@code text}; duplicate keys are refused. */
    private static Map<String, Object> single(String text) {
        List<Object> docs = new ArrayList<>();
        new Load(LoadSettings.builder().setAllowDuplicateKeys(false).build()).loadAllFromString(text).forEach(docs::add);
        assertThat(docs).as("YAML documents").hasSize(1);
        return map(docs.getFirst());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        assertThat(o).isInstanceOf(Map.class);
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        assertThat(o).isInstanceOf(List.class);
        return (List<Object>) o;
    }
}
