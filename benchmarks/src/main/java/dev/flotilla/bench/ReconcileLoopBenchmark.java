package dev.flotilla.bench;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.controller.ReconcileLoop;
import dev.flotilla.core.controller.WorkerThreads;
import dev.flotilla.core.metrics.ControllerMetrics;
import dev.flotilla.core.metrics.WorkQueueMetrics;
import dev.flotilla.core.queue.RateLimiter;
import dev.flotilla.core.queue.WorkQueue;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.core.reconcile.Result;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The {@link ReconcileLoop}'s own cost per reconcile, measured with a reconciler that does nothing
 * but count.
 *
 * <p>One invocation enqueues {@value #BATCH} distinct keys into a running loop (virtual-thread
 * workers, {@link KeyGate#admitAll()}, an empty cache, the real {@link ControllerMetrics} and
 * {@link WorkQueueMetrics} on a {@link PrometheusMeterRegistry}, {@link RateLimiter#controllerDefault()})
 * and waits until all of them have been reconciled. With {@link OperationsPerInvocation} the score
 * is reconciles per second, including the enqueueing thread's adds. Compare it to
 * {@link WorkQueueBenchmark}'s single-thread cycle to get the loop's overhead per reconcile.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@Threads(1)
@State(Scope.Benchmark)
public class ReconcileLoopBenchmark {

    static final int BATCH = 10_000;
    static final String NAME = "bench";
    /** How long one batch may take before the benchmark gives up instead of hanging. */
    static final long BATCH_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);

    @Param({"1", "4"})
    public int workers;

    ObjectKey[] keys;
    PrometheusMeterRegistry registry;
    ReconcileLoop<HasMetadata> loop;

    final AtomicLong reconciled = new AtomicLong();
    volatile long goal = Long.MAX_VALUE;
    volatile Thread waiter;

    private final Reconciler<HasMetadata> countingNoOp = request -> {
        if (reconciled.incrementAndGet() >= goal) {
            LockSupport.unpark(waiter);
        }
        return Result.done();
    };

    @Setup(Level.Trial)
    public void keys() {
        keys = new ObjectKey[BATCH];
        for (int i = 0; i < BATCH; i++) {
            keys[i] = ObjectKey.of("bench", "object-" + i);
        }
    }

    @Setup(Level.Iteration)
    public void startLoop() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        var queueMetrics = new WorkQueueMetrics(registry, NAME);
        var queue = new WorkQueue<ObjectKey>(RateLimiter.controllerDefault(), queueMetrics);
        queueMetrics.bindGauges(queue);
        var metrics = new ControllerMetrics(registry, NAME, workers);
        reconciled.set(0);
        goal = Long.MAX_VALUE;
        loop = new ReconcileLoop<>(NAME, countingNoOp, new EmptyCache<>(), queue, metrics, KeyGate.admitAll(),
                workers, WorkerThreads.VIRTUAL);
        loop.start();
    }

    @TearDown(Level.Iteration)
    public void stopLoop() throws InterruptedException {
        boolean drained = loop.stop(Duration.ofSeconds(10));
        registry.close();
        if (!drained) {
            throw new IllegalStateException("reconcile loop did not drain within 10 s");
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void reconcileBatch() {
        // Each add of a key that is not queued yields exactly one reconcile: the batch's keys are
        // distinct, and the previous batch's are all taken (a few may still be finishing, in which
        // case done() requeues them). So the count reaches the goal exactly.
        long target = reconciled.get() + BATCH;
        waiter = Thread.currentThread();
        goal = target;
        for (ObjectKey key : keys) {
            loop.enqueue(key);
        }
        long deadline = System.nanoTime() + BATCH_DEADLINE_NANOS;
        while (reconciled.get() < target) {
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(10));
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("batch not reconciled in time: " + (reconciled.get() - target + BATCH)
                        + " of " + BATCH);
            }
        }
    }
}
