package dev.flotilla.tuning.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.controller.EventPredicate;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import dev.flotilla.tuning.api.ContainerRecommendation;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import dev.flotilla.tuning.controller.ResourceTunerTestAccess;
import dev.flotilla.tuning.controller.TuningReconciler;
import dev.flotilla.tuning.controller.TuningSettings;
import dev.flotilla.tuning.quantity.Resources;
import dev.flotilla.tuning.recommend.Series;
import dev.flotilla.tuning.signals.PrometheusClient;
import dev.flotilla.tuning.signals.PrometheusServer;
import dev.flotilla.tuning.signals.PrometheusSignals;
import dev.flotilla.tuning.signals.SignalMetric;
import dev.flotilla.tuning.signals.SignalMetrics;
import dev.flotilla.tuning.vpa.AgentSeriesExporter;
import dev.flotilla.tuning.vpa.VpaRecommenderProcess;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The tuner end to end on this machine's real kernel: processes in their own cgroups stand for pod
 * containers (laid out as a kubelet with the cgroupfs driver would), Pods on the REAL API server name
 * them by uid and container id, Flotilla's node agent measures them with eBPF and the cgroup files,
 * a real Prometheus scrapes the agent, and the tuner recommends (kernel signals on, and off). Each
 * scenario's right answer is fixed as numbers before anything is measured; the test asserts Flotilla
 * meets it and reports the kernel-blind answer beside it (not asserted either way).
 */
@WithCluster
class RealKernelScenarioTest {

    static final String NODE = "flotilla-scenario-node";
    static final Duration RATE = Duration.ofSeconds(10);
    static final long MIB = 1L << 20;

    /** One scenario's container: its pod, its cgroup, its resources, and its right answer. */
    record Scenario(String name, String rightAnswer, Map<String, Quantity> requests, Map<String, Quantity> limits) {
    }

    record Measured(String what, String value) {
    }

    @Test
    void realKernelSignalsFromTheNodeAgentMeetEachScenariosRightAnswer(TestCluster cluster, TestNamespace ns) throws Exception {
        KernelHost.require();
        KubernetesClient client = cluster.client();
        ResourceTunerTestAccess.installCrd(client);
        ContainerCgroup.sweep("flotilla-scenario-");
        String parent = "flotilla-scenario-" + UUID.randomUUID().toString().substring(0, 8);
        Path logs = Files.createTempDirectory("flotilla-scenarios-");
        // The right answers, fixed before measuring (see tuning/README.md):
        Scenario noisy = new Scenario("noisy-neighbour",
                "CPU request >= 1.25x its 200m (the smallest raise) and >= 1.5x the victim's usage before the hog",
                res("200m", "64Mi"), res("1", "256Mi"));
        // Its request equals its limit: with a smaller weight the hog would starve it below its quota, and it would wait
        // rather than throttle.
        Scenario throttled = new Scenario("self-throttling", "CPU limit >= 1.5x the 200m limit it throttles on",
                res("200m", "64Mi"), res("200m", "256Mi"));
        Scenario oom = new Scenario("oom-kill", "memory limit >= 1.3x the 64Mi limit it was OOM-killed at (the OOM bump)",
                res("100m", "64Mi"), res("1", "64Mi"));
        Scenario jvm = new Scenario("bursty-jvm",
                "memory request >= the JVM's peak working set and CPU request >= its mean usage once warm (from 5 s on), both read from its cgroup by "
                        + "the test (working set as the kubelet counts it: usage minus inactive file pages)", res("150m", "192Mi"), res("2", "512Mi"));
        List<Scenario> scenarios = List.of(noisy, throttled, oom, jvm);
        Map<String, Pod> pods = new LinkedHashMap<>();
        Map<String, ContainerCgroup> cgroups = new LinkedHashMap<>();
        List<Measured> measured = new ArrayList<>();
        List<AutoCloseable> closing = new ArrayList<>();
        try {
            for (Scenario s : scenarios) {
                String cid = UUID.randomUUID().toString().replace("-", "") + UUID.randomUUID().toString().replace("-", "");
                Pod pod = runningPod(client, ns, s, cid);
                pods.put(s.name(), pod);
                ContainerCgroup cg = new ContainerCgroup(parent, pod.getMetadata().getUid(), cid);
                closing.add(cg);
                cgroups.put(s.name(), cg);
                cg.cpuRequest(Resources.millis(s.requests().get("cpu")).orElseThrow());
                long cpuLimit = Resources.millis(s.limits().get("cpu")).orElseThrow();
                cg.cpuLimit(cpuLimit * 100, 100_000);
                cg.memoryLimit(Resources.bytes(s.limits().get("memory")).orElseThrow());
            }
            // The hog: another tenant's container (no Pod of this test names it), asking for a whole core.
            ContainerCgroup hog = new ContainerCgroup(parent, UUID.randomUUID().toString(), "hog" + UUID.randomUUID().toString()
                    .replace("-", ""));
            closing.add(hog);
            hog.cpuRequest(1000);

            NodeAgentProcess agent = NodeAgentProcess.start(cluster.kubeconfigYaml(), NODE, List.of());
            closing.add(agent);
            // kube-state-metrics' kube_pod_labels, which the VPA recommender needs to group history by pod labels (a stand-in:
            // no kube-state-metrics runs here); the tuner does not read it.
            AgentSeriesExporter ksm = AgentSeriesExporter.podLabels();
            closing.add(ksm);
            for (Scenario sc : scenarios) {
                Pod pod = pods.get(sc.name());
                ksm.register(new AgentSeriesExporter.Container(ns.name(), pod.getMetadata().getName(), pod.getMetadata().getUid(),
                        pod.getMetadata().getLabels(), "app", 0, 0));
            }
            PrometheusServer prometheus = PrometheusServer.start(List.of(
                    new PrometheusServer.Job(AGENT_JOB, List.of(new PrometheusServer.Target(agent.target(), Map.of()))),
                    new PrometheusServer.Job(KSM_JOB, List.of(new PrometheusServer.Target(ksm.target(), Map.of())))));
            closing.add(prometheus);
            PrometheusClient promql = new PrometheusClient(prometheus.uri(), Duration.ofSeconds(5));

            // Phase 1: the victim alone.
            // A fixed set of threads (no compiler threads started and stopped on demand), for the schedstat cross-check below.
            List<String> victimJvm = new ArrayList<>(java("victim"));
            victimJvm.add(1, "-XX:-UseDynamicNumberOfCompilerThreads");
            cgroups.get(noisy.name()).start(victimJvm, logs.resolve("victim.log"));
            String victim = selector(ns, pods.get(noisy.name()));
            awaitSeries(promql, "ebpf_exporter_run_queue_latency_seconds_count" + victim, Duration.ofSeconds(30));
            RunDelay.awaitSteadyThreads(cgroups.get(noisy.name()));
            RunDelay aloneFrom = RunDelay.read(agent, cgroups.get(noisy.name()), ns, pods.get(noisy.name()));
            Thread.sleep(RATE.toMillis() + 2_000);
            RunDelay aloneTo = RunDelay.read(agent, cgroups.get(noisy.name()), ns, pods.get(noisy.name()));
            Instant alone = Instant.now().minusSeconds(1);
            double p99Alone = at(promql, p99(victim), alone);
            double usageAlone = at(promql, "rate(" + SignalMetric.CPU_USAGE.defaultName() + victim + "[" + RATE.toSeconds() + "s])",
                    alone);
            measured.add(new Measured("victim run-queue p99, alone", ms(p99Alone)));
            measured.add(new Measured("victim CPU usage, alone", String.format(Locale.ROOT, "%.0fm", usageAlone * 1000)));

            // Phase 2: the hog beside it.
            Duration agentCpuBefore = agent.cpuTime();
            RunDelay hogFrom = RunDelay.read(agent, cgroups.get(noisy.name()), ns, pods.get(noisy.name()));
            long phase2 = System.nanoTime();
            hog.start(List.of("stress-ng", "--cpu", "4", "--timeout", "300s", "--quiet"), logs.resolve("hog.log"));
            Thread.sleep(RATE.toMillis() + 8_000);
            RunDelay hogTo = RunDelay.read(agent, cgroups.get(noisy.name()), ns, pods.get(noisy.name()));
            double p99Hog = at(promql, p99(victim), Instant.now().minusSeconds(1));
            measured.add(new Measured("victim run-queue p99, beside the hog", ms(p99Hog)));
            double agentCpu = (agent.cpuTime().minus(agentCpuBefore)).toMillis() / (double) Duration.ofNanos(System.nanoTime() - phase2)
                    .toMillis();
            measured.add(new Measured("node agent CPU while the hog runs", String.format(Locale.ROOT, "%.2f%% of a core",
                    agentCpu * 100)));
            measured.add(new Measured("victim waits and time queued, agent vs the kernel's schedstat, alone",
                    aloneTo.minus(aloneFrom).toString()));
            measured.add(new Measured("victim waits and time queued, agent vs the kernel's schedstat, beside the hog",
                    hogTo.minus(hogFrom).toString()));
            // Judged from outside the agent: what it credits to the victim's cgroup is what the kernel's own per-task
            // accounting (schedstat: run_delay, timeslices) counted for the victim's threads over the same window.
            aloneTo.minus(aloneFrom).assertAgrees("alone");
            hogTo.minus(hogFrom).assertAgrees("beside the hog");
            // The hog is what hurts the victim: its p99 beside the hog is over the policy's 1 ms objective and at least twice
            // what it was alone (alone it is whatever the rest of the machine leaves: 0.1-0.3 ms on an idle one).
            assertThat(p99Hog).as("victim p99 beside the hog").isGreaterThan(0.002).isGreaterThan(2 * p99Alone);

            Map<String, Predicate<Sizing>> right = new LinkedHashMap<>();
            right.put(noisy.name(), r -> r.cpuRequest() >= Math.max(250, 1.5 * usageAlone * 1000));
            Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
            manager.controller(ResourceTuningPolicy.class).named("resource-tuner").workers(1)
                    .withPredicate(EventPredicate.generationChanged())
                    .complete(new TuningReconciler(client, new PrometheusSignals(promql, SignalMetrics.defaults(), Duration.ofMinutes(3),
                            Duration.ofSeconds(3), RATE), TuningSettings.defaults().withResync(Duration.ofMinutes(5))));
            manager.start();
            Map<String, Sizing> flotilla = new LinkedHashMap<>();
            Map<String, Sizing> blind = new LinkedHashMap<>();
            try {
                flotilla.put(noisy.name(), Sizing.of(recommend(client, ns, noisy.name(), true)));
                blind.put(noisy.name(), Sizing.of(recommend(client, ns, noisy.name(), false)));
                // The noisy neighbour's independent check: the kubelet applies Flotilla's CPU request (the pod's and the
                // container's cpu.shares) while the hog still runs, and the victim's wait is measured again.
                Instant before = Instant.now().minusSeconds(1);
                double p99BeforeApply = at(promql, p99(victim), before);
                double meanBeforeApply = at(promql, meanWait(victim), before);
                cgroups.get(noisy.name()).cpuRequest(flotilla.get(noisy.name()).cpuRequest());
                Thread.sleep(RATE.toMillis() + 2_000);
                Instant after = Instant.now().minusSeconds(1);
                double p99Applied = at(promql, p99(victim), after);
                double meanApplied = at(promql, meanWait(victim), after);
                // Reported, not asserted: the p99 moves in power-of-two buckets, and on a shared machine the mean wait of the
                // same weight varied 2.6x between rounds (tuning/scripts/cpu-weight-vs-wait.sh measures weight against wait).
                measured.add(new Measured("victim run-queue p99 and mean wait beside the hog, before and after Flotilla's request "
                        + "is applied", ms(p99BeforeApply) + ", " + ms(meanBeforeApply) + " -> " + ms(p99Applied) + ", "
                        + ms(meanApplied)));
                hog.stopProcesses();

                // Phase 3: the other scenarios, each on its own cgroup's limits, without the hog (which would starve the
                // spinner below its quota: it would wait rather than throttle).
                cgroups.get(throttled.name()).start(java("spin"), logs.resolve("spin.log"));
                cgroups.get(oom.name()).start(javaWithHeap("256m", "grow", "160"), logs.resolve("grow.log")); // the heap allows it, the cgroup does not
                ContainerCgroup jvmCg = cgroups.get(jvm.name());
                jvmCg.start(javaWithHeap("256m", "bursty", "96", "48", "1000"), logs.resolve("bursty.log"));
                WorkingSetSampler jvmWorkingSet = new WorkingSetSampler(jvmCg);
                closing.add(jvmWorkingSet);
                // Its CPU is judged once it is warm: a JVM's start (class loading, the JIT) is not what a request is sized for.
                Thread.sleep(5_000);
                long jvmCpuStart = cpuacctNanos(jvmCg);
                long jvmStart = System.nanoTime();
                Thread.sleep(RATE.toMillis() + 3_000);
                Instant phase3 = Instant.now().minusSeconds(1);
                String throttledSel = selector(ns, pods.get(throttled.name()));
                double throttledRatio = at(promql, "rate(" + SignalMetric.CFS_THROTTLED_PERIODS.defaultName() + throttledSel
                        + "[10s]) / rate(" + SignalMetric.CFS_PERIODS.defaultName() + throttledSel + "[10s])", phase3);
                double throttledPeriods = at(promql, SignalMetric.CFS_THROTTLED_PERIODS.defaultName() + throttledSel, phase3);
                measured.add(new Measured("throttled periods (self-throttling)", String.format(Locale.ROOT,
                        "%.0f, %.0f%% of periods in the last 10 s", throttledPeriods, throttledRatio * 100)));
                String oomSel = selector(ns, pods.get(oom.name()));
                double oomKills = at(promql, "sum(" + SignalMetric.EBPF_OOM_KILLS.defaultName() + oomSel + ")", phase3);
                double oomEvents = at(promql, "sum(" + SignalMetric.OOM_EVENTS.defaultName() + oomSel + ")", phase3);
                measured.add(new Measured("OOM kills seen by eBPF (cgroup's own count)", String.format(Locale.ROOT, "%.0f (%.0f)",
                        oomKills, oomEvents)));
                long jvmPeak = jvmWorkingSet.peak();
                double jvmMeanCores = (cpuacctNanos(jvmCg) - jvmCpuStart) / (double) (System.nanoTime() - jvmStart);
                measured.add(new Measured("bursty JVM peak working set (its cgroup, every 100 ms), mean CPU from 5 s on",
                        jvmPeak / MIB + " MiB, " + String.format(Locale.ROOT, "%.0fm", jvmMeanCores * 1000)));
                // The signals the right answers rest on were measured, or the scenario did not happen.
                assertThat(throttledRatio).as("throttled share of periods, at least twice the policy's 10% ceiling").isGreaterThan(0.2);
                assertThat(oomKills).as("OOM kills seen by eBPF").isGreaterThanOrEqualTo(1);

                right.put(throttled.name(), r -> r.cpuLimit() >= 300);
                right.put(oom.name(), r -> r.memoryLimit() >= (long) Math.ceil(1.3 * 64 * MIB));
                right.put(jvm.name(), r -> r.memoryRequest() >= jvmPeak && r.cpuRequest() >= jvmMeanCores * 1000);
                for (Scenario sc : List.of(throttled, oom, jvm)) {
                    // The OOM scenario's policy reads the kill from eBPF alone: its name for the memory cgroup's own count is one
                    // no exporter serves, so the tuner falls back to ebpf_exporter_oom_kills_total (spec.signalMetrics at work).
                    flotilla.put(sc.name(), Sizing.of(recommend(client, ns, sc.name(), true, spec -> {
                        if (sc == oom) {
                            spec.getSignalMetrics().setOomEvents("flotilla_scenario_no_such_oom_events_total");
                        }
                    })));
                    blind.put(sc.name(), Sizing.of(recommend(client, ns, sc.name(), false)));
                }
            } finally {
                manager.stop();
            }
            Map<String, String> vpa = vpaRecommendations(cluster, ns, prometheus, scenarios, pods, right);
            StringBuilder table = new StringBuilder("| scenario | right answer | Flotilla | VPA recommender " + VpaRecommenderProcess.VERSION
                    + " (real) | kernel-blind |\n|---|---|---|---|---|\n");
            Map<String, Boolean> flotillaRight = new LinkedHashMap<>();
            for (Scenario sc : scenarios) {
                boolean k = right.get(sc.name()).test(flotilla.get(sc.name()));
                flotillaRight.put(sc.name(), k);
                table.append("| ").append(sc.name()).append(" | ").append(sc.rightAnswer()).append(" | ")
                        .append(k ? "right: " : "WRONG: ").append(flotilla.get(sc.name())).append(" | ").append(vpa.get(sc.name()))
                        .append(" | ").append(right.get(sc.name()).test(blind.get(sc.name())) ? "right: " : "wrong: ")
                        .append(blind.get(sc.name())).append(" |\n");
            }
            StringBuilder report = new StringBuilder("## Real kernel scenarios\n\n");
            measured.forEach(m -> report.append("- ").append(m.what()).append(": ").append(m.value()).append('\n'));
            report.append('\n').append(table);
            System.out.print(report);
            Path out = Path.of("target", "real-kernel-scenarios.md");
            Files.createDirectories(out.getParent());
            Files.writeString(out, report);
            assertThat(flotillaRight).as(report.toString()).allSatisfy((name, ok) -> assertThat(ok).as("Flotilla on " + name).isTrue());
        } finally {
            for (int i = closing.size() - 1; i >= 0; i--) {
                try {
                    closing.get(i).close();
                } catch (Exception e) {
                    System.err.println("cleanup: " + e);
                }
            }
        }
    }

    static final String AGENT_JOB = "node-agent";
    static final String KSM_JOB = "kube-state-metrics";

    /** Requests and limits in millicores and bytes ({@link Long#MAX_VALUE}: none). */
    record Sizing(long cpuRequest, long cpuLimit, long memoryRequest, long memoryLimit) {
        static Sizing of(ContainerRecommendation r) {
            var v = r.getRecommended();
            return new Sizing(millis(v.getCpuRequest()), millis(v.getCpuLimit()), bytes(v.getMemoryRequest()), bytes(v.getMemoryLimit()));
        }

        @Override
        public String toString() {
            return "cpu " + cpu(cpuRequest) + "/" + cpu(cpuLimit) + ", memory " + mib(memoryRequest) + "/" + mib(memoryLimit);
        }

        private static String cpu(long m) {
            return m == Long.MAX_VALUE ? "none" : m + "m";
        }

        private static String mib(long b) {
            return b == Long.MAX_VALUE ? "none" : String.format(Locale.ROOT, "%.0fMi", b / (double) MIB);
        }
    }

    /**
     * The real VPA recommender on the same scenarios: it reads its history from the same Prometheus once, at its start
     * (after the scenarios ran), and learns OOM kills from the Pod's status, which the test updates as the kubelet would
     * once it runs. Its target is a request; its limits keep the container's limit-to-request ratio, as the VPA applies them.
     */
    static Map<String, String> vpaRecommendations(TestCluster cluster, TestNamespace ns, PrometheusServer prometheus,
            List<Scenario> scenarios, Map<String, Pod> pods, Map<String, Predicate<Sizing>> right) throws Exception {
        KubernetesClient client = cluster.client();
        VpaRecommenderProcess.Tool tool = VpaRecommenderProcess.Tool.build();
        VpaRecommenderProcess.installCrds(client, tool.crds());
        for (Scenario sc : scenarios) {
            VpaRecommenderProcess.createVpa(client, ns.name(), sc.name(), sc.name());
        }
        Map<String, String> out = new LinkedHashMap<>();
        var options = VpaRecommenderProcess.Options.forAgent(prometheus.uri(), AGENT_JOB, KSM_JOB, ns.name());
        try (VpaRecommenderProcess recommender = VpaRecommenderProcess.start(tool, cluster, options, "scenarios-" + ns.name())) {
            // The kubelet's report of the OOM kill the eBPF program saw: last state OOMKilled, one restart.
            Pod killed = client.pods().inNamespace(ns.name()).withName(pods.get("oom-kill").getMetadata().getName()).get();
            var status = killed.getStatus().getContainerStatuses().getFirst();
            status.setRestartCount(1);
            status.setLastState(new io.fabric8.kubernetes.api.model.ContainerStateBuilder().withNewTerminated().withReason("OOMKilled")
                    .withExitCode(137).withStartedAt(Instant.now().minusSeconds(20).toString()).withFinishedAt(Instant.now().toString())
                    .endTerminated().build());
            recommender.awaitRuns(1, Duration.ofSeconds(30));
            client.resource(killed).updateStatus();
            recommender.awaitRuns(3, Duration.ofSeconds(30));
            for (Scenario sc : scenarios) {
                var rec = recommender.awaitRecommendation(client, ns.name(), sc.name(), Duration.ofSeconds(30)).getFirst();
                long cpu = Resources.millis(rec.target().get("cpu")).orElse(0);
                long mem = Resources.bytes(rec.target().get("memory")).orElse(0);
                Sizing v = new Sizing(cpu, scaled(cpu, sc, "cpu", Resources::millis), mem, scaled(mem, sc, "memory", Resources::bytes));
                out.put(sc.name(), (right.get(sc.name()).test(v) ? "right: " : "wrong: ") + v);
            }
        }
        return out;
    }

    private static long scaled(long request, Scenario sc, String resource,
            java.util.function.Function<Quantity, java.util.OptionalLong> parse) {
        double ratio = parse.apply(sc.limits().get(resource)).orElseThrow() / (double) parse.apply(sc.requests().get(resource)).orElseThrow();
        return (long) Math.ceil(request * ratio);
    }

    static Map<String, Quantity> res(String cpu, String memory) {
        return Map.of("cpu", new Quantity(cpu), "memory", new Quantity(memory));
    }

    static long millis(Quantity q) {
        return q == null ? Long.MAX_VALUE : Resources.millis(q).orElse(0);
    }

    static long bytes(Quantity q) {
        return q == null ? Long.MAX_VALUE : Resources.bytes(q).orElse(0);
    }

    static String ms(double seconds) {
        return String.format(Locale.ROOT, "%.3f ms", seconds * 1000);
    }

    /** A Deployment of one replica and its Pod on {@link #NODE}, running as a kubelet would report it: container id {@code cid}. */
    static Pod runningPod(KubernetesClient client, TestNamespace ns, Scenario s, String cid) {
        var resources = new ResourceRequirementsBuilder().withRequests(s.requests()).withLimits(s.limits()).build();
        client.resource(new DeploymentBuilder().withNewMetadata().withName(s.name()).withNamespace(ns.name())
                .addToLabels("scenario", s.name()).endMetadata().withNewSpec().withReplicas(1)
                .withSelector(new LabelSelectorBuilder().addToMatchLabels("app", s.name()).build()).withNewTemplate()
                .withNewMetadata().addToLabels("app", s.name()).endMetadata().withNewSpec().addToContainers(new ContainerBuilder()
                        .withName("app").withImage("example/app:1").withResources(resources).build()).endSpec().endTemplate()
                .endSpec().build()).create();
        Pod pod = client.resource(new PodBuilder().withNewMetadata().withName(s.name() + "-0").withNamespace(ns.name())
                .addToLabels("app", s.name()).endMetadata().withNewSpec().withNodeName(NODE).addToContainers(new ContainerBuilder()
                        .withName("app").withImage("example/app:1").withResources(resources).build()).endSpec().build()).create();
        pod.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Running").withStartTime(Instant.now().toString())
                .addToContainerStatuses(new ContainerStatusBuilder().withName("app").withImage("example/app:1")
                        .withImageID("example/app@sha256:" + "0".repeat(64)).withContainerID("containerd://" + cid).withReady(true)
                        .withRestartCount(0).withStarted(true).withNewState().withNewRunning().withStartedAt(Instant.now().toString())
                        .endRunning().endState().build())
                .build());
        return client.resource(pod).updateStatus();
    }

    static String selector(TestNamespace ns, Pod pod) {
        return "{namespace=\"" + ns.name() + "\",pod=\"" + pod.getMetadata().getName() + "\",container=\"app\"}";
    }

    static String p99(String selector) {
        return "histogram_quantile(0.99, sum by (le) (rate(" + SignalMetric.RUN_QUEUE_LATENCY_BUCKET.defaultName() + selector + "["
                + RATE.toSeconds() + "s])))";
    }

    static String meanWait(String selector) {
        String r = "[" + RATE.toSeconds() + "s])";
        return "rate(ebpf_exporter_run_queue_latency_seconds_sum" + selector + r + " / rate(ebpf_exporter_run_queue_latency_seconds_count"
                + selector + r;
    }

    /** The value of {@code promql} at {@code t} (the largest if it has several series); NaN when it has none. */
    static double at(PrometheusClient p, String promql, Instant t) throws Exception {
        Map<Map<String, String>, Series> r = p.rangeQuery(promql, t, t, Duration.ofSeconds(1));
        return r.values().stream().flatMap(s -> s.samples().stream()).mapToDouble(x -> x.value()).max().orElse(Double.NaN);
    }

    static void awaitSeries(PrometheusClient p, String promql, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!Double.isNaN(at(p, promql, Instant.now()))) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("no " + promql + " within " + timeout + ": the agent did not map the container to its Pod");
    }

    /** The peak of a cgroup's working set (usage minus inactive file pages, as cAdvisor and the kubelet count it), every 100 ms. */
    static final class WorkingSetSampler implements AutoCloseable {
        private final Thread thread;
        private volatile long peak;

        WorkingSetSampler(ContainerCgroup cg) {
            thread = Thread.ofPlatform().daemon().name("working-set").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        long usage = Long.parseLong(Files.readString(cg.dir("memory").resolve("memory.usage_in_bytes")).strip());
                        long inactive = Files.readAllLines(cg.dir("memory").resolve("memory.stat")).stream()
                                .filter(l -> l.startsWith("total_inactive_file ")).mapToLong(l -> Long.parseLong(l.split(" ")[1]))
                                .findFirst().orElse(0);
                        peak = Math.max(peak, usage - Math.min(usage, inactive));
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        return; // the cgroup went away: the peak so far stands
                    }
                }
            });
        }

        long peak() {
            return peak;
        }

        @Override
        public void close() {
            thread.interrupt();
        }
    }

    /**
     * A container's time queued and its number of waits, as the agent counts them (its run-queue histogram's _sum and
     * _count, read from its /metrics) and as the kernel counts them (schedstat's run_delay and timeslices, summed over
     * the cgroup's threads); differences of two readings are compared.
     */
    record RunDelay(double agentSeconds, double agentCount, double kernelSeconds, double kernelCount, java.util.Set<String> threads) {
        static RunDelay read(NodeAgentProcess agent, ContainerCgroup cg, TestNamespace ns, Pod pod) throws Exception {
            double kernelNs = 0;
            double slices = 0;
            java.util.Set<String> threads = new java.util.TreeSet<>(Files.readAllLines(cg.dir("cpu").resolve("tasks")));
            for (String tid : threads) {
                try {
                    String[] f = Files.readString(Path.of("/proc", tid.strip(), "schedstat")).strip().split(" ");
                    kernelNs += Double.parseDouble(f[1]);
                    slices += Double.parseDouble(f[2]);
                } catch (java.io.IOException gone) {
                    // a thread that exited between the listing and the read
                }
            }
            String metrics = new String(java.net.URI.create(agent.uri() + "/metrics").toURL().openStream().readAllBytes());
            String series = "namespace=\"" + ns.name() + "\"";
            String ofPod = "pod=\"" + pod.getMetadata().getName() + "\"";
            double sum = value(metrics, "ebpf_exporter_run_queue_latency_seconds_sum{", series, ofPod);
            double count = value(metrics, "ebpf_exporter_run_queue_latency_seconds_count{", series, ofPod);
            return new RunDelay(sum, count, kernelNs / 1e9, slices, threads);
        }

        /**
         * Waits until the container's threads have stayed the same for 2 s (a JVM starts and stops threads while it warms
         * up, and a thread that exits takes its schedstat with it, while the agent counted its waits).
         */
        static void awaitSteadyThreads(ContainerCgroup cg) throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            java.util.List<String> last = Files.readAllLines(cg.dir("cpu").resolve("tasks"));
            long steadySince = System.nanoTime();
            while (System.nanoTime() - steadySince < Duration.ofSeconds(2).toNanos()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the victim's threads kept changing for 30 s: " + last);
                }
                Thread.sleep(100);
                java.util.List<String> now = Files.readAllLines(cg.dir("cpu").resolve("tasks"));
                if (!now.equals(last)) {
                    last = now;
                    steadySince = System.nanoTime();
                }
            }
        }

        private static double value(String metrics, String prefix, String... labels) {
            return metrics.lines().filter(l -> l.startsWith(prefix) && java.util.Arrays.stream(labels).allMatch(l::contains))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
        }

        RunDelay minus(RunDelay before) {
            // The kernel's figures are per thread: a thread that exited in between would be missing from them.
            assertThat(threads).as("the victim's threads over the window (schedstat is per thread)").isEqualTo(before.threads);
            return new RunDelay(agentSeconds - before.agentSeconds, agentCount - before.agentCount, kernelSeconds - before.kernelSeconds,
                    kernelCount - before.kernelCount, threads);
        }

        /**
         * Waits within 10% of the kernel's count (measured: under 1% in every window of 8 runs), which is what tells a wait
         * credited to the right cgroup from one credited elsewhere (an agent crediting the switched-out task's cgroup
         * counted 3987 against 5258). Time queued is reported, not asserted: with the same counts the agent's sum came out
         * 0.78 to 1.9 times schedstat's (beside the hog mostly within 1%, once 22% lower; in the quiet window up to 10 us
         * more per wait), a difference not explained yet.
         */
        void assertAgrees(String when) {
            assertThat(agentCount).as("victim waits counted by the agent %s (kernel: %.0f)", when, kernelCount)
                    .isBetween(0.9 * kernelCount, 1.1 * kernelCount);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.0f vs %.0f waits, %.1f ms vs %.1f ms queued", agentCount, kernelCount,
                    agentSeconds * 1000, kernelSeconds * 1000);
        }
    }

    static long cpuacctNanos(ContainerCgroup cg) throws Exception {
        return Long.parseLong(Files.readString(cg.dir("cpuacct").resolve("cpuacct.usage")).strip());
    }

    static List<String> java(String... args) {
        return javaWithHeap("32m", args);
    }

    /** A small JVM running {@link ScenarioWorkload} from the test classes. */
    static List<String> javaWithHeap(String heap, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + heap,
                "-Xms" + (heap.equals("32m") ? "8m" : "64m"), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss256k",
                "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"), ScenarioWorkload.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static ContainerRecommendation recommend(KubernetesClient client, TestNamespace ns, String name, boolean kernel) {
        return recommend(client, ns, name, kernel, spec -> { });
    }

    private static ContainerRecommendation recommend(KubernetesClient client, TestNamespace ns, String name, boolean kernel,
            java.util.function.Consumer<dev.flotilla.tuning.api.ResourceTuningPolicySpec> customize) {
        String policyName = name + (kernel ? "-kernel" : "-blind");
        ResourceTuningPolicy policy = ResourceTunerTestAccess.policy(ns, "Recommend", "10m", "8");
        policy.getMetadata().setName(policyName);
        policy.getSpec().getTarget().setSelector(new LabelSelectorBuilder().addToMatchLabels("scenario", name).build());
        policy.getSpec().getObjectives().setRunqueueLatencyP99("1ms");
        policy.getSpec().setKernelSignals(kernel);
        customize.accept(policy.getSpec());
        client.resource(policy).create();
        ResourceTuningPolicy[] last = new ResourceTuningPolicy[1];
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
            last[0] = client.resources(ResourceTuningPolicy.class).inNamespace(ns.name()).withName(policyName).get();
            return last[0].getStatus() != null && !last[0].getStatus().getContainers().isEmpty();
        });
        client.resource(last[0]).delete();
        return last[0].getStatus().getContainers().getFirst();
    }
}
