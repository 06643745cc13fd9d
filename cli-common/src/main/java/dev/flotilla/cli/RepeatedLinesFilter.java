package dev.flotilla.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Marker;

/**
 * Collapses a third-party library's repeating warning or error (Vert.x logs two ERROR lines per connection it cannot
 * open: 438 lines from one replica in a 20 s partition) the way Flotilla logs its own repeating failures: the first line
 * as it comes, then nothing more for the same line (same logger, message and exception) until a reminder period has
 * passed, when one line says how often it repeated; and once it has been quiet for {@link #QUIET}, a line with the count
 * since. Flotilla's own loggers ({@code dev.flotilla}) are left alone: they already log that way
 * ({@code RepeatingFailures}). Registered by {@link ConsoleLogConfigurator}.
 *
 * <pre>{@code
 * RepeatedLinesFilter filter = new RepeatedLinesFilter();
 * filter.setContext((ch.qos.logback.classic.LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory());
 * filter.start();
 * }</pre>
 */
public final class RepeatedLinesFilter extends TurboFilter {

    /** At most one reminder per repeating line in this period. */
    public static final Duration REMINDER = Duration.ofMinutes(1);
    /** A repeating line that has not come for this long has ended. */
    public static final Duration QUIET = Duration.ofSeconds(10);
    /** Where the reminders and ends are logged: not itself filtered. */
    static final String LOGGER = "dev.flotilla.cli.RepeatedLines";
    /** How many distinct repeating lines are tracked; beyond that, lines pass unfiltered. */
    static final int MAX_TRACKED = 1_000;

    private final LongSupplier nanoTime;
    private final Map<String, Streak> streaks = new ConcurrentHashMap<>();
    private ScheduledExecutorService sweeper;

    private static final class Streak {
        final String loggerName;
        final Level level;
        final String text;
        long lastSeenNanos;
        long lastLoggedNanos;
        long suppressed;
        long sinceReminder;

        Streak(String loggerName, Level level, String text, long now) {
            this.loggerName = loggerName;
            this.level = level;
            this.text = text;
            this.lastSeenNanos = now;
            this.lastLoggedNanos = now;
        }
    }

    public RepeatedLinesFilter() {
        this(System::nanoTime);
    }

    RepeatedLinesFilter(LongSupplier nanoTime) {
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    }

    @Override
    public void start() {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "repeated-log-lines");
            t.setDaemon(true);
            return t;
        });
        s.scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.SECONDS);
        sweeper = s;
        super.start();
    }

    @Override
    public void stop() {
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
        super.stop();
    }

    @Override
    public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
        if (level == null || !level.isGreaterOrEqual(Level.WARN) || logger.getName().startsWith("dev.flotilla")
                || !level.isGreaterOrEqual(logger.getEffectiveLevel()) // (isEnabledFor would call this filter again)
                || (format == null && params == null && t == null)) { // isWarnEnabled() and the like: not a line
            return FilterReply.NEUTRAL;
        }
        String message = params == null || params.length == 0 ? String.valueOf(format)
                : org.slf4j.helpers.MessageFormatter.arrayFormat(format, params).getMessage();
        String text = message + (t == null ? "" : " error=" + t.getClass().getName() + ": " + t.getMessage());
        String key = logger.getName() + '\u0000' + level + '\u0000' + text;
        long now = nanoTime.getAsLong();
        Streak fresh = null;
        Streak s = streaks.get(key);
        if (s == null) {
            if (streaks.size() >= MAX_TRACKED) {
                return FilterReply.NEUTRAL;
            }
            fresh = new Streak(logger.getName(), level, text, now);
            s = streaks.putIfAbsent(key, fresh);
            if (s == null) {
                return FilterReply.NEUTRAL; // the first of a streak
            }
        }
        long remind;
        synchronized (s) {
            s.lastSeenNanos = now;
            if (now - s.lastLoggedNanos < REMINDER.toNanos()) {
                s.suppressed++;
                s.sinceReminder++;
                return FilterReply.DENY;
            }
            remind = s.sinceReminder;
            s.sinceReminder = 0;
            s.lastLoggedNanos = now;
        }
        if (remind > 0) {
            own().atLevel(org.slf4j.event.Level.valueOf(level.levelStr))
                    .addKeyValue("logger", logger.getName()).addKeyValue("repeated", remind)
                    .addKeyValue("inLast", REMINDER.toSeconds() + "s")
                    .log("still repeating (next line): " + text);
        }
        return FilterReply.NEUTRAL;
    }

    /** The logger of this filter's own lines, in its logback context. */
    private org.slf4j.Logger own() {
        return getContext() instanceof ch.qos.logback.classic.LoggerContext c ? c.getLogger(LOGGER)
                : org.slf4j.LoggerFactory.getLogger(LOGGER);
    }

    /** Ends streaks quiet for {@link #QUIET}: one line with how often they repeated since they were last logged. */
    void sweep() {
        long now = nanoTime.getAsLong();
        streaks.entrySet().removeIf(e -> {
            Streak s = e.getValue();
            long suppressedSince;
            long suppressed;
            synchronized (s) {
                if (now - s.lastSeenNanos < QUIET.toNanos()) {
                    return false;
                }
                suppressedSince = s.sinceReminder;
                suppressed = s.suppressed;
            }
            if (suppressed > 0) {
                own().atInfo().addKeyValue("logger", s.loggerName)
                        .addKeyValue("level", s.level.levelStr).addKeyValue("repeated", suppressed + 1)
                        .addKeyValue("sinceLastLine", suppressedSince)
                        .log("stopped repeating: " + s.text);
            }
            return true;
        });
    }
}
