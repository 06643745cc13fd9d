package dev.flotilla.resilience.guard;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where the guard waits: one daemon timer thread that only hands due work to a virtual thread, so neither the
 * caller's thread nor a Vert.x event loop ever blocks on a rate-limit permit or a retry backoff, and a slow
 * interceptor in fabric8's send path cannot hold up the timer.
 */
final class GuardExecutors {

    private static final ScheduledThreadPoolExecutor TIMER = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "flotilla-guard-timer");
        t.setDaemon(true);
        return t;
    });
    private static final ExecutorService DISPATCH =
            Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("flotilla-guard-", 0).factory());

    static {
        TIMER.setRemoveOnCancelPolicy(true);
    }

    private GuardExecutors() {
    }

    /** Runs {@code task} on a virtual thread now. */
    static void now(Runnable task) {
        DISPATCH.execute(task);
    }

    /** Runs {@code task} on a virtual thread after {@code nanos}. */
    static void after(long nanos, Runnable task) {
        TIMER.schedule(() -> DISPATCH.execute(task), nanos, TimeUnit.NANOSECONDS);
    }
}
