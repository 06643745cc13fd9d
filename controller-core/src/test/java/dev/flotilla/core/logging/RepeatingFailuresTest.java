package dev.flotilla.core.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RepeatingFailuresTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private RepeatingFailures failures;

    @BeforeEach
    void capture() {
        Logger logger = (Logger) LoggerFactory.getLogger("repeating-failures-test-" + System.nanoTime());
        logger.setLevel(Level.INFO);
        lines.start();
        logger.addAppender(lines);
        failures = new RepeatingFailures(logger, Duration.ofMinutes(1), now::get);
    }

    private static RepeatingFailures.SourceState state(AtomicBoolean recovered) {
        return recovered.get() ? RepeatingFailures.SourceState.RECOVERED : RepeatingFailures.SourceState.FAILING;
    }

    /**
     * A source that goes away (an informer stopped with its shard) is no recovery: the streak stays open while failures
     * keep coming from a successor, and ends quietly (one line, not "recovered") a reminder period after the last one.
     */
    @Test
    void sourcesThatGoAwayDoNotEndTheStreakUntilItHasBeenQuietForAReminderPeriod() {
        AtomicBoolean firstGone = new AtomicBoolean();
        failures.failed("shard caches", new IllegalStateException("did not sync"), "shard-4", () -> firstGone.get()
                ? RepeatingFailures.SourceState.GONE : RepeatingFailures.SourceState.FAILING);
        firstGone.set(true);
        now.addAndGet(Duration.ofSeconds(30).toNanos());
        failures.sweep();
        assertThat(failures.failing()).as("gone 30 s after its last failure: not over yet").isEqualTo(1);
        failures.failed("shard caches", new IllegalStateException("did not sync"), "shard-4 again", () -> RepeatingFailures.SourceState.GONE);
        now.addAndGet(Duration.ofSeconds(59).toNanos());
        failures.sweep();
        assertThat(failures.failing()).isEqualTo(1);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        failures.sweep();
        assertThat(failures.failing()).isZero();
        assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage)
                .containsExactly("shard caches failing; retrying (one reminder a minute while it lasts)",
                        "shard caches no longer failing: what failed has stopped");
    }

    private static KubernetesClientException forbidden() {
        String message = "configmaps is forbidden: User \"system:serviceaccount:x:flotilla\" cannot list resource \"configmaps\"";
        return new KubernetesClientException("Failure executing: GET at: https://x/api/v1/configmaps. Message: " + message
                + ". Received status: Status(message=" + message + ")", 403,
                new StatusBuilder().withCode(403).withReason("Forbidden").withMessage(message).build());
    }

    /** An hour of a refused list retried every second by 16 informers: 1 + 60 reminders + 1, not 57,600 lines. */
    @Test
    void anHourOfOneFailureFromSixteenSourcesIsOneLineAReminderAMinuteAndOneLineWhenItEnds() {
        AtomicBoolean recovered = new AtomicBoolean();
        for (int second = 0; second < 3600; second++) {
            for (int source = 0; source < 16; source++) {
                failures.failed("informers of ConfigMap", new CompletionException(forbidden()), "shard-" + source, () -> state(recovered));
            }
            now.addAndGet(Duration.ofSeconds(1).toNanos());
            failures.sweep();
        }
        recovered.set(true);
        failures.sweep();
        List<String> text = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertThat(text.getFirst()).isEqualTo("informers of ConfigMap failing; retrying (one reminder a minute while it lasts)");
        assertThat(text.subList(1, text.size() - 1)).hasSize(60).allMatch(t -> t.equals("informers of ConfigMap still failing"));
        assertThat(text.getLast()).isEqualTo("informers of ConfigMap recovered");
        assertThat(lines.list.getLast().getKeyValuePairs()).anyMatch(kv -> kv.key.equals("failures") && kv.value.equals(57_600L));
        assertThat(lines.list.get(1).getKeyValuePairs())
                .anyMatch(kv -> kv.key.equals("failuresSinceLastLine") && kv.value.equals(60L * 16 - 1));
        assertThat(failures.failing()).isZero();
    }

    @Test
    void theFailureTextIsOneLineAndSaysTheServersMessageOnce() {
        String text = FailureText.of(new CompletionException(forbidden()));
        assertThat(text).isEqualTo("HTTP 403 Forbidden: configmaps is forbidden: User \"system:serviceaccount:x:flotilla\""
                + " cannot list resource \"configmaps\"");
        assertThat(FailureText.of(new CompletionException(new IllegalStateException("closed\nmore")))).isEqualTo("IllegalStateException: closed");
    }

    /** Two different failures are two streaks; a source that recovers while another still fails keeps the streak open. */
    @Test
    void aStreakEndsOnlyWhenEverySourceItSawHasRecovered() {
        AtomicBoolean a = new AtomicBoolean();
        AtomicBoolean b = new AtomicBoolean();
        failures.failed("informers of ConfigMap", forbidden(), "a", () -> state(a));
        failures.failed("informers of ConfigMap", forbidden(), "b", () -> state(b));
        failures.failed("informers of ConfigMap", new IllegalStateException("unreachable"), "a", () -> state(a));
        assertThat(failures.failing()).isEqualTo(2);
        a.set(true);
        failures.sweep();
        assertThat(failures.failing()).as("the 403 streak still has b").isEqualTo(1);
        b.set(true);
        failures.sweep();
        assertThat(failures.failing()).isZero();
        assertThat(lines.list).extracting(ILoggingEvent::getLevel).containsExactly(Level.WARN, Level.WARN, Level.INFO, Level.INFO);
    }

    /**
     * Production replicas remind once a minute; only a JVM given {@code flotilla.failures.reminder} (the log-hygiene
     * test's replicas) reminds at another period, and says so in its first line.
     */
    @Test
    void theReminderIsAMinuteUnlessTheSystemPropertySetsAnotherPeriod() {
        assertThat(System.getProperty(RepeatingFailures.REMINDER_PROPERTY)).isNull();
        assertThat(RepeatingFailures.configuredReminder()).isEqualTo(Duration.ofMinutes(1));
        assertThat(RepeatingFailures.durationProperty("flotilla.test.unset", Duration.ofSeconds(60))).isEqualTo(Duration.ofSeconds(60));
        System.setProperty("flotilla.test.reminder", "PT30S");
        System.setProperty("flotilla.test.zero", "PT0S");
        System.setProperty("flotilla.test.text", "30s");
        try {
            assertThat(RepeatingFailures.durationProperty("flotilla.test.reminder", Duration.ofMinutes(1))).isEqualTo(Duration.ofSeconds(30));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> RepeatingFailures.durationProperty("flotilla.test.zero", Duration.ofMinutes(1)))
                    .hasMessage("flotilla.test.zero must be positive, got PT0S");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> RepeatingFailures.durationProperty("flotilla.test.text", Duration.ofMinutes(1)))
                    .hasMessageStartingWith("flotilla.test.text must be an ISO-8601 duration such as PT30S, got '30s'");
        } finally {
            System.clearProperty("flotilla.test.reminder");
            System.clearProperty("flotilla.test.zero");
            System.clearProperty("flotilla.test.text");
        }
        Logger logger = (Logger) LoggerFactory.getLogger("repeating-failures-test-period-" + System.nanoTime());
        ListAppender<ILoggingEvent> own = new ListAppender<>();
        own.start();
        logger.addAppender(own);
        RepeatingFailures every30 = new RepeatingFailures(logger, Duration.ofSeconds(30), now::get);
        every30.failed("informers of ConfigMap", forbidden(), "a", () -> RepeatingFailures.SourceState.FAILING);
        every30.failed("informers of ConfigMap", forbidden(), "a", () -> RepeatingFailures.SourceState.FAILING);
        now.addAndGet(Duration.ofSeconds(29).toNanos());
        every30.sweep();
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        every30.sweep();
        assertThat(own.list).extracting(ILoggingEvent::getFormattedMessage).hasSize(2).first()
                .isEqualTo("informers of ConfigMap failing; retrying (one reminder every 30.0 s while it lasts)");
        assertThat(own.list.get(1).getFormattedMessage()).isEqualTo("informers of ConfigMap still failing");
    }
}
