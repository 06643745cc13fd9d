package dev.flotilla.chaos.experiment;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads Chaos Mesh documents ({@code chaos-mesh.org/v1alpha1}) and the engine's own
 * {@code ClusterChaos} ({@value #CLUSTER_API_VERSION}) into {@link Experiment}s. The reading is
 * strict: a field the engine would not carry out is refused rather than ignored, so that what runs
 * is what the document says.
 *
 * <pre>{@code
 * Experiment e = ChaosDocuments.read(Path.of("deploy/chaos/pod-kill-one.yaml"));
 * System.out.println(e.action().describe() + " for " + e.faultDuration());
 * }</pre>
 */
public final class ChaosDocuments {

    public static final String CHAOS_MESH_API_VERSION = "chaos-mesh.org/v1alpha1";
    public static final String CLUSTER_API_VERSION = "chaos.flotilla.dev/v1alpha1";
    /**
     * How many times the local engine fires a Schedule before it judges the run (a real Schedule fires until it is
     * deleted); absent, {@value #DEFAULT_FIRINGS}. Chaos Mesh ignores the annotation.
     */
    public static final String FIRINGS_ANNOTATION = "chaos.flotilla.dev/firings";
    public static final int DEFAULT_FIRINGS = 3;
    /** The container every replica pod runs (deploy/base/deployment.yaml). */
    public static final String CONTAINER = "flotilla";

    private static final KubernetesSerialization YAML = new KubernetesSerialization();
    private static final Pattern GO_DURATION = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h)");
    private static final Pattern RATE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)([a-z]*)");
    private static final Pattern SIZE = Pattern.compile("([0-9]+)(B|KB|MB|GB|KiB|MiB|GiB|%)?");
    private static final Set<String> COMMON = Set.of("selector", "mode", "value", "duration");
    /** The Chaos Mesh kinds the engine carries out, alone or inside a Schedule or a Workflow. */
    private static final List<String> CHAOS_KINDS = List.of("PodChaos", "NetworkChaos", "HTTPChaos", "StressChaos", "TimeChaos");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    private ChaosDocuments() {
    }

    /** Reads one file holding one document of a single fault (not a Schedule or Workflow). */
    public static Experiment read(Path file) {
        ChaosPlan plan = readPlan(file);
        if (!(plan instanceof Experiment e)) {
            throw new InvalidExperimentException(plan.source() + ": is a " + plan.kind() + ", not a single experiment");
        }
        return e;
    }

    /** Reads one file holding one document of any kind the engine runs, Schedule and Workflow included. */
    public static ChaosPlan readPlan(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new InvalidExperimentException(file + ": cannot read: " + e.getMessage());
        }
        return parse(text, file.getFileName().toString());
    }

    /** Reads the text of one document; {@code source} names it in messages. */
    public static ChaosPlan parse(String text, String source) {
        if (Pattern.compile("(?m)^---\\s*$").matcher(text.strip()).results().anyMatch(m -> m.start() > 0)) {
            throw new InvalidExperimentException(source + ": holds several documents; give one experiment per file");
        }
        Object root;
        try {
            root = YAML.unmarshal(text, Object.class);
        } catch (RuntimeException e) {
            throw new InvalidExperimentException(source + ": not YAML: " + firstLine(e.getMessage()));
        }
        if (!(root instanceof Map<?, ?> doc)) {
            throw new InvalidExperimentException(source + ": not a Kubernetes object (expected a mapping at the top)");
        }
        try {
            return plan(doc, source);
        } catch (IllegalArgumentException e) {
            throw new InvalidExperimentException(source + ": " + e.getMessage());
        }
    }

    private static ChaosPlan plan(Map<?, ?> doc, String source) {
        String apiVersion = text(doc, "apiVersion");
        String kind = text(doc, "kind");
        String name = text(map(doc, "metadata"), "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("metadata.name is missing");
        }
        Map<?, ?> spec = map(doc, "spec");
        if (spec.isEmpty()) {
            throw new IllegalArgumentException("spec is missing");
        }
        if (apiVersion.equals(CLUSTER_API_VERSION)) {
            if (!kind.equals("ClusterChaos")) {
                throw new IllegalArgumentException("kind " + kind + " is not served by " + CLUSTER_API_VERSION + " (ClusterChaos)");
            }
            only(spec, "spec", Set.of("action", "duration"));
            Action action = switch (text(spec, "action")) {
                case "etcd-kill" -> new Action.EtcdKill();
                case "apiserver-restart" -> new Action.ApiServerRestart();
                case "watch-compaction" -> new Action.WatchCompaction();
                default -> throw new IllegalArgumentException("spec.action '" + text(spec, "action")
                        + "' is not a ClusterChaos action (etcd-kill, apiserver-restart, watch-compaction)");
            };
            return new Experiment(source, kind, name, Optional.empty(), new Mode.All(), action, duration(spec));
        }
        if (!apiVersion.equals(CHAOS_MESH_API_VERSION)) {
            throw new IllegalArgumentException("apiVersion '" + apiVersion + "' is not " + CHAOS_MESH_API_VERSION + " or "
                    + CLUSTER_API_VERSION);
        }
        return switch (kind) {
            case "Schedule" -> schedule(doc, spec, name, source);
            case "Workflow" -> workflow(spec, name, source, "spec");
            default -> chaos(kind, spec, name, source, "spec", Optional.empty());
        };
    }

    /**
     * One Chaos Mesh chaos of {@code kind} from its spec; {@code where} names the spec in messages. A workflow's
     * chaos node gives {@code deadline}: its spec must have no duration (Chaos Mesh refuses one there too), and a
     * lasting action lasts the deadline.
     */
    private static Experiment chaos(String kind, Map<?, ?> spec, String name, String source, String where,
            Optional<Duration> deadline) {
        try {
            Action action = switch (kind) {
                case "PodChaos" -> podChaos(spec);
                case "NetworkChaos" -> networkChaos(spec);
                case "HTTPChaos" -> httpChaos(spec);
                case "StressChaos" -> stressChaos(spec);
                case "TimeChaos" -> timeChaos(spec);
                case "" -> throw new IllegalArgumentException("kind is missing");
                default -> throw new IllegalArgumentException("kind " + kind + " is not run by the local engine ("
                        + String.join(", ", CHAOS_KINDS) + ", ClusterChaos, Schedule, Workflow): it has no local meaning for "
                        + "a controller");
            };
            Selector selector = selector(map(spec, "selector"), "spec");
            Mode mode = Mode.parse(text(spec, "mode"), spec.get("value") == null ? null : String.valueOf(spec.get("value")));
            Optional<Duration> duration = duration(spec);
            if (deadline.isPresent()) {
                if (duration.isPresent()) {
                    throw new IllegalArgumentException("spec.duration is not allowed in a workflow: the template's "
                            + "deadline is how long its chaos lasts");
                }
                duration = action.lasting() ? deadline : Optional.empty();
            }
            return new Experiment(source, kind, name, Optional.of(selector), mode, action, duration);
        } catch (IllegalArgumentException e) {
            // Every message names fields from "spec."; an embedded chaos's spec sits deeper.
            throw where.equals("spec") ? e : new IllegalArgumentException(e.getMessage().replace("spec.", where + "."), e);
        }
    }

    /** The key under which a Schedule or a workflow template embeds a chaos of this kind (Chaos Mesh's EmbedChaos). */
    private static String embedKey(String kind) {
        return switch (kind) {
            case "HTTPChaos" -> "httpChaos";
            case "" -> throw new IllegalArgumentException("the embedded chaos's kind is missing");
            default -> Character.toLowerCase(kind.charAt(0)) + kind.substring(1);
        };
    }

    private static Schedule schedule(Map<?, ?> doc, Map<?, ?> spec, String name, String source) {
        String type = text(spec, "type");
        if (!type.equals("Workflow") && !CHAOS_KINDS.contains(type)) {
            throw new IllegalArgumentException("spec.type " + (type.isEmpty() ? "is missing" : type + " is not run by the local "
                    + "engine") + " (" + String.join(", ", CHAOS_KINDS) + ", Workflow)");
        }
        String key = type.equals("Workflow") ? "workflow" : embedKey(type);
        only(spec, "spec", Set.of("schedule", "startingDeadlineSeconds", "concurrencyPolicy", "historyLimit", "type", key));
        Duration every = every(text(spec, "schedule"));
        Schedule.ConcurrencyPolicy policy = switch (text(spec, "concurrencyPolicy")) {
            case "", "Forbid" -> Schedule.ConcurrencyPolicy.FORBID;
            case "Allow" -> Schedule.ConcurrencyPolicy.ALLOW;
            default -> throw new IllegalArgumentException("spec.concurrencyPolicy must be Forbid or Allow, got '"
                    + text(spec, "concurrencyPolicy") + "'");
        };
        // Bookkeeping of a real Schedule: the local engine never misses a firing and keeps no spawned objects.
        if (spec.get("historyLimit") != null && longValue(spec, "historyLimit") < 1) {
            throw new IllegalArgumentException("spec.historyLimit must be at least 1");
        }
        if (spec.get("startingDeadlineSeconds") != null && longValue(spec, "startingDeadlineSeconds") < 1) {
            throw new IllegalArgumentException("spec.startingDeadlineSeconds must be positive");
        }
        Map<?, ?> item = map(spec, key);
        if (item.isEmpty()) {
            throw new IllegalArgumentException("spec." + key + " is missing (spec.type is " + type + ")");
        }
        ChaosPlan scheduled = type.equals("Workflow") ? workflow(item, name, source, "spec.workflow")
                : chaos(type, item, name, source, "spec." + key, Optional.empty());
        return new Schedule(source, name, every, policy, firings(map(map(doc, "metadata"), "annotations")), scheduled);
    }

    /** {@code @every <duration>}: the only schedule that means the same on a local run as on a cluster. */
    private static Duration every(String schedule) {
        if (schedule.isEmpty()) {
            throw new IllegalArgumentException("spec.schedule is missing (such as '@every 30s')");
        }
        if (!schedule.startsWith("@every ")) {
            throw new IllegalArgumentException("spec.schedule '" + schedule + "' fires at wall-clock times; the local "
                    + "engine runs interval schedules only ('@every 30s')");
        }
        Duration every = goDuration("spec.schedule", schedule.substring("@every ".length()).strip());
        // Chaos Mesh's cron (robfig) rounds an interval down to whole seconds, at least one.
        if (every.toMillis() % 1000 != 0 || every.isZero()) {
            throw new IllegalArgumentException("spec.schedule '" + schedule + "' is not a whole number of seconds (Chaos "
                    + "Mesh's cron would round it down)");
        }
        return every;
    }

    private static int firings(Map<?, ?> annotations) {
        Object v = annotations.get(FIRINGS_ANNOTATION);
        if (v == null) {
            return DEFAULT_FIRINGS;
        }
        int firings;
        try {
            firings = Integer.parseInt(String.valueOf(v).strip());
        } catch (NumberFormatException e) {
            firings = -1;
        }
        if (firings < 1 || firings > Schedule.MAX_FIRINGS) {
            throw new IllegalArgumentException("metadata.annotations." + FIRINGS_ANNOTATION + " must be a whole number 1-"
                    + Schedule.MAX_FIRINGS + ", got '" + v + "'");
        }
        return firings;
    }

    private static Workflow workflow(Map<?, ?> spec, String name, String source, String where) {
        only(spec, where, Set.of("entry", "templates"));
        String entry = text(spec, "entry");
        if (entry.isEmpty()) {
            throw new IllegalArgumentException(where + ".entry is missing");
        }
        if (!(spec.get("templates") instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException(where + ".templates is missing or empty");
        }
        Map<String, Map<?, ?>> templates = new LinkedHashMap<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> t)) {
                throw new IllegalArgumentException(where + ".templates[" + i + "] must be a mapping");
            }
            String n = text(t, "name");
            if (n.isEmpty()) {
                throw new IllegalArgumentException(where + ".templates[" + i + "].name is missing");
            }
            if (!DNS_SUBDOMAIN.matcher(n).matches()) {
                throw new IllegalArgumentException(where + ".templates[" + i + "].name '" + n + "' is not a DNS-1123 "
                        + "subdomain (lower-case letters, digits, '-' and '.')");
            }
            if (templates.put(n, t) != null) {
                throw new IllegalArgumentException(where + ".templates: the name " + n + " is used twice");
            }
        }
        // Every template is checked, as Chaos Mesh's webhook checks them, not only those the entry reaches.
        for (String n : templates.keySet()) {
            node(n, templates, new java.util.ArrayDeque<>(), source, where);
        }
        return new Workflow(source, name, node(entry, templates, new java.util.ArrayDeque<>(), source, where));
    }

    private static Workflow.Node node(String name, Map<String, Map<?, ?>> templates, java.util.Deque<String> path,
            String source, String where) {
        Map<?, ?> t = templates.get(name);
        if (t == null) {
            throw new IllegalArgumentException(where + ": no template named " + name + (path.isEmpty() ? " (the entry)"
                    : " (a child of " + path.peek() + ")"));
        }
        if (path.contains(name)) {
            throw new IllegalArgumentException(where + ": template " + name + " contains itself (" + String.join(" > ",
                    path.reversed()) + " > " + name + ")");
        }
        String at = where + ".templates[" + name + "]";
        String type = text(t, "templateType");
        Optional<Duration> deadline = t.get("deadline") == null ? Optional.empty()
                : Optional.of(goDuration(at + ".deadline", text(t, "deadline")));
        switch (type) {
            case "Serial", "Parallel" -> {
                only(t, at, Set.of("name", "templateType", "deadline", "children"));
                List<String> names = strings(t.get("children"), at + ".children");
                if (names.isEmpty()) {
                    throw new IllegalArgumentException(at + ".children is empty");
                }
                path.push(name);
                List<Workflow.Node> children = new ArrayList<>();
                names.forEach(c -> children.add(node(c, templates, path, source, where)));
                path.pop();
                return type.equals("Serial") ? new Workflow.Serial(name, deadline, children)
                        : new Workflow.Parallel(name, deadline, children);
            }
            case "Suspend" -> {
                only(t, at, Set.of("name", "templateType", "deadline"));
                return new Workflow.Suspend(name, deadline.orElseThrow(() -> new IllegalArgumentException(at
                        + ".deadline is missing (a Suspend waits its deadline)")));
            }
            case String kind when CHAOS_KINDS.contains(kind) -> {
                String key = embedKey(type);
                only(t, at, Set.of("name", "templateType", "deadline", key));
                // Chaos Mesh finishes a chaos node only when its deadline passes: without one the workflow never ends.
                Duration d = deadline.orElseThrow(() -> new IllegalArgumentException(at + ".deadline is missing (a chaos "
                        + "node lasts until its deadline; without one the workflow never finishes)"));
                Map<?, ?> embedded = map(t, key);
                if (embedded.isEmpty()) {
                    throw new IllegalArgumentException(at + "." + key + " is missing (templateType is " + type + ")");
                }
                return new Workflow.Fault(name, d, chaos(type, embedded, name, source, at + "." + key, Optional.of(d)));
            }
            case "" -> throw new IllegalArgumentException(at + ".templateType is missing");
            default -> throw new IllegalArgumentException(at + ".templateType " + type + " is not run by the local engine "
                    + "(Serial, Parallel, Suspend and the chaos kinds; Task, StatusCheck and Schedule nodes are not)");
        }
    }

    private static Action podChaos(Map<?, ?> spec) {
        String action = text(spec, "action");
        return switch (action) {
            case "pod-kill" -> {
                only(spec, "spec", plus("action", "gracePeriod"));
                long grace = spec.get("gracePeriod") == null ? 0 : longValue(spec, "gracePeriod");
                if (grace < 0) {
                    throw new IllegalArgumentException("spec.gracePeriod must not be negative");
                }
                yield new Action.PodKill(Duration.ofSeconds(grace));
            }
            case "pod-failure" -> {
                only(spec, "spec", plus("action"));
                yield new Action.PodFailure();
            }
            case "container-kill" -> {
                only(spec, "spec", plus("action", "containerNames"));
                yield new Action.ContainerKill(containers(spec));
            }
            default -> throw new IllegalArgumentException("PodChaos spec.action '" + action
                    + "' is not pod-kill, pod-failure or container-kill");
        };
    }

    private static Action networkChaos(Map<?, ?> spec) {
        String action = text(spec, "action");
        String direction = spec.get("direction") == null ? "to" : text(spec, "direction");
        if (!Set.of("to", "from", "both").contains(direction)) {
            throw new IllegalArgumentException("spec.direction must be to, from or both, got '" + direction + "'");
        }
        if (spec.get("target") != null) {
            throw new IllegalArgumentException("spec.target (pods as the other side) is not carried out: replicas never "
                    + "connect to each other; the other side is the API server, given as spec.externalTargets");
        }
        // Without a target, netem acts on everything the pod sends: for a replica, its API server traffic. A partition
        // without one would cut the probes too, so Chaos Mesh documents aim it with externalTargets.
        if (action.equals("partition") && (!(spec.get("externalTargets") instanceof List<?> targets) || targets.isEmpty())) {
            throw new IllegalArgumentException("spec.externalTargets must name the API server: the engine only partitions "
                    + "a replica from the API server");
        }
        Set<String> common = plus("action", "direction", "externalTargets", "device");
        return switch (action) {
            case "partition" -> {
                only(spec, "spec", common);
                yield new Action.Partition(direction);
            }
            case "delay" -> {
                only(spec, "spec", union(common, "delay"));
                Map<?, ?> d = map(spec, "delay");
                only(d, "spec.delay", Set.of("latency", "jitter", "correlation"));
                yield new Action.NetDelay(goDuration("spec.delay.latency", text(d, "latency")),
                        d.get("jitter") == null ? Duration.ZERO : goDuration("spec.delay.jitter", text(d, "jitter")),
                        percentText(d, "correlation", "spec.delay.correlation"));
            }
            case "loss" -> {
                only(spec, "spec", union(common, "loss"));
                Map<?, ?> l = map(spec, "loss");
                only(l, "spec.loss", Set.of("loss", "correlation"));
                yield new Action.NetLoss(percentText(l, "loss", "spec.loss.loss"),
                        percentText(l, "correlation", "spec.loss.correlation"));
            }
            case "duplicate" -> {
                only(spec, "spec", union(common, "duplicate"));
                Map<?, ?> d = map(spec, "duplicate");
                only(d, "spec.duplicate", Set.of("duplicate", "correlation"));
                yield new Action.NetDuplicate(percentText(d, "duplicate", "spec.duplicate.duplicate"),
                        percentText(d, "correlation", "spec.duplicate.correlation"));
            }
            case "bandwidth" -> {
                only(spec, "spec", union(common, "bandwidth"));
                Map<?, ?> b = map(spec, "bandwidth");
                only(b, "spec.bandwidth", Set.of("rate", "limit", "buffer"));
                yield new Action.NetBandwidth(rate(text(b, "rate")), longValue(b, "limit"), longValue(b, "buffer"));
            }
            default -> throw new IllegalArgumentException("NetworkChaos spec.action '" + action
                    + "' is not run by the local engine (partition, delay, loss, duplicate, bandwidth)"
                    + (action.equals("corrupt") ? ": corrupted TCP segments are dropped by checksum, which the proxy "
                    + "cannot tell apart from loss" : ""));
        };
    }

    private static Action httpChaos(Map<?, ?> spec) {
        only(spec, "spec", plus("target", "port", "path", "method", "abort", "delay", "replace"));
        Map<?, ?> replace = map(spec, "replace");
        only(replace, "spec.replace", Set.of("code"));
        OptionalInt code = replace.get("code") == null ? OptionalInt.empty() : OptionalInt.of((int) longValue(replace, "code"));
        if (spec.get("port") == null) {
            throw new IllegalArgumentException("spec.port is missing (the API server's port, 6443 or 443)");
        }
        boolean abort = Boolean.TRUE.equals(spec.get("abort"));
        Optional<Duration> delay = spec.get("delay") == null ? Optional.empty()
                : Optional.of(goDuration("spec.delay", text(spec, "delay")));
        return new Action.HttpFault(text(spec, "target"), optionalText(spec, "path"), optionalText(spec, "method"), abort,
                delay, code);
    }

    private static Action stressChaos(Map<?, ?> spec) {
        only(spec, "spec", plus("stressors", "containerNames"));
        if (spec.get("containerNames") != null) {
            containers(spec);
        }
        Map<?, ?> stressors = map(spec, "stressors");
        only(stressors, "spec.stressors", Set.of("cpu", "memory"));
        Map<?, ?> cpu = map(stressors, "cpu");
        Map<?, ?> memory = map(stressors, "memory");
        only(cpu, "spec.stressors.cpu", Set.of("workers", "load"));
        only(memory, "spec.stressors.memory", Set.of("workers", "size"));
        int cpuWorkers = cpu.isEmpty() ? 0 : (int) longValue(cpu, "workers");
        int load = cpu.get("load") == null ? 100 : (int) longValue(cpu, "load");
        int memoryWorkers = memory.isEmpty() ? 0 : (int) longValue(memory, "workers");
        long bytes = memory.isEmpty() ? 0 : size(text(memory, "size"));
        return new Action.Stress(cpuWorkers, load, memoryWorkers, bytes);
    }

    private static Action timeChaos(Map<?, ?> spec) {
        only(spec, "spec", plus("timeOffset", "clockIds", "containerNames"));
        if (spec.get("containerNames") != null) {
            containers(spec);
        }
        if (spec.get("clockIds") instanceof List<?> ids && !ids.equals(List.of("CLOCK_REALTIME"))) {
            throw new IllegalArgumentException("spec.clockIds " + ids + " is not carried out: the engine moves "
                    + "CLOCK_REALTIME only (libfaketime with the monotonic clock left alone)");
        }
        String offset = text(spec, "timeOffset");
        boolean negative = offset.startsWith("-");
        Duration d = goDuration("spec.timeOffset", offset.replaceFirst("^[+-]", ""));
        return new Action.TimeShift(negative ? d.negated() : d);
    }

    private static Selector selector(Map<?, ?> s, String where) {
        String at = where + ".selector";
        if (s.isEmpty()) {
            throw new IllegalArgumentException(at + " is missing");
        }
        only(s, at, Set.of("namespaces", "labelSelectors", "expressionSelectors", "pods"));
        List<String> namespaces = strings(s.get("namespaces"), at + ".namespaces");
        Map<String, String> labels = new LinkedHashMap<>();
        map(s, "labelSelectors").forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
        List<Selector.Requirement> expressions = new ArrayList<>();
        if (s.get("expressionSelectors") != null) {
            if (!(s.get("expressionSelectors") instanceof List<?> list)) {
                throw new IllegalArgumentException(at + ".expressionSelectors must be a list");
            }
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof Map<?, ?> r)) {
                    throw new IllegalArgumentException(at + ".expressionSelectors[" + i + "] must be a mapping");
                }
                only(r, at + ".expressionSelectors[" + i + "]", Set.of("key", "operator", "values"));
                expressions.add(new Selector.Requirement(text(r, "key"), text(r, "operator"),
                        strings(r.get("values"), at + ".expressionSelectors[" + i + "].values")));
            }
        }
        Map<String, List<String>> pods = new LinkedHashMap<>();
        map(s, "pods").forEach((k, v) -> pods.put(String.valueOf(k), strings(v, at + ".pods." + k)));
        return new Selector(namespaces, labels, expressions, pods);
    }

    private static List<String> containers(Map<?, ?> spec) {
        List<String> names = strings(spec.get("containerNames"), "spec.containerNames");
        for (String n : names) {
            if (!n.equals(CONTAINER)) {
                throw new IllegalArgumentException("spec.containerNames names '" + n + "': a replica pod has one container, "
                        + CONTAINER);
            }
        }
        return names;
    }

    private static Optional<Duration> duration(Map<?, ?> spec) {
        return spec.get("duration") == null ? Optional.empty()
                : Optional.of(goDuration("spec.duration", text(spec, "duration")));
    }

    /** A Go duration as Chaos Mesh writes it: {@code 30s}, {@code 1m30s}, {@code 250ms}. */
    static Duration goDuration(String field, String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException(field + " is missing");
        }
        Matcher m = GO_DURATION.matcher(text);
        Duration total = Duration.ZERO;
        int at = 0;
        while (m.find() && m.start() == at) {
            double n = Double.parseDouble(m.group(1));
            long millis = Math.round(n * switch (m.group(2)) {
                case "ms" -> 1;
                case "s" -> 1_000;
                case "m" -> 60_000;
                default -> 3_600_000;
            });
            total = total.plusMillis(millis);
            at = m.end();
        }
        if (at != text.length() || at == 0) {
            throw new IllegalArgumentException(field + " '" + text + "' is not a duration such as 30s, 1m30s or 250ms");
        }
        return total;
    }

    /** A tc rate as NetworkChaos gives it: {@code 1mbps} (bytes per second), {@code 8mbit} (bits per second). */
    static long rate(String text) {
        Matcher m = RATE.matcher(text.toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("spec.bandwidth.rate '" + text + "' is not a rate such as 1mbps or 8mbit");
        }
        double n = Double.parseDouble(m.group(1));
        double bytes = switch (m.group(2)) {
            case "bit", "" -> n / 8;
            case "kbit" -> n * 1_000 / 8;
            case "mbit" -> n * 1_000_000 / 8;
            case "gbit" -> n * 1_000_000_000 / 8;
            case "bps" -> n;
            case "kbps" -> n * 1_000;
            case "mbps" -> n * 1_000_000;
            case "gbps" -> n * 1_000_000_000;
            default -> throw new IllegalArgumentException("spec.bandwidth.rate '" + text + "' has an unknown unit '"
                    + m.group(2) + "' (bit, kbit, mbit, gbit, bps, kbps, mbps, gbps)");
        };
        return Math.max(1, (long) bytes);
    }

    private static long size(String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches() || "%".equals(m.group(2))) {
            throw new IllegalArgumentException("spec.stressors.memory.size '" + text
                    + "' is not a size such as 256MB (a percent of the node's memory has no local meaning)");
        }
        long n = Long.parseLong(m.group(1));
        return n * switch (m.group(2) == null ? "B" : m.group(2)) {
            case "KB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            case "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            case "GiB" -> 1L << 30;
            default -> 1L;
        };
    }

    private static int percentText(Map<?, ?> m, String key, String field) {
        Object v = m.get(key);
        if (v == null) {
            return 0;
        }
        try {
            return (int) Math.round(Double.parseDouble(String.valueOf(v).trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be a percent such as \"25\", got '" + v + "'");
        }
    }

    private static Set<String> plus(String... more) {
        return union(COMMON, more);
    }

    private static Set<String> union(Set<String> base, String... more) {
        Set<String> out = new java.util.HashSet<>(base);
        out.addAll(List.of(more));
        return Set.copyOf(out);
    }

    /** Refuses any key not in {@code allowed}: a field the engine ignored would make the run lie about the document. */
    private static void only(Map<?, ?> m, String where, Set<String> allowed) {
        for (Object k : m.keySet()) {
            if (!allowed.contains(String.valueOf(k))) {
                throw new IllegalArgumentException(where + "." + k + " is not carried out by the local engine (it reads "
                        + where + " fields " + new java.util.TreeSet<>(allowed) + ")");
            }
        }
    }

    private static Map<?, ?> map(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map<?, ?> out)) {
            throw new IllegalArgumentException(key + " must be a mapping");
        }
        return out;
    }

    private static String text(Map<?, ?> m, String key) {
        Object v = m.get(key);
        return v == null ? "" : String.valueOf(v);
    }

    private static Optional<String> optionalText(Map<?, ?> m, String key) {
        String t = text(m, key);
        return t.isEmpty() ? Optional.empty() : Optional.of(t);
    }

    private static long longValue(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (v instanceof Number n) {
            return n.longValue();
        }
        try {
            return Long.parseLong(String.valueOf(v).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, got '" + v + "'");
        }
    }

    private static List<String> strings(Object v, String field) {
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException(field + " must be a list");
        }
        List<String> out = new ArrayList<>();
        list.forEach(x -> out.add(String.valueOf(x)));
        return out;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
