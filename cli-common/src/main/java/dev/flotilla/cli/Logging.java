package dev.flotilla.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Changes log levels for one CLI invocation and puts them back afterwards (tests run the CLI
 * in-process, many times). Levels are set on logback directly; {@link ConsoleLogConfigurator} sets the
 * defaults.
 */
public final class Logging implements AutoCloseable {

    /** The core's retry log line ("reconcile failed; retrying with backoff") comes from here. */
    public static final String RECONCILE_LOOP = "dev.flotilla.core.controller.ReconcileLoop";
    public static final String FLOTILLA = "dev.flotilla";

    private final Map<String, Level> saved = new LinkedHashMap<>();
    private final List<java.util.logging.Logger> julPinned = new ArrayList<>();
    private final Map<java.util.logging.Logger, java.util.logging.Level> julSaved = new LinkedHashMap<>();

    /** Sets {@code logger} to {@code level} until {@link #close()}. Without logback this does nothing. */
    public Logging set(String logger, Level level) {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            Logger l = context.getLogger(logger);
            saved.putIfAbsent(logger, l.getLevel());
            l.setLevel(level);
        }
        return this;
    }

    /** {@code --debug}: everything at DEBUG. */
    public Logging debug() {
        return set(org.slf4j.Logger.ROOT_LOGGER_NAME, Level.DEBUG);
    }

    /**
     * Sets a java.util.logging logger (the fabric8 mock web server logs every request there at
     * INFO). JUL keeps loggers weakly, so the logger is pinned while the level is in force.
     */
    public Logging setJul(String logger, java.util.logging.Level level) {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger(logger);
        julPinned.add(l);
        julSaved.putIfAbsent(l, l.getLevel());
        l.setLevel(level);
        return this;
    }

    /** The console appender {@link ConsoleLogConfigurator} sets up: the one {@link #json()} re-encodes. */
    public static final String CONSOLE_APPENDER = "STDERR";

    private final Map<OutputStreamAppender<ILoggingEvent>, Encoder<ILoggingEvent>> encoders = new LinkedHashMap<>();

    /** {@code --log-format json}: the console writes one JSON object per line ({@link JsonLogEncoder}) until {@link #close()}. */
    public Logging json() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context
                && context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender(CONSOLE_APPENDER)
                instanceof OutputStreamAppender<ILoggingEvent> console && !encoders.containsKey(console)) {
            JsonLogEncoder encoder = new JsonLogEncoder();
            encoder.setContext(context);
            encoder.start();
            encoders.put(console, console.getEncoder());
            console.setEncoder(encoder);
        }
        return this;
    }

    @Override
    public void close() {
        encoders.forEach(OutputStreamAppender::setEncoder);
        encoders.clear();
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            saved.forEach((name, level) -> context.getLogger(name).setLevel(level));
        }
        julSaved.forEach(java.util.logging.Logger::setLevel);
        saved.clear();
        julSaved.clear();
        julPinned.clear();
    }
}
