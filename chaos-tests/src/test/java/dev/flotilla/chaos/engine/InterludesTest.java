package dev.flotilla.chaos.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which quiet spans between faults are judged for range ownership on their own (ExperimentRunner.interludes). */
class InterludesTest {

    static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
    static final Duration BOUND = Duration.ofSeconds(11);

    static Timeline.FaultWindow at(String step, int from, int to) {
        return new Timeline.FaultWindow(step, "PodChaos/pod-kill", T0.plusSeconds(from), T0.plusSeconds(to), List.of("p"));
    }

    @Test
    void firingsFarEnoughApartAreEachFollowedByAQuietSpanUntilTheNextOne() {
        var firings = List.of(at("#1", 30, 30), at("#2", 60, 60), at("#3", 90, 90));
        assertThat(ExperimentRunner.interludes(firings, BOUND)).containsExactly(
                new ExperimentRunner.Interlude(firings.get(0), T0.plusSeconds(60)),
                new ExperimentRunner.Interlude(firings.get(1), T0.plusSeconds(90)));
    }

    @Test
    void overlappingOrCloseFaultsAreJudgedTogetherAfterTheLatestEnd() {
        // A 20 s partition with a kill 5 s into it: nothing on its own, the final judgement covers both.
        assertThat(ExperimentRunner.interludes(List.of(at("partition", 0, 20), at("kill", 5, 5)), BOUND)).isEmpty();
        // 10 s apart, under the bound: not on its own either.
        assertThat(ExperimentRunner.interludes(List.of(at("a", 0, 0), at("b", 10, 10)), BOUND)).isEmpty();
        // The gap is counted from the end of the longest fault before, not the last to start.
        var windows = List.of(at("long", 0, 20), at("short", 2, 3), at("later", 31, 31));
        assertThat(ExperimentRunner.interludes(windows, BOUND))
                .containsExactly(new ExperimentRunner.Interlude(windows.get(0), T0.plusSeconds(31)));
    }
}
