package dev.flotilla.chaos.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The HTML report from hand-made results: what each chart draws, and that the page needs nothing from elsewhere. */
class HtmlReportTest {

    static final Instant T0 = Instant.parse("2026-12-04T10:00:00Z");

    /** A 30 s span; the fault from 2 s to 12 s; shard 0 owned, unowned 12-14 s, then owned; shard 1 two owners 20-21 s. */
    static ExperimentResult sample(String name, List<String> violations) {
        List<Timeline.Converged> converged = new ArrayList<>();
        for (int s = 0; s <= 30; s++) {
            converged.add(new Timeline.Converged(T0.plusSeconds(s), s < 12 ? 40 : Math.min(64, 40 + (s - 12) * 4), 64));
        }
        List<Integer> perSecond = new ArrayList<>(Collections.nCopies(30, 3));
        perSecond.set(15, 9);
        List<Timeline.OwnerSpan> owners = List.of(
                new Timeline.OwnerSpan(0, T0.plusSeconds(12), T0.plusSeconds(14), List.of()),
                new Timeline.OwnerSpan(0, T0.plusSeconds(14), T0.plusSeconds(30), List.of("pod-b")),
                new Timeline.OwnerSpan(1, T0.plusSeconds(12), T0.plusSeconds(20), List.of("pod-a")),
                new Timeline.OwnerSpan(1, T0.plusSeconds(20), T0.plusSeconds(21), List.of("pod-a", "pod-b")),
                new Timeline.OwnerSpan(1, T0.plusSeconds(21), T0.plusSeconds(30), List.of("pod-a")));
        Timeline timeline = new Timeline(T0, T0.plusSeconds(30), converged, Map.of("pod-a", perSecond), owners,
                List.of(new Timeline.FaultWindow(name, "NetworkChaos/partition", T0.plusSeconds(2), T0.plusSeconds(12),
                        List.of("pod-a"))));
        return new ExperimentResult(name, "NetworkChaos/partition", "flotilla", List.of("pod-a"), T0.plusSeconds(2),
                T0.plusSeconds(12), Duration.ofSeconds(9), Duration.ofSeconds(16), 0, 40, 65, 2.0, 2.0, 30, violations,
                List.of(), timeline);
    }

    @Test
    void eachExperimentHasItsThreeChartsOnOneAxisWithTheFaultShaded() {
        String page = HtmlReport.render(Duration.ofSeconds(8), List.of(sample("partition <one>", List.of()),
                sample("kill", List.of("convergence: took 20000 ms, T = 16000 ms"))));
        assertThat(count(page, "<svg ")).isEqualTo(6);
        // x = 64 + s / 30 * 880 on every chart: the fault from 2 s (122.7) to 12 s (416.0).
        assertThat(count(page, "<rect class=\"fault\" x=\"122.7\" y=\"12\" width=\"293.3\"")).isEqualTo(6);
        assertThat(page).contains("fill=\"" + HtmlReport.FAULT_SHADE + "\"");
        // T after the fault's end: 12 s + 16 s = 28 s, x = 885.3.
        assertThat(page).contains("<line x1=\"885.3\"");
        // Shard 0 unowned from 12 s to 14 s: red, 58.7 px; shard 1 with two owners from 20 s to 21 s: black.
        assertThat(page).contains("<rect x=\"416.0\" y=\"13\" width=\"58.7\" height=\"12\" fill=\"" + HtmlReport.UNOWNED + "\"");
        assertThat(page).contains("<rect x=\"650.7\" y=\"27\" width=\"29.3\" height=\"12\" fill=\"" + HtmlReport.TWO_OWNERS
                + "\"><title>shard 1: two owners: pod-a, pod-b");
        // 31 samples of objects converged, 30 seconds of requests.
        Matcher lines = Pattern.compile("<polyline [^>]*points=\"([^\"]*)\"").matcher(page);
        List<Integer> sizes = new ArrayList<>();
        while (lines.find()) {
            sizes.add(lines.group(1).split(" ").length);
        }
        assertThat(sizes).containsExactly(31, 30, 31, 30);
        assertThat(page).contains("partition &lt;one&gt;").doesNotContain("partition <one>");
        assertThat(page).contains("<li>convergence: took 20000 ms, T = 16000 ms</li>").contains("class=\"bad\">violated");
    }

    @Test
    void eachFiringOfAScheduleIsShadedOnEveryChartAndNamedInItsTooltip() {
        ExperimentResult one = sample("schedule", List.of());
        List<Timeline.FaultWindow> firings = List.of(
                new Timeline.FaultWindow("schedule #1", "PodChaos/pod-kill", T0.plusSeconds(6), T0.plusSeconds(6), List.of("pod-a")),
                new Timeline.FaultWindow("schedule #2", "PodChaos/pod-kill", T0.plusSeconds(18), T0.plusSeconds(18), List.of("pod-b")));
        Timeline t = one.timeline();
        ExperimentResult scheduled = new ExperimentResult(one.experiment(), "Schedule(@every 12s x2: PodChaos/pod-kill)", one.build(),
                List.of("pod-a", "pod-b"), T0.plusSeconds(6), T0.plusSeconds(18), one.convergence(), one.convergenceLimit(), 0, 40,
                65, 2.0, 2.0, 30, List.of(), List.of(), new Timeline(t.from(), t.to(), t.converged(), t.requests(), t.owners(), firings));
        String page = HtmlReport.render(Duration.ofSeconds(8), List.of(scheduled));
        // x = 64 + s / 30 * 880: 6 s at 240.0 and 18 s at 592.0, each a 2 px band on each of the 3 charts.
        assertThat(count(page, "<rect class=\"fault\" x=\"240.0\" y=\"12\" width=\"2.0\"")).isEqualTo(3);
        assertThat(count(page, "<rect class=\"fault\" x=\"592.0\" y=\"12\" width=\"2.0\"")).isEqualTo(3);
        assertThat(count(page, "<rect class=\"fault\"")).isEqualTo(6);
        assertThat(page).contains("schedule #2: PodChaos/pod-kill on pod-b");
    }

    @Test
    void thePageIsSelfContained() {
        String page = HtmlReport.render(Duration.ofSeconds(8), List.of(sample("x", List.of())));
        assertThat(page).startsWith("<!DOCTYPE html>").doesNotContain("<script").doesNotContain("src=")
                .doesNotContain("<link").doesNotContainPattern("href=\"(?!#)");
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
