package dev.flotilla.testing.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The request log's bounds and queries, and rule matching and limits, without a proxy. */
class RequestLogAndRuleTest {

    @Test
    void theLogKeepsTheNewestRecordsWithinItsCapacity() {
        RequestLog log = new RequestLog(3);
        for (int i = 0; i < 5; i++) {
            RequestLog.Entry e = log.begin(i % 2 == 0 ? "a" : "b", i, "GET", "/api/v1/pods?i=" + i, false);
            if (i != 4) {
                e.forwarded();
                e.status(200);
                e.finish();
            }
        }
        assertThat(log.size()).isEqualTo(3);
        assertThat(log.dropped()).isEqualTo(2);
        assertThat(log.all()).extracting(RequestRecord::sequence).containsExactly(2L, 3L, 4L);
        assertThat(log.forIdentity("a")).extracting(RequestRecord::sequence).containsExactly(2L, 4L);
        assertThat(log.forwarded("a")).extracting(RequestRecord::sequence).containsExactly(2L);
        RequestRecord open = log.all().getLast();
        assertThat(open.inFlight()).isTrue();
        assertThat(open.endTime()).isNull();
        assertThat(open.path()).isEqualTo("/api/v1/pods");
        log.clear();
        assertThat(log.all()).isEmpty();
        assertThatThrownBy(() -> new RequestLog(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void maxInAnyWindowSlides() {
        long s = 1_000_000_000L;
        List<RequestRecord> records = List.of(at(0), at(9 * s), at(10 * s), at(11 * s), at(19 * s + s / 2), at(40 * s));
        assertThat(RequestLog.maxInAnyWindow(records, Duration.ofSeconds(10))).isEqualTo(3); // [9, 19) or [10, 20)
        assertThat(RequestLog.maxInAnyWindow(records, Duration.ofSeconds(1))).isEqualTo(1);
        assertThat(RequestLog.maxInAnyWindow(List.of(), Duration.ofSeconds(1))).isZero();
        assertThat(RequestLog.countsPerWindow(records, 0, Duration.ofSeconds(10))).containsExactly(2, 3, 0, 0, 1);
        assertThat(RequestLog.countsPerWindow(records, 10 * s, Duration.ofSeconds(10))).containsExactly(3, 0, 0, 1);
        assertThat(RequestLog.countsPerWindow(List.of(), 0, Duration.ofSeconds(10))).isEmpty();
    }

    @Test
    void minGapAfterMeasuresFromTheEndOfTheTriggerToTheNextStart() {
        long ms = 1_000_000L;
        List<RequestRecord> records = List.of(
                record(0, 10 * ms, 429), record(2_500 * ms, 2_510 * ms, 429), record(4_600 * ms, 4_700 * ms, 200));
        assertThat(RequestLog.minGapAfter(records, r -> r.status() == 429)).hasValue(Duration.ofMillis(2_090));
        assertThat(RequestLog.minGapAfter(records, r -> r.status() == 200)).isEmpty();
    }

    /**
     * The gap runs from when the proxy began answering, not from when it finished: on a busy machine its thread may note
     * the end after the client already read the answer (CI measured 1.99989 s for a client that waited 2 s), and a gap
     * from the answer's start can never come out shorter than the client's wait.
     */
    @Test
    void minGapAfterRunsFromTheStartOfTheAnswerWhenKnown() {
        long ms = 1_000_000L;
        // The 429's end was noted 0.5 ms after the client (which waited 2 s after reading it) sent its retry.
        RequestRecord answered = new RequestRecord(0, "a", 1, "GET", "/", false, false, List.of(), 429, null, 0, 2_010 * ms + ms / 2,
                Instant.EPOCH, Instant.EPOCH, 5 * ms);
        List<RequestRecord> records = List.of(answered, record(2_010 * ms, 2_020 * ms, 200));
        assertThat(RequestLog.minGapAfter(records, r -> r.status() == 429)).hasValue(Duration.ofMillis(2_005));
    }

    private static RequestRecord record(long start, long end, int status) {
        return new RequestRecord(0, "a", 1, "GET", "/", false, status == 200, List.of(), status, null, start, end,
                Instant.EPOCH, Instant.EPOCH);
    }

    private static RequestRecord at(long nanos) {
        return new RequestRecord(0, "a", 1, "GET", "/", false, true, List.of(), 200, null, nanos, nanos + 1,
                Instant.EPOCH, Instant.EPOCH);
    }

    @Test
    void rulesMatchIdentityMethodWholePathAndWatch() {
        FaultRule rule = FaultRule.of(Fault.status(500)).forIdentity("a").forMethods("get", "LIST")
                .forPath("/api/v1/namespaces/[^/]+/configmaps").nonWatchesOnly();
        assertThat(rule.matches("a", "GET", "/api/v1/namespaces/x/configmaps", false)).isTrue();
        assertThat(rule.matches("b", "GET", "/api/v1/namespaces/x/configmaps", false)).isFalse();
        assertThat(rule.matches("a", "POST", "/api/v1/namespaces/x/configmaps", false)).isFalse();
        assertThat(rule.matches("a", "GET", "/api/v1/namespaces/x/configmaps/y", false)).as("whole path").isFalse();
        assertThat(rule.matches("a", "GET", "/api/v1/namespaces/x/configmaps", true)).isFalse();
        assertThat(rule.watchesOnly().matches("a", "GET", "/api/v1/namespaces/x/configmaps", true)).isTrue();
        assertThat(FaultRule.of(Fault.watchGone()).matches("a", "GET", "/api/v1/pods", false))
                .as("watch-gone only ever applies to watches").isFalse();
        assertThat(rule.toString()).contains("status 500", "for a", "non_watches_only");
        assertThatThrownBy(() -> Fault.status(503).withRetryAfter("1\r\nX-Evil: 1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Fault.status(101)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void limitsUseRulesUpAndRemovalReleasesHeldRequests() throws Exception {
        ActiveRule twice = new ActiveRule(FaultRule.of(Fault.reset()).times(2), r -> { });
        assertThat(twice.tryApply()).isTrue();
        assertThat(twice.tryApply()).isTrue();
        assertThat(twice.tryApply()).isFalse();
        assertThat(twice.hits()).isEqualTo(2);
        assertThat(twice.isActive()).isFalse();

        ActiveRule brief = new ActiveRule(FaultRule.of(Fault.blackHole()).lasting(Duration.ofMillis(100)), r -> { });
        assertThat(brief.tryApply()).isTrue();
        long t0 = System.nanoTime();
        assertThat(brief.awaitRelease(Duration.ofSeconds(5).toNanos())).as("released when it expires").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        assertThat(brief.tryApply()).isFalse();

        ActiveRule held = new ActiveRule(FaultRule.of(Fault.blackHole()), r -> { });
        assertThat(held.awaitRelease(Duration.ofMillis(20).toNanos())).isFalse();
        Thread.ofVirtual().start(() -> {
            sleep(50);
            held.close();
        });
        assertThat(held.awaitRelease(Duration.ofSeconds(5).toNanos())).isTrue();
        assertThat(held.isActive()).isFalse();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
