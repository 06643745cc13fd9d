package dev.flotilla.bench;

import dev.flotilla.core.metrics.WorkQueueMetrics;
import dev.flotilla.core.queue.WorkQueue;
import dev.flotilla.core.queue.WorkQueueListener;
import dev.flotilla.core.reconcile.ObjectKey;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of the {@link WorkQueue}'s add/get/done cycle, the work every reconcile costs the queue.
 *
 * <p>One operation is one cycle: {@code add(k)}, then {@code poll} for whatever key is ready (not
 * necessarily {@code k} when several threads share the queue), then {@code done} for the key it got.
 * {@code poll} waits at most {@link #POLL_TIMEOUT}, so a thread that finds nothing ready never blocks
 * for good; such a cycle counts as an operation without a get and shows in the {@code empty}
 * secondary result, while {@code got} counts the cycles that handed out a key.
 *
 * <ul>
 *   <li>{@code keys=disjoint}: each thread cycles over its own {@value #KEYS_PER_THREAD} keys, so
 *       every add enqueues a key that is neither queued nor processing.</li>
 *   <li>{@code keys=shared16}: all threads draw at random from one pool of {@value #SHARED_KEYS}
 *       keys, so adds are deduplicated against queued keys or deferred behind keys in processing.
 *       With one thread there is nobody to collide with, so it behaves like {@code disjoint} on a
 *       tiny, cache-hot key set.</li>
 *   <li>{@code listener=none}: {@link WorkQueueListener#NONE}; {@code listener=prometheus}: the
 *       real {@link WorkQueueMetrics} on a fresh {@link PrometheusMeterRegistry}, its cost being the
 *       difference.</li>
 * </ul>
 *
 * The rate limiter never limits (the cycle never calls {@code addRateLimited} anyway); each
 * iteration gets a fresh queue (and registry).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class WorkQueueBenchmark {

    static final int KEYS_PER_THREAD = 1 << 14;
    static final int SHARED_KEYS = 16;
    static final Duration POLL_TIMEOUT = Duration.ofMillis(1);

    @Param({"none", "prometheus"})
    public String listener;

    @Param({"disjoint", "shared16"})
    public String keys;

    WorkQueue<ObjectKey> queue;
    PrometheusMeterRegistry registry;
    ObjectKey[] sharedPool;
    final AtomicInteger threadIndexes = new AtomicInteger();

    @Setup(Level.Trial)
    public void keys() {
        sharedPool = new ObjectKey[SHARED_KEYS];
        for (int i = 0; i < SHARED_KEYS; i++) {
            sharedPool[i] = ObjectKey.of("bench", "shared-" + i);
        }
    }

    @Setup(Level.Iteration)
    public void freshQueue() {
        switch (listener) {
            case "none" -> {
                registry = null;
                queue = new WorkQueue<>(new NoLimit<>(), WorkQueueListener.NONE);
            }
            case "prometheus" -> {
                registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
                var metrics = new WorkQueueMetrics(registry, "bench");
                queue = new WorkQueue<>(new NoLimit<>(), metrics);
                metrics.bindGauges(queue);
            }
            default -> throw new IllegalArgumentException("unknown listener " + listener);
        }
    }

    @TearDown(Level.Iteration)
    public void closeQueue() {
        queue.shutDown();
        if (registry != null) {
            registry.close();
        }
    }

    /** The keys one benchmark thread adds. */
    @State(Scope.Thread)
    public static class Worker {
        ObjectKey[] own;
        ObjectKey[] shared;
        int next;

        @Setup(Level.Trial)
        public void keys(WorkQueueBenchmark bench) {
            if (bench.keys.equals("disjoint")) {
                int thread = bench.threadIndexes.getAndIncrement();
                own = new ObjectKey[KEYS_PER_THREAD];
                for (int i = 0; i < KEYS_PER_THREAD; i++) {
                    own[i] = ObjectKey.of("bench", "t" + thread + "-" + i);
                }
            } else if (bench.keys.equals("shared16")) {
                shared = bench.sharedPool;
            } else {
                throw new IllegalArgumentException("unknown key set " + bench.keys);
            }
        }

        ObjectKey nextKey() {
            if (own != null) {
                ObjectKey key = own[next];
                next = (next + 1) & (KEYS_PER_THREAD - 1);
                return key;
            }
            return shared[ThreadLocalRandom.current().nextInt(SHARED_KEYS)];
        }
    }

    /** Per-thread outcome counts, reported by JMH as rates next to the primary result. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Outcomes {
        /** Cycles whose poll handed out a key (and so ended with done). */
        public long got;
        /** Cycles whose poll found nothing ready within the timeout. */
        public long empty;

        @Setup(Level.Iteration)
        public void reset() {
            got = 0;
            empty = 0;
        }
    }

    @Benchmark
    @Threads(1)
    public void cycle1Thread(Worker worker, Outcomes outcomes) throws InterruptedException {
        cycle(worker, outcomes);
    }

    @Benchmark
    @Threads(8)
    public void cycle8Threads(Worker worker, Outcomes outcomes) throws InterruptedException {
        cycle(worker, outcomes);
    }

    private void cycle(Worker worker, Outcomes outcomes) throws InterruptedException {
        WorkQueue<ObjectKey> q = queue;
        q.add(worker.nextKey());
        Optional<ObjectKey> got = q.poll(POLL_TIMEOUT);
        if (got.isPresent()) {
            q.done(got.get());
            outcomes.got++;
        } else {
            outcomes.empty++;
        }
    }
}
