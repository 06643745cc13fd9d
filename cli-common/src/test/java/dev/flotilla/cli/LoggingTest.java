package dev.flotilla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/** logback.xml: one line per event with key=value pairs; stack traces only at DEBUG. */
class LoggingTest {

    private static String render(Level rootLevel) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        @SuppressWarnings("unchecked")
        Encoder<ILoggingEvent> encoder = ((ConsoleAppender<ILoggingEvent>) root.getAppender("STDERR")).getEncoder();
        LoggingEvent event = new LoggingEvent("x", context.getLogger("dev.flotilla.Test"), Level.WARN,
                "reconcile failed;\nretrying", new IllegalStateException("boom", new IOException("disk\nfull")), null);
        event.setKeyValuePairs(List.of(new KeyValuePair("controller", "configmap-mirror"), new KeyValuePair("attempt", 2)));
        try (Logging logging = new Logging()) {
            logging.set(org.slf4j.Logger.ROOT_LOGGER_NAME, rootLevel);
            return new String(encoder.encode(event), StandardCharsets.UTF_8);
        }
    }

    @Test
    void oneLinePerEventWithKeyValuesAndTheErrorInline() {
        String line = render(Level.INFO);
        assertThat(line.lines()).hasSize(1);
        assertThat(line).contains("WARN").contains("reconcile failed; retrying")
                .contains("controller=\"configmap-mirror\"").contains("attempt=\"2\"")
                .contains("error=\"IllegalStateException: boom <- IOException: disk full\"");
    }

    @Test
    void stackTracesAtDebug() {
        String text = render(Level.DEBUG);
        assertThat(text.lines().count()).isGreaterThan(2);
        assertThat(text).contains("java.lang.IllegalStateException: boom").contains("\tat ");
    }
}
