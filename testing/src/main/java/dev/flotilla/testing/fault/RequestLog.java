package dev.flotilla.testing.fault;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Every request through a {@link FaultProxy}, newest last, bounded: beyond {@link #capacity()}
 * the oldest records are dropped (and counted in {@link #dropped()}). Queries return immutable
 * snapshots; a request still in flight shows {@code endNanos == -1} and appears again, finished,
 * in later queries.
 *
 * <pre>{@code
 * List<RequestRecord> seen = proxy.log().forwarded("replica-a");          // what the server saw
 * int peak = RequestLog.maxInAnyWindow(seen, Duration.ofSeconds(10));      // rate check
 * Optional<Duration> soonest = RequestLog.minGapAfter(proxy.requests("replica-a"), r -> r.status() == 429);
 * }</pre>
 */
public final class RequestLog {

    /** Default capacity. */
    public static final int DEFAULT_CAPACITY = 1_000_000;

    private final int capacity;
    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    private long nextSequence;
    private long dropped;

    RequestLog(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
    }

    public int capacity() {
        return capacity;
    }

    /** How many old records were dropped to stay within the capacity. */
    public synchronized long dropped() {
        return dropped;
    }

    public synchronized int size() {
        return entries.size();
    }

    /** Forgets every record (sequence numbers keep increasing). */
    public synchronized void clear() {
        entries.clear();
    }

    /** Every record, oldest first. */
    public List<RequestRecord> all() {
        return select(r -> true);
    }

    /** The records of one identity, oldest first. */
    public List<RequestRecord> forIdentity(String identity) {
        Objects.requireNonNull(identity, "identity");
        return select(r -> r.identity().equals(identity));
    }

    /** The requests of one identity that the API server saw, oldest first. */
    public List<RequestRecord> forwarded(String identity) {
        Objects.requireNonNull(identity, "identity");
        return select(r -> r.identity().equals(identity) && r.forwarded());
    }

    /** The requests of one identity answered, reset or held by a fault instead, oldest first. */
    public List<RequestRecord> answeredByFault(String identity) {
        Objects.requireNonNull(identity, "identity");
        return select(r -> r.identity().equals(identity) && r.answeredByFault());
    }

    /** The records that satisfy {@code filter}, oldest first. */
    public List<RequestRecord> select(Predicate<? super RequestRecord> filter) {
        List<Entry> copy;
        synchronized (this) {
            copy = new ArrayList<>(entries);
        }
        List<RequestRecord> out = new ArrayList<>();
        for (Entry e : copy) {
            RequestRecord r = e.snapshot();
            if (filter.test(r)) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * The largest number of records whose {@code startNanos} fall in any window of this length
     * (sliding, not aligned), e.g. "the server never saw more than 50 requests in 10 s".
     */
    public static int maxInAnyWindow(List<RequestRecord> records, Duration window) {
        long w = window.toNanos();
        long[] starts = records.stream().mapToLong(RequestRecord::startNanos).sorted().toArray();
        int best = 0;
        int lo = 0;
        for (int hi = 0; hi < starts.length; hi++) {
            while (starts[hi] - starts[lo] >= w) {
                lo++;
            }
            best = Math.max(best, hi - lo + 1);
        }
        return best;
    }

    /**
     * How many records start in each consecutive window {@code [origin + i*window, origin + (i+1)*window)},
     * up to the last record; records before {@code originNanos} are not counted.
     */
    public static int[] countsPerWindow(List<RequestRecord> records, long originNanos, Duration window) {
        long w = window.toNanos();
        long last = records.stream().mapToLong(RequestRecord::startNanos).max().orElse(originNanos - 1);
        if (last < originNanos) {
            return new int[0];
        }
        int[] counts = new int[(int) ((last - originNanos) / w) + 1];
        for (RequestRecord r : records) {
            if (r.startNanos() >= originNanos) {
                counts[(int) ((r.startNanos() - originNanos) / w)]++;
            }
        }
        return counts;
    }

    /**
     * The shortest time from the end of a record matching {@code trigger} to the start of the next
     * record (in start order), e.g. "how soon after a 429 did this client come back"; empty when no
     * matching record has a successor.
     */
    public static Optional<Duration> minGapAfter(List<RequestRecord> records, Predicate<? super RequestRecord> trigger) {
        List<RequestRecord> sorted = records.stream().sorted(Comparator.comparingLong(RequestRecord::startNanos)).toList();
        Duration min = null;
        for (int i = 0; i + 1 < sorted.size(); i++) {
            RequestRecord r = sorted.get(i);
            if (trigger.test(r) && !r.inFlight()) {
                // From the moment the proxy began answering: the client cannot have had the response any earlier, so a client
                // that waits W after it has it shows a gap of at least W whatever the proxy's threads are scheduled.
                // (Its end, taken after the last byte was written, may come after the client already read it.)
                long from = r.answerNanos() >= 0 ? r.answerNanos() : r.endNanos();
                Duration gap = Duration.ofNanos(sorted.get(i + 1).startNanos() - from);
                if (min == null || gap.compareTo(min) < 0) {
                    min = gap;
                }
            }
        }
        return Optional.ofNullable(min);
    }

    Entry begin(String identity, long connection, String method, String target, boolean watch) {
        long nanos = System.nanoTime();
        Instant wall = Instant.now();
        synchronized (this) {
            Entry e = new Entry(nextSequence++, identity, connection, method, target, watch, nanos, wall);
            if (entries.size() >= capacity) {
                entries.removeFirst();
                dropped++;
            }
            entries.addLast(e);
            return e;
        }
    }

    /** The mutable state of one record, updated by the connection's threads. */
    static final class Entry {
        private final long sequence;
        private final String identity;
        private final long connection;
        private final String method;
        private final String target;
        private final boolean watch;
        private final long startNanos;
        private final Instant startTime;
        private List<String> faults = List.of(); // guarded by this; small until a fault is recorded
        private volatile boolean forwarded;
        private volatile int status = -1;
        private volatile String error;
        private volatile long endNanos = -1;
        private volatile Instant endTime;
        private volatile long answerNanos = -1;

        private Entry(long sequence, String identity, long connection, String method, String target, boolean watch,
                long startNanos, Instant startTime) {
            this.sequence = sequence;
            this.identity = identity;
            this.connection = connection;
            this.method = method;
            this.target = target;
            this.watch = watch;
            this.startNanos = startNanos;
            this.startTime = startTime;
        }

        long sequence() {
            return sequence;
        }

        synchronized void fault(String description) {
            List<String> more = new ArrayList<>(faults);
            more.add(description);
            faults = List.copyOf(more);
        }

        void forwarded() {
            forwarded = true;
        }

        void status(int code) {
            status = code;
        }

        /** Marks, once, the moment before the first byte of the response is written to the client. */
        void answering() {
            if (answerNanos < 0) {
                answerNanos = System.nanoTime();
            }
        }

        void error(String why) {
            if (error == null) {
                error = why;
            }
        }

        boolean finished() {
            return endNanos >= 0;
        }

        /** Marks the end once; later calls are ignored. */
        synchronized void finish() {
            if (endNanos < 0) {
                endTime = Instant.now();
                endNanos = System.nanoTime();
            }
        }

        synchronized RequestRecord snapshot() {
            return new RequestRecord(sequence, identity, connection, method, target, watch, forwarded, faults, status,
                    error, startNanos, endNanos, startTime, endTime, answerNanos);
        }
    }
}
