package dev.flotilla.chaos.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.chaos.experiment.Action;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.Mode;
import dev.flotilla.chaos.experiment.Schedule;
import dev.flotilla.chaos.experiment.Selector;
import dev.flotilla.chaos.experiment.Workflow;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PlanExecution's timing and bookkeeping against a recording applier: when faults start and end, what Forbid skips,
 * what a parent's deadline cuts, what an interrupt leaves behind (nothing). Margins are whole seconds: each
 * assertion holds with a second or more of scheduling delay either way.
 */
class PlanExecutionTest {

    @TempDir
    Path dir;

    /** What the fake applier saw: each fault's start and end, and how many are in place now. */
    final List<String> events = new CopyOnWriteArrayList<>();
    final AtomicInteger inPlace = new AtomicInteger();

    PlanExecution execution(List<ReplicaPod> pods) {
        return new PlanExecution((e, targets) -> {
            events.add("apply " + e.name() + " " + targets.stream().map(ReplicaPod::name).toList());
            inPlace.incrementAndGet();
            boolean[] ended = {false};
            return () -> {
                if (!ended[0]) {
                    ended[0] = true;
                    inPlace.decrementAndGet();
                    events.add("end " + e.name());
                }
            };
        }, e -> pods);
    }

    static Experiment delay(String name, Duration duration) {
        return new Experiment(name + ".yaml", "NetworkChaos", name, Optional.of(new Selector(List.of("ns"), Map.of(), Map.of())),
                new Mode.All(), new Action.NetDelay(Duration.ofMillis(10), Duration.ZERO, 0), Optional.of(duration));
    }

    static Experiment kill(String name) {
        return new Experiment(name + ".yaml", "PodChaos", name, Optional.of(new Selector(List.of("ns"), Map.of(), Map.of())),
                new Mode.One(), new Action.PodKill(Duration.ZERO), Optional.empty());
    }

    @Test
    void forbidSkipsAFiringWhileThePreviousOneIsStillInPlace() throws Exception {
        // Every 2 s a 3 s fault: #1 from 2 s to 5 s, #2 at 4 s skipped, #3 from 6 s to 9 s.
        Schedule s = new Schedule("s.yaml", "s", Duration.ofSeconds(2), Schedule.ConcurrencyPolicy.FORBID, 3,
                delay("d", Duration.ofSeconds(3)));
        PlanExecution run = execution(List.of(new ReplicaPod("pod-a", dir)));
        long start = System.nanoTime();
        run.run(s, List.of());
        double took = (System.nanoTime() - start) / 1e9;
        assertThat(run.windows()).extracting(Timeline.FaultWindow::step).containsExactly("s #1", "s #3");
        assertThat(run.notes()).containsExactly("s #2: skipped, firing #1 still in place (concurrencyPolicy Forbid)");
        Timeline.FaultWindow first = run.windows().getFirst();
        assertThat(Duration.between(first.from(), first.to()).toMillis()).isBetween(2_900L, 4_000L);
        assertThat(took).isBetween(8.9, 10.5);
        assertThat(inPlace).hasValue(0);
    }

    @Test
    void aParentsDeadlineEndsWhatStillRunsBelowItAndAOneShotNodeStillLastsItsDeadline() throws Exception {
        // Parallel, deadline 3 s: a 20 s delay (cut at 3 s) beside Serial(Suspend 1 s, kill with deadline 10 s).
        Workflow w = new Workflow("w.yaml", "w", new Workflow.Parallel("both", Optional.of(Duration.ofSeconds(3)), List.of(
                new Workflow.Fault("slow", Duration.ofSeconds(20), delay("slow", Duration.ofSeconds(20))),
                new Workflow.Serial("later", Optional.empty(), List.of(new Workflow.Suspend("wait", Duration.ofSeconds(1)),
                        new Workflow.Fault("kill", Duration.ofSeconds(10), kill("kill")))))));
        PlanExecution run = execution(List.of(new ReplicaPod("pod-a", dir)));
        Instant start = Instant.now();
        run.run(w, List.of());
        double took = Duration.between(start, Instant.now()).toMillis() / 1000.0;
        assertThat(took).isBetween(2.9, 4.5);
        assertThat(run.windows()).extracting(Timeline.FaultWindow::step)
                .containsExactly("w/both/slow", "w/both/later/kill");
        Timeline.FaultWindow slow = run.windows().get(0);
        Timeline.FaultWindow kill = run.windows().get(1);
        assertThat(Duration.between(slow.from(), slow.to()).toMillis()).isBetween(2_900L, 4_000L);
        assertThat(Duration.between(start, kill.from()).toMillis()).isBetween(900L, 2_000L);
        assertThat(inPlace).hasValue(0);
    }

    @Test
    void anInterruptedRunEndsEveryFaultAndEveryBranchBeforeItThrows() throws Exception {
        Workflow w = new Workflow("w.yaml", "w", new Workflow.Parallel("both", Optional.empty(), List.of(
                new Workflow.Fault("a", Duration.ofSeconds(60), delay("a", Duration.ofSeconds(60))),
                new Workflow.Fault("b", Duration.ofSeconds(60), delay("b", Duration.ofSeconds(60))))));
        PlanExecution run = execution(List.of(new ReplicaPod("pod-a", dir)));
        Throwable[] thrown = {null};
        Thread runner = Thread.ofVirtual().start(() -> {
            try {
                run.run(w, List.of());
            } catch (Throwable t) {
                thrown[0] = t;
            }
        });
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (inPlace.get() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(inPlace).hasValue(2);
        runner.interrupt();
        assertThat(runner.join(Duration.ofSeconds(10))).isTrue();
        assertThat(thrown[0]).isInstanceOf(InterruptedException.class);
        assertThat(inPlace).hasValue(0);
        assertThat(run.windows()).hasSize(2);
    }

    @Test
    void aFaultWithoutASelectorActsOnTheClusterAndOneWhoseSelectorMatchesNothingIsNoted() throws Exception {
        Experiment etcd = new Experiment("etcd.yaml", "ClusterChaos", "etcd-kill", Optional.empty(), new Mode.All(),
                new Action.EtcdKill(), Optional.of(Duration.ofMillis(100)));
        PlanExecution cluster = execution(List.of());
        cluster.run(etcd, List.of());
        assertThat(events).containsExactly("apply etcd-kill []", "end etcd-kill");
        assertThat(cluster.windows()).singleElement().satisfies(w -> assertThat(w.targets()).isEmpty());

        events.clear();
        Schedule s = new Schedule("s.yaml", "s", Duration.ofMillis(100), Schedule.ConcurrencyPolicy.FORBID, 1, kill("k"));
        PlanExecution nobody = execution(List.of());
        nobody.run(s, List.of());
        assertThat(events).isEmpty();
        assertThat(nobody.windows()).isEmpty();
        assertThat(nobody.notes()).containsExactly("s #1: PodChaos/pod-kill selected no pod; nothing applied");
    }

    @Test
    void aFailureInOneBranchIsThrownAfterTheOthersEndedWithTheRestSuppressed() {
        PlanExecution failing = new PlanExecution((e, targets) -> {
            throw new IllegalStateException("cannot apply " + e.name());
        }, e -> List.of(new ReplicaPod("pod-a", dir)));
        Workflow w = new Workflow("w.yaml", "w", new Workflow.Parallel("both", Optional.empty(), List.of(
                new Workflow.Fault("a", Duration.ofSeconds(1), kill("a")), new Workflow.Fault("b", Duration.ofSeconds(1), kill("b")))));
        assertThatThrownBy(() -> failing.run(w, List.of())).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("cannot apply").satisfies(t -> assertThat(t.getSuppressed()).hasSize(1));
    }
}
