package dev.flotilla.sharding;

/**
 * Where one replica's sharding decisions run: one task at a time, in submission order, with timers
 * on the {@link MonotonicClock}. The state machines keep their state confined to their lane and
 * never block on it: Lease requests and drains complete on other threads and post their outcome
 * back here. Production runs a lane on one thread ({@link ExecutorLane}); the simulation runs every
 * replica's lane on one virtual timeline.
 */
interface Lane {

    /** Runs {@code task} after the tasks already submitted; ignored once the lane is closed. */
    void execute(Runnable task);

    /** Runs {@code task} at the monotonic instant {@code atNanos} (at once if it has passed). */
    Timer schedule(Runnable task, long atNanos);

    /** Runs no more tasks; pending ones are dropped. */
    void close();

    /** A scheduled task, which may still be cancelled. */
    @FunctionalInterface
    interface Timer {
        void cancel();
    }
}
