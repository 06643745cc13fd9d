package dev.flotilla.core.controller;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.fence.FencedWrite;
import dev.flotilla.core.metrics.ControllerMetrics;
import dev.flotilla.core.metrics.MetricNames.ReconcileOutcome;
import dev.flotilla.core.queue.WorkQueue;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.core.reconcile.Request;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.core.reconcile.RetryAfterHint;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workers of one controller: take a key from the {@link WorkQueue}, reconcile it, and act on
 * the {@link Result}. Knows nothing about informers, so it can be driven (and benchmarked)
 * without a cluster.
 *
 * <pre>{@code
 * Cache<ConfigMap> cache;            // the informer's
 * WorkQueue<ObjectKey> queue;        // fed by the informer's event handler
 * ControllerMetrics metrics;         // controller_runtime_* for this controller
 * var loop = new ReconcileLoop<>("mirror", reconciler, cache, queue, metrics, KeyGate.admitAll(), 4, WorkerThreads.VIRTUAL);
 * loop.start();
 * loop.enqueue(ObjectKey.of("shop", "settings"));
 * loop.stop(Duration.ofSeconds(30));
 * }</pre>
 */
public final class ReconcileLoop<T extends HasMetadata> {

    private static final Logger log = LoggerFactory.getLogger(ReconcileLoop.class);

    private final String name;
    private final Reconciler<T> reconciler;
    private final Cache<T> cache;
    private final WorkQueue<ObjectKey> queue;
    private final ControllerMetrics metrics;
    private final KeyGate gate;
    private final int workers;
    private final WorkerThreads threads;
    private final List<Thread> running = new ArrayList<>();
    /** Which key each worker is on, registered before the gate check so a revocation never misses one. */
    private final ConcurrentHashMap<Thread, ObjectKey> inFlight = new ConcurrentHashMap<>();

    public ReconcileLoop(String name, Reconciler<T> reconciler, Cache<T> cache, WorkQueue<ObjectKey> queue,
            ControllerMetrics metrics, KeyGate gate, int workers, WorkerThreads threads) {
        this.name = Objects.requireNonNull(name, "name");
        this.reconciler = Objects.requireNonNull(reconciler, "reconciler");
        this.cache = Objects.requireNonNull(cache, "cache");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.gate = Objects.requireNonNull(gate, "gate");
        this.threads = Objects.requireNonNull(threads, "threads");
        if (workers < 1) {
            throw new IllegalArgumentException("controller " + name + " needs at least one worker, got " + workers);
        }
        this.workers = workers;
    }

    /** Queues {@code key} if the gate admits it. */
    public void enqueue(ObjectKey key) {
        if (gate.admits(key)) {
            queue.add(key);
        }
    }

    public WorkQueue<ObjectKey> queue() {
        return queue;
    }

    public synchronized void start() {
        if (!running.isEmpty()) {
            throw new IllegalStateException("controller " + name + " is already running");
        }
        Thread.Builder builder = threads == WorkerThreads.VIRTUAL
                ? Thread.ofVirtual().name(name + "-worker-", 0)
                : Thread.ofPlatform().daemon(true).name(name + "-worker-", 0);
        for (int i = 0; i < workers; i++) {
            running.add(builder.start(this::work));
        }
    }

    /**
     * Stops taking new keys, lets queued and in-flight reconciles finish until {@code deadline},
     * then interrupts whatever still runs and returns without waiting for it.
     *
     * @return true if everything finished within the deadline
     */
    public boolean stop(Duration deadline) throws InterruptedException {
        List<Thread> threadsNow;
        synchronized (this) {
            threadsNow = List.copyOf(running);
        }
        if (threadsNow.isEmpty()) {
            queue.shutDown(); // never started: no worker could drain anything
            return true;
        }
        boolean drained = queue.shutDownWithDrain(deadline);
        if (!drained) {
            log.atWarn().addKeyValue("controller", name).addKeyValue("inFlight", queue.inFlight())
                    .addKeyValue("deadline", deadline).log("shutdown deadline passed; abandoning in-flight reconciles");
            threadsNow.forEach(Thread::interrupt);
        }
        for (Thread t : threadsNow) {
            t.join(Duration.ofMillis(drained ? 1000 : 50));
        }
        return drained;
    }

    /**
     * Waits until no reconcile of a key matching {@code keys} is in flight, e.g. after the gate
     * stopped admitting a shard's keys and before the shard is handed over.
     *
     * @return false if one still ran at the deadline
     */
    public boolean awaitIdle(Predicate<ObjectKey> keys, Duration deadline) throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        while (inFlight.values().stream().anyMatch(keys)) {
            if (System.nanoTime() >= end) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    /**
     * Interrupts the reconciles in flight on keys matching {@code keys} (a replica fencing itself
     * off a shard it can no longer prove it holds). A reconciler blocked in an API call sees an
     * interrupted call and fails; the key is retried by whoever owns it next.
     *
     * @return how many were interrupted
     */
    public int interrupt(Predicate<ObjectKey> keys) {
        int[] n = {0};
        for (Thread worker : List.copyOf(inFlight.keySet())) {
            // Under the map's lock for this worker: the worker removes its entry (and then clears its interrupt
            // flag) under the same lock, so an interrupt can never land on the next, unrelated reconcile.
            inFlight.computeIfPresent(worker, (t, key) -> {
                if (keys.test(key)) {
                    t.interrupt();
                    n[0]++;
                }
                return key;
            });
        }
        return n[0];
    }

    private void work() {
        metrics.workerStarted();
        try {
            while (true) {
                ObjectKey key;
                try {
                    var next = queue.get();
                    if (next.isEmpty()) {
                        return;
                    }
                    key = next.get();
                } catch (InterruptedException e) {
                    if (queue.isShuttingDown()) {
                        return;
                    }
                    continue; // a revocation that arrived just after its reconcile ended
                }
                inFlight.put(Thread.currentThread(), key);
                try {
                    if (gate.admits(key)) {
                        process(key);
                    } else {
                        // This replica no longer owns the key: drop it, with its backoff.
                        queue.forget(key);
                    }
                } catch (RuntimeException e) {
                    // Result handling, metrics or logging failed: the key is lost for now (the next event or
                    // resync brings it back), the worker is not.
                    log.atError().addKeyValue("controller", name).addKeyValue("namespace", key.namespace())
                            .addKeyValue("name", key.name()).addKeyValue("error", FailureText.of(e))
                            .log("failure after reconcile; worker continues");
                } finally {
                    inFlight.remove(Thread.currentThread());
                    queue.done(key);
                    if (!queue.isShuttingDown()) {
                        Thread.interrupted(); // a revocation interrupt ends one reconcile, not the worker
                    }
                }
            }
        } finally {
            metrics.workerFinished();
        }
    }

    private void process(ObjectKey key) {
        long start = System.nanoTime();
        Result result;
        try {
            result = reconciler.reconcile(new Request<>(key, cache));
            if (result == null) {
                result = Result.failed(new IllegalStateException("reconciler returned null instead of a Result"));
            }
        } catch (VirtualMachineError fatal) {
            if (!(fatal instanceof StackOverflowError)) {
                throw fatal;
            }
            result = Result.failed(fatal);
        } catch (Throwable t) {
            // Anything a reconciler throws on one object is that object's failure, not the worker's.
            result = Result.failed(t);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        switch (result) {
            case Result.Done d -> {
                queue.forget(key);
                metrics.reconciled(ReconcileOutcome.SUCCESS, took, false);
            }
            case Result.RequeueAfter r -> {
                queue.forget(key);
                queue.addAfter(key, r.delay());
                metrics.reconciled(ReconcileOutcome.REQUEUE_AFTER, took, false);
            }
            case Result.Requeue r -> {
                queue.addRateLimited(key);
                metrics.reconciled(ReconcileOutcome.REQUEUE, took, false);
            }
            case Result.Failed f when FencedWrite.in(f.cause()).isPresent() -> {
                // Not this object's failure: the replica lost (or is losing) its shard. Requeued, and the key
                // gate decides whether it is still ours when it comes up.
                queue.addRateLimited(key);
                metrics.fenced(took);
                log.atInfo().addKeyValue("controller", name).addKeyValue("namespace", key.namespace())
                        .addKeyValue("name", key.name())
                        .addKeyValue("fence", FencedWrite.in(f.cause()).get().fenceReason())
                        .log("reconcile fenced: a write was refused before it was sent");
            }
            case Result.Failed f when f.isTerminal() -> {
                queue.forget(key);
                metrics.reconciled(ReconcileOutcome.ERROR, took, true);
                log.atError().addKeyValue("controller", name).addKeyValue("namespace", key.namespace())
                        .addKeyValue("name", key.name()).addKeyValue("error", f.cause().getMessage())
                        .log("terminal reconcile error; not retrying until the object changes");
            }
            case Result.Failed f -> {
                int attempt = queue.retries(key) + 1;
                // An open breaker says how long retrying is pointless: wait that long, not just the backoff.
                queue.addRateLimited(key, RetryAfterHint.in(f.cause()).orElse(Duration.ZERO));
                metrics.reconciled(ReconcileOutcome.ERROR, took, false);
                log.atWarn().addKeyValue("controller", name).addKeyValue("namespace", key.namespace())
                        .addKeyValue("name", key.name()).addKeyValue("attempt", attempt)
                        .addKeyValue("error", String.valueOf(f.cause()))
                        .setCause(log.isDebugEnabled() ? f.cause() : null)
                        .log("reconcile failed; retrying with backoff");
            }
        }
    }
}
