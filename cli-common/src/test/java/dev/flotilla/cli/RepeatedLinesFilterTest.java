package dev.flotilla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A third party's repeating line: once, a reminder with its count, and a line when it stops; Flotilla's own untouched. */
class RepeatedLinesFilterTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final LoggerContext context = new LoggerContext();
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final RepeatedLinesFilter filter = new RepeatedLinesFilter(now::get);

    RepeatedLinesFilterTest() {
        lines.setContext(context);
        lines.start();
        context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(lines);
        filter.setContext(context);
        context.addTurboFilter(filter); // not started: the test sweeps by hand
    }

    private void advanceSeconds(long s) {
        now.addAndGet(s * 1_000_000_000L);
    }

    private List<String> messages() {
        return lines.list.stream().map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList();
    }

    private static Object value(ILoggingEvent e, String key) {
        return e.getKeyValuePairs().stream().filter(p -> p.key.equals(key)).findFirst().orElseThrow().value;
    }

    @Test
    void aRepeatingThirdPartyErrorIsLoggedOnceThenRemindedWithItsCountThenEnded() {
        Logger vertx = context.getLogger("io.vertx.core.impl.ContextImpl");
        for (int i = 0; i < 400; i++) {
            vertx.error("Unhandled exception", new IllegalStateException("Promise already completed"));
            now.addAndGet(25_000_000L); // every 25 ms, 10 s in all
        }
        assertThat(messages()).containsExactly("io.vertx.core.impl.ContextImpl: Unhandled exception");
        advanceSeconds(60);
        vertx.error("Unhandled exception", new IllegalStateException("Promise already completed"));
        assertThat(lines.list).hasSize(3);
        assertThat(lines.list.get(1).getFormattedMessage()).startsWith("still repeating (next line): Unhandled exception");
        assertThat(value(lines.list.get(1), "repeated")).isEqualTo(399L);
        filter.sweep();
        assertThat(lines.list).as("not quiet yet").hasSize(3);
        advanceSeconds(11);
        filter.sweep();
        assertThat(lines.list).hasSize(4);
        assertThat(lines.list.get(3).getFormattedMessage()).startsWith("stopped repeating: Unhandled exception");
        assertThat(value(lines.list.get(3), "repeated")).isEqualTo(400L);
        vertx.error("Unhandled exception", new IllegalStateException("Promise already completed"));
        assertThat(lines.list).as("a new streak starts with its line").hasSize(5);
    }

    /** A level check ({@code isWarnEnabled()}, the fluent API's) is no line: it must not start a streak or be denied. */
    @Test
    void levelChecksAreNotLinesAndParametersMakeLinesDifferent() {
        Logger netty = context.getLogger("io.netty.Something");
        for (int i = 0; i < 3; i++) {
            assertThat(netty.isWarnEnabled()).isTrue();
            netty.warn("peer {} reset", "10.0.0." + i);
        }
        assertThat(messages()).containsExactly("io.netty.Something: peer 10.0.0.0 reset",
                "io.netty.Something: peer 10.0.0.1 reset", "io.netty.Something: peer 10.0.0.2 reset");
    }

    @Test
    void flotillasOwnLinesAndDifferentLinesAndInfoPassUntouched() {
        Logger own = context.getLogger("dev.flotilla.sharding.Membership");
        Logger netty = context.getLogger("io.netty.Something");
        for (int i = 0; i < 5; i++) {
            own.warn("membership renewal failed");
            netty.info("connected");
            netty.warn("reset " + i);
        }
        assertThat(lines.list).hasSize(15);
    }
}
