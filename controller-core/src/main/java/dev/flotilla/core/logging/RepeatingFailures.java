package dev.flotilla.core.logging;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * Logs a failure that repeats (a forbidden list, an unreachable server, a conflict) the way an operator wants to read
 * it: one WARN line when it starts, a reminder with the count at most once per {@link #reminderEvery()} while it
 * lasts, and one INFO line when it ends; never the same exception text twice in a line.
 *
 * <p>Failures are grouped into one streak by what failed and by the failure's {@linkplain FailureText#of description}, so
 * sixteen informers refused the same list make one streak. Each failure names its source and how to tell how the
 * source is doing ({@link SourceState}); the streak ends with one line once every source still there has recovered,
 * or quietly once its sources are all gone and nothing failed for a reminder period (a shard handed away, an
 * informer stopped: that is not a recovery).
 *
 * <pre>{@code
 * RepeatingFailures failures = RepeatingFailures.startSweeping(org.slf4j.LoggerFactory.getLogger("informers"));
 * failures.failed("informers of ConfigMap", new IllegalStateException("refused"), "shard-0",
 *         () -> RepeatingFailures.SourceState.RECOVERED);
 * failures.close();
 * }</pre>
 */
public final class RepeatingFailures implements AutoCloseable {

    /** How a source of failures is doing now. */
    public enum SourceState {
        /** Still failing (or not yet shown to work). */
        FAILING,
        /** Works again. */
        RECOVERED,
        /** No longer there (stopped, handed away): neither a failure nor a recovery. */
        GONE
    }

    /** At most one reminder per streak in this period. */
    public static final Duration DEFAULT_REMINDER = Duration.ofMinutes(1);
    /**
     * A JVM system property (an ISO-8601 duration, such as {@code PT30S}) that replaces {@link #DEFAULT_REMINDER} in
     * {@link #configuredReminder()}: tests that watch a replica's log through several reminders shorten it.
     */
    public static final String REMINDER_PROPERTY = "flotilla.failures.reminder";
    /** How often streaks are looked at for recovery and reminders. */
    static final Duration SWEEP_PERIOD = Duration.ofSeconds(1);

    private final Logger log;
    private final Duration reminder;
    private final LongSupplier nanoTime;
    private final ScheduledExecutorService sweeper;
    private final Map<String, Streak> streaks = new ConcurrentHashMap<>();

    private static final class Streak {
        final String what;
        final String failure;
        final long startedNanos;
        final Map<String, Supplier<SourceState>> sources = new ConcurrentHashMap<>();
        final AtomicLong total = new AtomicLong();
        final AtomicLong sinceLine = new AtomicLong();
        volatile long lastLineNanos;
        volatile long lastFailureNanos;

        Streak(String what, String failure, long now) {
            this.what = what;
            this.failure = failure;
            this.startedNanos = now;
            this.lastLineNanos = now;
        }
    }

    /** Without a sweeper thread: the caller calls {@link #sweep()} (tests drive it with their own clock). */
    public RepeatingFailures(Logger log, Duration reminder, LongSupplier nanoTime) {
        this(log, reminder, nanoTime, null);
    }

    private RepeatingFailures(Logger log, Duration reminder, LongSupplier nanoTime, ScheduledExecutorService sweeper) {
        this.log = Objects.requireNonNull(log, "log");
        this.reminder = Objects.requireNonNull(reminder, "reminder");
        if (reminder.isNegative() || reminder.isZero()) {
            throw new IllegalArgumentException("reminder period must be positive, got " + reminder);
        }
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.sweeper = sweeper;
    }

    /** With one daemon thread that looks for recoveries and due reminders every second. */
    public static RepeatingFailures startSweeping(Logger log) {
        ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "repeating-failures");
            t.setDaemon(true);
            return t;
        });
        RepeatingFailures failures = new RepeatingFailures(log, configuredReminder(), System::nanoTime, sweeper);
        sweeper.scheduleWithFixedDelay(failures::sweep, SWEEP_PERIOD.toMillis(), SWEEP_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        return failures;
    }

    /** {@link #DEFAULT_REMINDER}, or the positive duration the {@value #REMINDER_PROPERTY} system property gives. */
    public static Duration configuredReminder() {
        return durationProperty(REMINDER_PROPERTY, DEFAULT_REMINDER);
    }

    /**
     * The positive ISO-8601 duration the system property {@code name} gives, or {@code otherwise} when it is not set.
     *
     * @throws IllegalArgumentException naming the property if its value is not a positive duration
     */
    public static Duration durationProperty(String name, Duration otherwise) {
        String value = System.getProperty(name);
        if (value == null) {
            return otherwise;
        }
        Duration d;
        try {
            d = Duration.parse(value);
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException(name + " must be an ISO-8601 duration such as PT30S, got '" + value + "'", e);
        }
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
        return d;
    }

    public Duration reminderEvery() {
        return reminder;
    }

    /**
     * Records one failure of {@code what} at {@code source}; logs only when it starts a streak.
     *
     * @param state how {@code source} is doing (asked by {@link #sweep()})
     */
    public void failed(String what, Throwable cause, String source, Supplier<SourceState> state) {
        String failure = FailureText.of(cause);
        long now = nanoTime.getAsLong();
        boolean[] started = {false};
        Streak streak = streaks.computeIfAbsent(what + "\n" + failure, k -> {
            started[0] = true;
            return new Streak(what, failure, now);
        });
        streak.sources.put(source, state);
        streak.lastFailureNanos = now;
        streak.total.incrementAndGet();
        if (started[0]) {
            log.atWarn().addKeyValue("failure", failure).addKeyValue("source", source)
                    .log(what + " failing; retrying (one reminder " + (reminder.equals(Duration.ofMinutes(1)) ? "a minute"
                            : "every " + reminder.toMillis() / 1000.0 + " s") + " while it lasts)");
        } else {
            streak.sinceLine.incrementAndGet();
        }
    }

    /** Ends the streaks whose sources have all recovered (one line each) or gone, and writes the reminders that are due. */
    public void sweep() {
        long now = nanoTime.getAsLong();
        for (Map.Entry<String, Streak> e : streaks.entrySet()) {
            Streak s = e.getValue();
            boolean allRecovered = true;
            for (Map.Entry<String, Supplier<SourceState>> source : s.sources.entrySet()) {
                SourceState state;
                try {
                    state = source.getValue().get();
                } catch (RuntimeException ex) {
                    state = SourceState.FAILING;
                }
                if (state == SourceState.GONE) {
                    s.sources.remove(source.getKey(), source.getValue());
                } else if (state == SourceState.FAILING) {
                    allRecovered = false;
                }
            }
            boolean quiet = now - s.lastFailureNanos >= reminder.toNanos();
            if (s.sources.isEmpty()) {
                if (quiet && streaks.remove(e.getKey(), s)) {
                    log.atInfo().addKeyValue("failure", s.failure).addKeyValue("failures", s.total.get())
                            .addKeyValue("seconds", Duration.ofNanos(now - s.startedNanos).toSeconds())
                            .log(s.what + " no longer failing: what failed has stopped");
                }
            } else if (allRecovered) {
                if (streaks.remove(e.getKey(), s)) {
                    log.atInfo().addKeyValue("failure", s.failure).addKeyValue("failures", s.total.get())
                            .addKeyValue("sources", s.sources.size())
                            .addKeyValue("seconds", Duration.ofNanos(now - s.startedNanos).toSeconds())
                            .log(s.what + " recovered");
                }
            } else if (now - s.lastLineNanos >= reminder.toNanos() && s.sinceLine.get() > 0) {
                long since = s.sinceLine.getAndSet(0);
                s.lastLineNanos = now;
                log.atWarn().addKeyValue("failure", s.failure).addKeyValue("failuresSinceLastLine", since)
                        .addKeyValue("failures", s.total.get()).addKeyValue("sources", s.sources.size())
                        .addKeyValue("seconds", Duration.ofNanos(now - s.startedNanos).toSeconds())
                        .log(s.what + " still failing");
            }
        }
    }

    /** Streaks in progress. */
    public int failing() {
        return streaks.size();
    }

    @Override
    public void close() {
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
    }
}
