package dev.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.chaos.experiment.Action;
import dev.flotilla.chaos.experiment.ChaosPlan;
import dev.flotilla.chaos.experiment.Schedule;
import dev.flotilla.chaos.experiment.Selector;
import dev.flotilla.chaos.experiment.Workflow;
import dev.flotilla.chaos.experiment.ChaosDocuments;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.InvalidExperimentException;
import dev.flotilla.chaos.experiment.Mode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChaosDocumentsTest {

    private static final Map<String, String> COORDINATOR = Map.of("app.kubernetes.io/name", "flotilla", "flotilla.dev/role",
            "coordinator");
    private static final Map<String, String> MEMBER = Map.of("app.kubernetes.io/name", "flotilla");

    static Path home() {
        return Path.of(System.getProperty("flotilla.home", "..")).toAbsolutePath().normalize();
    }

    static List<Path> shipped() throws Exception {
        try (Stream<Path> deploy = Files.list(home().resolve("deploy/chaos"));
             Stream<Path> local = Files.list(home().resolve("chaos-tests/experiments"))) {
            return Stream.concat(deploy, local).filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void everyShippedExperimentIsReadAndAimsAtTheDeploysPods() throws Exception {
        List<Path> files = shipped();
        assertThat(files).hasSizeGreaterThanOrEqualTo(19);
        for (Path f : files) {
            ChaosPlan plan = ChaosDocuments.readPlan(f);
            assertThat(plan.name() + ".yaml").isEqualTo(f.getFileName().toString());
            for (Experiment e : plan.faults()) {
                if (!e.kind().equals("ClusterChaos")) {
                    Selector s = e.selector().orElseThrow();
                    assertThat(s.matches("flotilla-system", "flotilla-abc-x", COORDINATOR)
                            || s.matches("flotilla-system", "flotilla-abc-y", MEMBER)).as(f.toString()).isTrue();
                }
            }
        }
        assertThat(files).extracting(f -> ChaosDocuments.readPlan(f).kind()).contains("Schedule", "Workflow");
    }

    @Test
    void fieldsAreReadAsChaosMeshDefinesThem() throws Exception {
        Experiment delay = ChaosDocuments.read(home().resolve("deploy/chaos/network-delay-all.yaml"));
        assertThat(delay.action()).isInstanceOf(Action.NetDelay.class);
        Action.NetDelay d = (Action.NetDelay) delay.action();
        assertThat(d.latency()).isPositive();
        assertThat(delay.mode()).isEqualTo(new Mode.All());
        Experiment allButOne = ChaosDocuments.read(home().resolve("deploy/chaos/pod-kill-all-but-one.yaml"));
        assertThat(allButOne.mode()).isEqualTo(new Mode.Fixed(2));
        assertThat(allButOne.faultDuration()).isZero();
        Experiment back = ChaosDocuments.read(home().resolve("deploy/chaos/time-backward-5m-one.yaml"));
        assertThat(((Action.TimeShift) back.action()).offset()).isEqualTo(Duration.ofMinutes(-5));
        Experiment bandwidth = ChaosDocuments.read(home().resolve("deploy/chaos/network-bandwidth-one.yaml"));
        assertThat(((Action.NetBandwidth) bandwidth.action()).bytesPerSecond()).isPositive();
    }

    @Test
    void aScheduleFiresItsChaosAtItsIntervalAsManyTimesAsItsAnnotationSays() {
        Schedule s = (Schedule) ChaosDocuments.readPlan(home().resolve("deploy/chaos/schedule-pod-kill-coordinator.yaml"));
        assertThat(s.every()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.firings()).isEqualTo(2);
        assertThat(s.concurrencyPolicy()).isEqualTo(Schedule.ConcurrencyPolicy.FORBID);
        Experiment kill = (Experiment) s.item();
        assertThat(kill.action()).isEqualTo(new Action.PodKill(Duration.ZERO));
        assertThat(kill.selector().orElseThrow().matches("flotilla-system", "p", MEMBER)).isFalse();
        assertThat(s.length()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.describe()).isEqualTo("Schedule(@every 30s x2: PodChaos/pod-kill)");
        // Without the annotation: the default number of firings; Allow where firings cannot overlap is accepted.
        Schedule plain = (Schedule) ChaosDocuments.parse("""
                apiVersion: chaos-mesh.org/v1alpha1
                kind: Schedule
                metadata: {name: plain}
                spec:
                  schedule: "@every 1m30s"
                  concurrencyPolicy: Allow
                  type: NetworkChaos
                  networkChaos: {action: delay, delay: {latency: 10ms}, duration: 20s, mode: all, selector: {namespaces: [x]}}
                """, "plain.yaml");
        assertThat(plain.firings()).isEqualTo(ChaosDocuments.DEFAULT_FIRINGS);
        assertThat(plain.every()).isEqualTo(Duration.ofSeconds(90));
        assertThat(plain.concurrencyPolicy()).isEqualTo(Schedule.ConcurrencyPolicy.ALLOW);
    }

    @Test
    void aWorkflowIsATreeOfItsTemplatesWithTheirDeadlines() {
        Workflow w = (Workflow) ChaosDocuments.readPlan(
                home().resolve("deploy/chaos/workflow-partition-coordinator-kill-member.yaml"));
        Workflow.Parallel entry = (Workflow.Parallel) w.entry();
        assertThat(entry.deadline()).contains(Duration.ofSeconds(60));
        Workflow.Fault partition = (Workflow.Fault) entry.children().get(0);
        Workflow.Serial later = (Workflow.Serial) entry.children().get(1);
        assertThat(partition.deadline()).isEqualTo(Duration.ofSeconds(20));
        // A lasting chaos lasts its node's deadline; a one-shot one has no duration.
        assertThat(partition.experiment().faultDuration()).isEqualTo(Duration.ofSeconds(20));
        assertThat(later.children()).extracting(Workflow.Node::name).containsExactly("wait-5s", "kill-member");
        Workflow.Fault kill = (Workflow.Fault) later.children().get(1);
        assertThat(kill.experiment().faultDuration()).isZero();
        assertThat(kill.experiment().selector().orElseThrow().matches("flotilla-system", "p", COORDINATOR)).isFalse();
        assertThat(kill.experiment().selector().orElseThrow().matches("flotilla-system", "p", MEMBER)).isTrue();
        assertThat(w.entry().longest()).isEqualTo(Duration.ofSeconds(20));
        assertThat(w.faults()).hasSize(2);
        assertThat(w.describe()).isEqualTo("Workflow(Parallel(NetworkChaos/partition 20s, Serial(Suspend 5s, PodChaos/pod-kill 5s)))");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "unknown-kind.yaml|kind KernelChaos is not run by the local engine",
            "unknown-field.yaml|spec.selector.fieldSelectors is not carried out by the local engine",
            "bad-duration.yaml|spec.duration 'thirty seconds' is not a duration",
            "missing-duration.yaml|NetworkChaos/delay needs spec.duration",
            "fixed-without-value.yaml|mode fixed needs spec.value",
            "corrupt.yaml|NetworkChaos spec.action 'corrupt' is not run by the local engine",
            "two-documents.yaml|holds several documents",
            "not-yaml.yaml|not YAML",
            "pod-target.yaml|spec.target (pods as the other side) is not carried out",
            "monotonic-clock.yaml|spec.clockIds [CLOCK_MONOTONIC] is not carried out",
            "other-container.yaml|spec.containerNames names 'istio-proxy'",
            "percent-memory.yaml|a percent of the node's memory has no local meaning",
            "empty-selector.yaml|spec.selector is missing",
            "unknown-cluster-action.yaml|spec.action 'disk-full' is not a ClusterChaos action",
            "schedule-cron.yaml|spec.schedule '5 * * * *' fires at wall-clock times; the local engine runs interval schedules only",
            "schedule-allow-overlap.yaml|concurrencyPolicy Allow with firings that last 15 s every 10 s would overlap them",
            "schedule-bad-firings.yaml|metadata.annotations.chaos.flotilla.dev/firings must be a whole number 1-20, got 'many'",
            "workflow-no-deadline.yaml|spec.templates[kill].deadline is missing (a chaos node lasts until its deadline",
            "workflow-duration-inside.yaml|spec.templates[delay].networkChaos.duration is not allowed in a workflow",
            "workflow-cycle.yaml|template outer contains itself (outer > inner > outer)",
            "workflow-task.yaml|spec.templates[check].templateType Task is not run by the local engine",
            "workflow-missing-child.yaml|spec: no template named kill (a child of steps)",
            "schedule-unsupported-type.yaml|spec.type IOChaos is not run by the local engine (PodChaos, NetworkChaos, HTTPChaos, StressChaos, TimeChaos, Workflow)",
            "schedule-fraction.yaml|spec.schedule '@every 1500ms' is not a whole number of seconds",
            "schedule-embedded-no-duration.yaml|NetworkChaos/delay needs spec.networkChaos.duration",
            "workflow-unreachable-invalid.yaml|spec.templates[never-used].deadline is missing (a Suspend waits its deadline)",
            "workflow-template-name.yaml|spec.templates[0].name 'Wait_5s' is not a DNS-1123 subdomain",
            "expression-operator.yaml|operator 'NotExists' of expression selector flotilla.dev/role is not In, NotIn, Exists or DoesNotExist"})
    void anInvalidOrUnsupportedDocumentIsRefusedWithOneLineNamingIt(String file, String expected) throws Exception {
        Path p = Path.of(getClass().getResource("/invalid/" + file).toURI());
        assertThatThrownBy(() -> ChaosDocuments.read(p)).isInstanceOf(InvalidExperimentException.class)
                .hasMessageStartingWith(file + ": ").hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void modesPickAsChaosMeshDefinesThemAndASeedMakesThePickReproducible() {
        List<String> pods = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
        Comparator<String> order = Comparator.naturalOrder();
        assertThat(new Mode.One().pick(pods, order, new SplittableRandom(1))).hasSize(1);
        assertThat(new Mode.All().pick(pods, order, new SplittableRandom(1))).isEqualTo(pods);
        assertThat(new Mode.Fixed(3).pick(pods, order, new SplittableRandom(1))).hasSize(3);
        assertThat(new Mode.Fixed(30).pick(pods, order, new SplittableRandom(1))).hasSize(10);
        assertThat(new Mode.FixedPercent(25).pick(pods, order, new SplittableRandom(1))).hasSize(3);
        assertThat(new Mode.FixedPercent(66).pick(pods.subList(0, 3), order, new SplittableRandom(1))).hasSize(2);
        for (int seed = 0; seed < 50; seed++) {
            assertThat(new Mode.RandomMaxPercent(40).pick(pods, order, new SplittableRandom(seed)).size()).isBetween(0, 4);
        }
        assertThat(new Mode.Fixed(4).pick(pods, order, new SplittableRandom(7)))
                .isEqualTo(new Mode.Fixed(4).pick(pods, order, new SplittableRandom(7)));
    }
}
