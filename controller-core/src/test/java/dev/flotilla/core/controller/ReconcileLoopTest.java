package dev.flotilla.core.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.metrics.ControllerMetrics;
import dev.flotilla.core.queue.ExponentialBackoff;
import dev.flotilla.core.queue.WorkQueue;
import dev.flotilla.core.queue.WorkQueueListener;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.RetryAfterHint;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The loop without a cluster: what it does with a failure that says when to come back. */
class ReconcileLoopTest {

    static final class Unavailable extends RuntimeException implements RetryAfterHint {
        Unavailable() {
            super("breaker open");
        }

        @Override
        public Duration retryAfter() {
            return Duration.ofMillis(400);
        }
    }

    private static final Cache<ConfigMap> EMPTY = new Cache<>() {
        @Override
        public Optional<ConfigMap> get(ObjectKey key) {
            return Optional.empty();
        }

        @Override
        public List<ConfigMap> list() {
            return List.of();
        }

        @Override
        public List<ConfigMap> list(String namespace) {
            return List.of();
        }

        @Override
        public int size() {
            return 0;
        }
    };

    @Test
    void aFailureCarryingARetryAfterHintWaitsAtLeastThatLongInsteadOfTheShortBackoff() throws Exception {
        List<Long> attempts = new CopyOnWriteArrayList<>();
        var queue = new WorkQueue<ObjectKey>(new ExponentialBackoff<>(Duration.ofMillis(5), Duration.ofSeconds(10)),
                WorkQueueListener.NONE);
        var loop = new ReconcileLoop<ConfigMap>("hint", request -> {
            attempts.add(System.nanoTime());
            // Wrapped, as fabric8 wraps a request's exception: the hint is found in the cause chain.
            throw new IllegalStateException("reconcile failed", new Unavailable());
        }, EMPTY, queue, new ControllerMetrics(new SimpleMeterRegistry(), "hint", 1), KeyGate.admitAll(), 1,
                WorkerThreads.VIRTUAL);
        loop.start();
        loop.enqueue(ObjectKey.of("ns", "a"));
        await().atMost(Duration.ofSeconds(10)).until(() -> attempts.size() >= 4);
        loop.stop(Duration.ofSeconds(1));
        for (int i = 1; i < 4; i++) {
            assertThat((attempts.get(i) - attempts.get(i - 1)) / 1_000_000).as("gap %d", i).isGreaterThanOrEqualTo(395);
        }
    }

    @Test
    void anAbsurdRequeueDelayNeitherKillsTheWorkerNorOverflows() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        var queue = new WorkQueue<ObjectKey>(new ExponentialBackoff<>(Duration.ofMillis(5), Duration.ofSeconds(10)),
                WorkQueueListener.NONE);
        var loop = new ReconcileLoop<ConfigMap>("absurd", request -> {
            seen.add(request.key().name());
            return dev.flotilla.core.reconcile.Result.requeueAfter(Duration.ofDays(365L * 400));
        }, EMPTY, queue, new ControllerMetrics(new SimpleMeterRegistry(), "absurd", 1), KeyGate.admitAll(), 1,
                WorkerThreads.VIRTUAL);
        loop.start();
        loop.enqueue(ObjectKey.of("ns", "first"));
        loop.enqueue(ObjectKey.of("ns", "second"));
        await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == 2);
        assertThat(queue.waiting()).isEqualTo(2);
        assertThat(loop.stop(Duration.ofSeconds(1))).isTrue();
        queue.addAfter(ObjectKey.of("ns", "late"), Duration.ofSeconds(1)); // after shutdown: ignored, no exception
    }

    @Test
    void stoppingALoopThatNeverStartedReturnsAtOnce() throws Exception {
        var queue = new WorkQueue<ObjectKey>(new ExponentialBackoff<>(Duration.ofMillis(5), Duration.ofSeconds(10)),
                WorkQueueListener.NONE);
        var loop = new ReconcileLoop<ConfigMap>("idle", request -> dev.flotilla.core.reconcile.Result.done(), EMPTY,
                queue, new ControllerMetrics(new SimpleMeterRegistry(), "idle", 1), KeyGate.admitAll(), 1,
                WorkerThreads.VIRTUAL);
        loop.enqueue(ObjectKey.of("ns", "queued"));
        long t0 = System.nanoTime();
        assertThat(loop.stop(Duration.ofSeconds(5))).isTrue();
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1000);
    }

    @Test
    void theLongestHintInTheCauseChainWins() {
        assertThat(RetryAfterHint.in(new RuntimeException("plain"))).isEmpty();
        assertThat(RetryAfterHint.in(new RuntimeException(new Unavailable()))).contains(Duration.ofMillis(400));
    }
}
