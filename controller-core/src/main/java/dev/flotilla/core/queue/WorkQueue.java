package dev.flotilla.core.queue;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The place where a key waits before a worker reconciles it, with client-go's semantics.
 *
 * <ul>
 *   <li>A key added many times before a worker takes it is processed once.</li>
 *   <li>A key is never handed to two workers at once: a key added while it is being processed is
 *       marked dirty and queued again only when the worker calls {@link #done}.</li>
 *   <li>{@link #addRateLimited} waits as long as the {@link RateLimiter} says (per-key backoff
 *       combined with an overall token bucket by default); {@link #forget} clears the backoff.</li>
 *   <li>{@link #addAfter} delays an add; several delayed adds of one key keep the earliest.</li>
 *   <li>{@link #shutDown()} stops at once; {@link #shutDownWithDrain} lets workers finish what is
 *       queued and in flight, within a deadline.</li>
 * </ul>
 *
 * <pre>{@code
 * Consumer<String> reconcile; // the work for one key
 * WorkQueue<String> queue = new WorkQueue<>(RateLimiter.controllerDefault(), WorkQueueListener.NONE);
 * queue.add("default/web");
 * Optional<String> key = queue.get();          // blocks until a key is ready or the queue shuts down
 * try { reconcile.accept(key.get()); queue.forget(key.get()); }
 * catch (Exception e) { queue.addRateLimited(key.get()); }
 * finally { queue.done(key.get()); }
 * }</pre>
 */
public final class WorkQueue<K> implements AutoCloseable {

    /** The longest a key is ever delayed; longer requests are shortened to this. */
    public static final Duration MAX_DELAY = Duration.ofDays(1);

    private final RateLimiter<K> rateLimiter;
    private final WorkQueueListener listener;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<K> queue = new ArrayDeque<>();
    /** Keys that need processing: queued, or added again while processing. */
    private final Set<K> dirty = new HashSet<>();
    /** Keys handed to a worker and not yet done, with the time they were handed out. */
    private final Map<K, Long> processing = new HashMap<>();
    /** When each queued key entered the queue, for the queue-duration metric. */
    private final Map<K, Long> enqueuedAt = new HashMap<>();
    /** Earliest pending delayed add per key. */
    private final Map<K, Long> waitingUntil = new HashMap<>();
    private final ScheduledExecutorService delayer;

    private boolean shuttingDown;
    private boolean draining;

    public WorkQueue(RateLimiter<K> rateLimiter, WorkQueueListener listener) {
        this.rateLimiter = Objects.requireNonNull(rateLimiter, "rateLimiter");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.delayer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "workqueue-delayer");
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues {@code key} unless it is already queued; ignored once the queue shuts down. */
    public void add(K key) {
        Objects.requireNonNull(key, "key");
        lock.lock();
        try {
            if (shuttingDown || dirty.contains(key)) {
                return;
            }
            dirty.add(key);
            if (processing.containsKey(key)) {
                return; // queued again by done()
            }
            push(key);
        } finally {
            lock.unlock();
        }
        // Listeners (metrics) run outside the lock: every worker contends for it.
        listener.added();
    }

    /** Queues a key and wakes one waiting worker; the caller reports {@link WorkQueueListener#added()}. */
    private void push(K key) {
        queue.addLast(key);
        enqueuedAt.put(key, System.nanoTime());
        changed.signal();
    }

    /** Queues {@code key} after {@code delay}; a zero or negative delay adds at once. */
    public void addAfter(K key, Duration delay) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(delay, "delay");
        if (delay.isZero() || delay.isNegative()) {
            add(key);
            return;
        }
        if (delay.compareTo(MAX_DELAY) > 0) {
            delay = MAX_DELAY; // a requeue "in 300 years" would overflow nanoTime arithmetic
        }
        long readyAt = System.nanoTime() + delay.toNanos();
        lock.lock();
        try {
            if (shuttingDown) {
                return;
            }
            Long earlier = waitingUntil.get(key);
            if (earlier != null && earlier - readyAt <= 0) {
                return; // an earlier add of the same key is already pending
            }
            waitingUntil.put(key, readyAt);
        } finally {
            lock.unlock();
        }
        try {
            delayer.schedule(() -> fire(key, readyAt), delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // shut down between the check above and here: the add is dropped like any add after shutdown
            lock.lock();
            try {
                waitingUntil.remove(key, readyAt);
            } finally {
                lock.unlock();
            }
        }
    }

    private void fire(K key, long readyAt) {
        lock.lock();
        try {
            Long pending = waitingUntil.get(key);
            if (pending == null || pending != readyAt) {
                return; // superseded by an earlier add, or already fired
            }
            waitingUntil.remove(key);
        } finally {
            lock.unlock();
        }
        add(key);
    }

    /** Queues {@code key} after the delay its rate limiter asks for, counting a retry. */
    public void addRateLimited(K key) {
        addRateLimited(key, Duration.ZERO);
    }

    /**
     * As {@link #addRateLimited(Object)}, but waits at least {@code atLeast} (an open circuit breaker's
     * time to its next probe, say) when that is longer than the backoff.
     */
    public void addRateLimited(K key, Duration atLeast) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(atLeast, "atLeast");
        lock.lock();
        try {
            if (shuttingDown) {
                return;
            }
        } finally {
            lock.unlock();
        }
        listener.retried();
        Duration backoff = rateLimiter.when(key);
        addAfter(key, atLeast.compareTo(backoff) > 0 ? atLeast : backoff);
    }

    /** Clears the backoff history of {@code key}; call it after a successful reconcile. */
    public void forget(K key) {
        rateLimiter.forget(key);
    }

    /** Failures of {@code key} since it was last forgotten. */
    public int retries(K key) {
        return rateLimiter.retries(key);
    }

    /**
     * Blocks until a key is ready, then hands it out and marks it processing. Returns empty when
     * the queue has shut down (after a drain: once nothing is left queued).
     */
    public Optional<K> get() throws InterruptedException {
        return get(null);
    }

    /**
     * As {@link #get()}, but waits at most {@code timeout}; empty if nothing became ready in time
     * or the queue has shut down.
     */
    public Optional<K> poll(Duration timeout) throws InterruptedException {
        return get(Objects.requireNonNull(timeout, "timeout"));
    }

    private Optional<K> get(Duration timeout) throws InterruptedException {
        long left = timeout == null ? Long.MAX_VALUE : timeout.toNanos();
        K key;
        long now;
        Long since;
        lock.lock();
        try {
            while (queue.isEmpty() && !shuttingDown) {
                if (timeout == null) {
                    changed.await();
                } else if (left <= 0) {
                    return Optional.empty();
                } else {
                    left = changed.awaitNanos(left);
                }
            }
            if (queue.isEmpty() || (shuttingDown && !draining)) {
                return Optional.empty();
            }
            key = queue.pollFirst();
            now = System.nanoTime();
            since = enqueuedAt.remove(key);
            processing.put(key, now);
            dirty.remove(key);
        } finally {
            lock.unlock();
        }
        listener.started(Duration.ofNanos(since == null ? 0 : now - since));
        return Optional.of(key);
    }

    /** Marks {@code key} finished; if it was added while processing, it is queued again now. */
    public void done(K key) {
        Long started;
        boolean requeued = false;
        lock.lock();
        try {
            started = processing.remove(key);
            if (dirty.contains(key) && !shuttingDown) {
                push(key);
                requeued = true;
            } else if (dirty.contains(key)) {
                dirty.remove(key);
            }
            if (shuttingDown) {
                changed.signalAll(); // a drain waits for processing to empty
            }
        } finally {
            lock.unlock();
        }
        if (started != null) {
            listener.finished(Duration.ofNanos(System.nanoTime() - started));
        }
        if (requeued) {
            listener.added();
        }
    }

    /** Keys waiting to be handed out (delayed adds not included). */
    public int depth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Keys currently being processed. */
    public int inFlight() {
        lock.lock();
        try {
            return processing.size();
        } finally {
            lock.unlock();
        }
    }

    /** Keys scheduled by {@link #addAfter} or {@link #addRateLimited} that are not yet queued. */
    public int waiting() {
        lock.lock();
        try {
            return waitingUntil.size();
        } finally {
            lock.unlock();
        }
    }

    /** Seconds of work in progress not yet reported as finished (client-go's unfinished work). */
    public double unfinishedWorkSeconds() {
        lock.lock();
        try {
            long now = System.nanoTime();
            return processing.values().stream().mapToLong(start -> now - start).sum() / 1e9;
        } finally {
            lock.unlock();
        }
    }

    /** How long the longest-running worker has been on its current key, in seconds. */
    public double longestRunningProcessorSeconds() {
        lock.lock();
        try {
            long now = System.nanoTime();
            return processing.values().stream().mapToLong(start -> now - start).max().orElse(0) / 1e9;
        } finally {
            lock.unlock();
        }
    }

    public boolean isShuttingDown() {
        lock.lock();
        try {
            return shuttingDown;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops at once: no more adds, {@link #get} returns empty, queued keys are abandoned (a
     * level-triggered controller rebuilds them from its informers on the next start).
     */
    public void shutDown() {
        lock.lock();
        try {
            shuttingDown = true;
            draining = false;
            waitingUntil.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        delayer.shutdownNow();
    }

    /**
     * Stops accepting adds, keeps handing out what is already queued, and waits until nothing is
     * queued or processing, at most {@code deadline}. After the deadline it shuts down at once.
     *
     * @return true if everything queued and in flight finished within the deadline
     */
    public boolean shutDownWithDrain(Duration deadline) throws InterruptedException {
        long deadlineNanos = System.nanoTime() + deadline.toNanos();
        lock.lock();
        try {
            if (!shuttingDown) {
                shuttingDown = true;
                draining = true;
                waitingUntil.clear();
            }
            changed.signalAll();
            while (!(queue.isEmpty() && processing.isEmpty())) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                changed.awaitNanos(left);
            }
            boolean drained = queue.isEmpty() && processing.isEmpty();
            draining = false;
            changed.signalAll();
            return drained;
        } finally {
            lock.unlock();
            delayer.shutdownNow();
        }
    }

    @Override
    public void close() {
        shutDown();
    }
}
