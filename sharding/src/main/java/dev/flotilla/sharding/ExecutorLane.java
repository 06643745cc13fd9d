package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A {@link Lane} on one daemon thread. A task that throws is logged and the lane goes on. */
final class ExecutorLane implements Lane {

    private static final Logger log = LoggerFactory.getLogger(ExecutorLane.class);

    private final String name;
    private final MonotonicClock clock;
    private final ScheduledExecutorService executor;

    ExecutorLane(String name, MonotonicClock clock) {
        this.name = name;
        this.clock = clock;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void execute(Runnable task) {
        try {
            executor.execute(() -> run(task));
        } catch (RejectedExecutionException e) {
            // closed: the replica has left or been abandoned, and nothing it decided matters any more
        }
    }

    @Override
    public Timer schedule(Runnable task, long atNanos) {
        try {
            ScheduledFuture<?> f = executor.schedule(() -> run(task), Math.max(0, atNanos - clock.nanoTime()),
                    TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        } catch (RejectedExecutionException e) {
            return () -> { };
        }
    }

    private void run(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.atError().addKeyValue("lane", name).addKeyValue("error", FailureText.of(e)).setCause(e)
                    .log("sharding task failed; the lane goes on");
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
