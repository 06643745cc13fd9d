package dev.flotilla.sharding;

import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one decision pass at a time on its own thread: at once when poked (a Lease changed), at
 * the instant the pass asked for (the next expiry it is waiting on), and at least every
 * {@code period}. Pokes that arrive while a pass is queued are coalesced, so a burst of watch
 * events costs one pass. Expiries are acted on when they happen, not at the next poll, which is
 * what keeps failover close to one lease duration.
 */
final class Reactor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Reactor.class);

    private final String name;
    private final Supplier<OptionalLong> pass;
    private final long periodNanos;
    private final ScheduledExecutorService executor;
    private boolean queued;
    private ScheduledFuture<?> timer;
    private long timerAt = Long.MAX_VALUE;
    private volatile boolean closed;

    /** @param pass one decision pass; returns the monotonic time it wants to run again, if any */
    Reactor(String name, Supplier<OptionalLong> pass, java.time.Duration period) {
        this.name = name;
        this.pass = pass;
        this.periodNanos = period.toNanos();
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    void poke() {
        synchronized (this) {
            if (queued || closed) {
                return;
            }
            queued = true;
        }
        executor.execute(this::run);
    }

    private void run() {
        synchronized (this) {
            queued = false;
        }
        if (closed) {
            return;
        }
        long next = System.nanoTime() + periodNanos;
        try {
            OptionalLong wanted = pass.get();
            if (wanted.isPresent()) {
                next = Math.min(next, wanted.getAsLong());
            }
        } catch (RuntimeException e) {
            log.atError().addKeyValue("reactor", name).addKeyValue("error", e.toString()).setCause(e)
                    .log("decision pass failed; retrying");
        }
        schedule(next);
    }

    private synchronized void schedule(long atNanos) {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        if (timer != null && !timer.isDone() && timerAt <= atNanos && timerAt > now) {
            return;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerAt = atNanos;
        // A millisecond late rather than early: an expiry checked a hair before it happens waits a whole period.
        timer = executor.schedule(this::poke, Math.max(0, atNanos - now) + 1_000_000, TimeUnit.NANOSECONDS);
    }

    /** Runs {@code task} on the reactor thread, serialized with the passes. */
    void execute(Runnable task) {
        if (!closed) {
            executor.execute(task);
        }
    }

    /** As {@link #execute}, or on the caller's thread once closed (a release finishing during shutdown). */
    void executeOrRun(Runnable task) {
        try {
            if (!closed) {
                executor.execute(task);
                return;
            }
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed concurrently
        }
        task.run();
    }

    @Override
    public void close() {
        closed = true;
        executor.shutdownNow();
    }
}
