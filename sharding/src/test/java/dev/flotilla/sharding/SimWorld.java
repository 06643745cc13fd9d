package dev.flotilla.sharding;

import java.time.Duration;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Consumer;

/**
 * One virtual timeline for the sharding simulation and the state-machine unit tests: a monotonic
 * clock that only moves when events run, and a queue of events ordered by time, then by the
 * order they were submitted. Everything is deterministic for a given seed.
 *
 * <p>An event may belong to a {@link Owner}, a simulated process: a killed owner's events are
 * dropped, a frozen owner's are held back until it resumes (what SIGSTOP does to a process's
 * threads and sockets), in their original order.
 */
final class SimWorld implements MonotonicClock {

    /** Far from zero, which the state machines use as "refused". */
    static final long EPOCH_NANOS = 1_000_000_000_000L;

    /** A simulated process whose events can be frozen or dropped. */
    interface Owner {
        boolean killed();

        /** The instant until which this owner is frozen (SIGSTOP); at or before now when it runs. */
        long frozenUntil();
    }

    private record Event(long at, long seq, Owner owner, Runnable task) {
    }

    private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) ->
            a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private final Random random;
    private long now = EPOCH_NANOS;
    private long seq;
    private long events;
    private Consumer<Owner> afterEvent = o -> { };

    SimWorld(long seed) {
        this.random = new Random(seed);
    }

    @Override
    public long nanoTime() {
        return now;
    }

    Random random() {
        return random;
    }

    /** Called after every event an owner ran (the invariant checks). */
    void afterEvent(Consumer<Owner> check) {
        this.afterEvent = check;
    }

    void at(long atNanos, Owner owner, Runnable task) {
        queue.add(new Event(Math.max(atNanos, now), seq++, owner, task));
    }

    void after(Duration delay, Owner owner, Runnable task) {
        at(now + delay.toNanos(), owner, task);
    }

    /** Runs every event due up to {@code untilNanos}, then sets the clock there. */
    void runUntil(long untilNanos) {
        while (!queue.isEmpty() && queue.peek().at <= untilNanos) {
            Event e = queue.poll();
            now = e.at;
            Owner o = e.owner;
            if (o != null) {
                if (o.killed()) {
                    continue;
                }
                if (o.frozenUntil() > now) {
                    queue.add(new Event(o.frozenUntil(), e.seq, o, e.task)); // keeps its place among the held-back ones
                    continue;
                }
            }
            events++;
            e.task.run();
            if (o != null) {
                afterEvent.accept(o);
            }
        }
        now = Math.max(now, untilNanos);
    }

    void runFor(Duration d) {
        runUntil(now + d.toNanos());
    }

    /** Runs what is due now, without moving the clock. */
    void settle() {
        runUntil(now);
    }

    long eventsRun() {
        return events;
    }

    /** A lane of {@code owner}: its tasks and timers are events of that owner. */
    Lane lane(Owner owner) {
        return new Lane() {
            private boolean closed;

            @Override
            public void execute(Runnable task) {
                if (!closed) {
                    at(now, owner, () -> {
                        if (!closed) {
                            task.run();
                        }
                    });
                }
            }

            @Override
            public Timer schedule(Runnable task, long atNanos) {
                boolean[] cancelled = {false};
                if (!closed) {
                    at(atNanos, owner, () -> {
                        if (!closed && !cancelled[0]) {
                            task.run();
                        }
                    });
                }
                return () -> cancelled[0] = true;
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    /** A wall clock on this timeline, {@code skew} off the true time: the state machines must not care. */
    java.time.Clock wall(Duration skew) {
        long skewNanos = skew.toNanos();
        return new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                return java.time.Instant.ofEpochSecond(1_800_000_000L).plusNanos(now - EPOCH_NANOS + skewNanos);
            }
        };
    }
}
