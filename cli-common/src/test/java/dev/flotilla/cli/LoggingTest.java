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

/** ConsoleLogConfigurator: one line per event with key=value pairs; stack traces only at DEBUG. */
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

    /** --log-format json: the console's encoder is swapped for the run, each event one parseable object, then put back. */
    @Test
    void jsonIsOneObjectPerLineWithTheEventsFieldsAndTheEncoderIsPutBack() throws Exception {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        @SuppressWarnings("unchecked")
        ConsoleAppender<ILoggingEvent> console = (ConsoleAppender<ILoggingEvent>) context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                .getAppender(Logging.CONSOLE_APPENDER);
        Encoder<ILoggingEvent> text = console.getEncoder();
        LoggingEvent event = new LoggingEvent("x", context.getLogger("dev.flotilla.sharding.ShardOwnership"), Level.ERROR,
                "shard fenced: \"stopped\"\nat once", new IllegalStateException("boom", new IOException("disk\nfull")), null);
        event.setKeyValuePairs(List.of(new KeyValuePair("shard", 3), new KeyValuePair("replica", "a"),
                new KeyValuePair("msg", "clash")));
        String line;
        try (Logging logging = new Logging()) {
            logging.json();
            assertThat(console.getEncoder()).isInstanceOf(JsonLogEncoder.class);
            line = new String(console.getEncoder().encode(event), StandardCharsets.UTF_8);
        }
        assertThat(console.getEncoder()).isSameAs(text);
        assertThat(line.lines()).hasSize(1);
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> parsed = new io.fabric8.kubernetes.client.utils.KubernetesSerialization()
                .unmarshal(line, java.util.Map.class);
        assertThat(parsed).containsEntry("level", "ERROR").containsEntry("logger", "dev.flotilla.sharding.ShardOwnership")
                .containsEntry("msg", "shard fenced: \"stopped\"\nat once").containsEntry("shard", 3).containsEntry("replica", "a")
                .containsEntry("error", "IllegalStateException: boom <- IOException: disk full");
        assertThat(parsed.get("kv.msg")).as("a pair named like a fixed field keeps its value").isEqualTo("clash");
        assertThat(java.time.Instant.parse((String) parsed.get("ts"))).isNotNull();
    }

    @Test
    void stackTracesAtDebug() {
        String text = render(Level.DEBUG);
        assertThat(text.lines().count()).isGreaterThan(2);
        assertThat(text).contains("java.lang.IllegalStateException: boom").contains("\tat ");
    }

    /** The console is set up in code (no logback.xml is parsed): the STDERR appender, its pattern, the quieted loggers, the filter. */
    @Test
    void theConsoleIsConfiguredInCodeAsDocumented() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        @SuppressWarnings("unchecked")
        ConsoleAppender<ILoggingEvent> console = (ConsoleAppender<ILoggingEvent>) root.getAppender(Logging.CONSOLE_APPENDER);
        assertThat(console.getTarget()).isEqualTo("System.err");
        assertThat(((ch.qos.logback.classic.encoder.PatternLayoutEncoder) console.getEncoder()).getPattern())
                .isEqualTo(ConsoleLogConfigurator.PATTERN);
        ConsoleLogConfigurator.QUIETED.forEach((name, level) -> assertThat(context.getLogger(name).getLevel()).as(name).isEqualTo(level));
        assertThat(context.getTurboFilterList()).hasAtLeastOneElementOfType(RepeatedLinesFilter.class);
        assertThat(ConsoleLogConfigurator.class.getClassLoader().getResource("logback.xml")).as("no XML to parse").isNull();
    }

    /** A configuration of the user's own wins: a system property naming one, or a logback(-test).xml on the class path. */
    @Test
    void aUsersOwnConfigurationWins(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.util.function.UnaryOperator<String> none = key -> null;
        try (java.net.URLClassLoader empty = new java.net.URLClassLoader(new java.net.URL[] {dir.toUri().toURL()}, null)) {
            assertThat(ConsoleLogConfigurator.userConfigured(empty, none)).isFalse();
            assertThat(ConsoleLogConfigurator.userConfigured(empty, key -> key.equals("logback.configurationFile") ? "/etc/x.xml" : null)).isTrue();
            assertThat(ConsoleLogConfigurator.userConfigured(empty, key -> key.equals("logback.scmoFile") ? "/etc/x.scmo" : null)).isTrue();
        }
        for (String name : new String[] {"logback.xml", "logback-test.xml"}) {
            java.nio.file.Path own = java.nio.file.Files.createDirectories(dir.resolve(name.replace('.', '_')));
            java.nio.file.Files.writeString(own.resolve(name), "<configuration/>");
            try (java.net.URLClassLoader loader = new java.net.URLClassLoader(new java.net.URL[] {own.toUri().toURL()}, null)) {
                assertThat(ConsoleLogConfigurator.userConfigured(loader, none)).as(name).isTrue();
            }
        }
    }
}
