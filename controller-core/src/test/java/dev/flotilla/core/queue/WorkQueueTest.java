package dev.flotilla.core.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WorkQueueTest {

    private static WorkQueue<String> queue() {
        return new WorkQueue<>(new ExponentialBackoff<>(Duration.ofMillis(5), Duration.ofSeconds(1)), WorkQueueListener.NONE);
    }

    @Test
    void aKeyAddedManyTimesBeforeProcessingIsHandedOutOnce() throws Exception {
        try (var q = queue()) {
            for (int i = 0; i < 100; i++) {
                q.add("a");
            }
            q.add("b");
            assertThat(q.depth()).isEqualTo(2);
            assertThat(q.get()).contains("a");
            assertThat(q.get()).contains("b");
            assertThat(q.poll(Duration.ofMillis(50))).isEmpty();
        }
    }

    @Test
    void aKeyAddedWhileProcessingIsNotHandedToASecondWorkerButRequeuedOnDone() throws Exception {
        try (var q = queue()) {
            q.add("a");
            String first = q.get().orElseThrow();
            q.add("a"); // changed while being processed
            q.add("a");
            assertThat(q.depth()).isZero();
            assertThat(q.poll(Duration.ofMillis(50))).as("must not be handed out while processing").isEmpty();
            q.done(first);
            assertThat(q.depth()).isEqualTo(1);
            assertThat(q.get()).contains("a");
        }
    }

    @Test
    void keysComeOutInFifoOrder() throws Exception {
        try (var q = queue()) {
            List<String> keys = List.of("c", "a", "b", "d");
            keys.forEach(q::add);
            List<String> out = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                out.add(q.get().orElseThrow());
            }
            assertThat(out).isEqualTo(keys);
        }
    }

    @Test
    void addAfterDelaysTheKeyAndKeepsTheEarliestOfSeveralDelays() throws Exception {
        try (var q = queue()) {
            long start = System.nanoTime();
            q.addAfter("a", Duration.ofMillis(600));
            q.addAfter("a", Duration.ofMillis(150)); // earlier wins
            q.addAfter("a", Duration.ofMillis(900)); // later ignored
            assertThat(q.waiting()).isEqualTo(1);
            assertThat(q.get()).contains("a");
            long waitedMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(waitedMs).isBetween(140L, 550L);
            q.done("a");
            assertThat(q.poll(Duration.ofMillis(900))).as("the superseded delays must not fire again").isEmpty();
        }
    }

    @Test
    void addRateLimitedBacksOffExponentiallyAndForgetResets() throws Exception {
        var backoff = new ExponentialBackoff<String>(Duration.ofMillis(40), Duration.ofMillis(400));
        var retries = new AtomicInteger();
        try (var q = new WorkQueue<>(backoff, new WorkQueueListener() {
            @Override
            public void retried() {
                retries.incrementAndGet();
            }
        })) {
            // Expected waits 40, 80, 160, 320, then capped at 400 ms.
            long[] expected = {40, 80, 160, 320, 400, 400};
            for (long expectedMs : expected) {
                long t0 = System.nanoTime();
                q.addRateLimited("poison");
                String k = q.get().orElseThrow();
                long waited = (System.nanoTime() - t0) / 1_000_000;
                q.done(k);
                assertThat(waited).as("wait for expected %d ms", expectedMs)
                        .isGreaterThanOrEqualTo(expectedMs - 5)
                        .isLessThan(expectedMs + 250);
            }
            assertThat(q.retries("poison")).isEqualTo(expected.length);
            assertThat(retries.get()).isEqualTo(expected.length);
            q.forget("poison");
            assertThat(q.retries("poison")).isZero();
            long t0 = System.nanoTime();
            q.addRateLimited("poison");
            q.get().orElseThrow();
            assertThat((System.nanoTime() - t0) / 1_000_000).as("after forget the backoff starts over").isLessThan(40 + 250);
        }
    }

    @Test
    void shutDownReleasesBlockedWorkersAndRefusesAdds() throws Exception {
        var q = queue();
        var released = new CountDownLatch(1);
        Thread worker = Thread.ofVirtual().start(() -> {
            try {
                if (q.get().isEmpty()) {
                    released.countDown();
                }
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        });
        Thread.sleep(50);
        q.shutDown();
        assertThat(released.await(2, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        worker.join();
        q.add("late");
        q.addAfter("late", Duration.ofMillis(1));
        q.addRateLimited("late");
        assertThat(q.depth()).isZero();
        assertThat(q.get()).isEmpty();
    }

    @Test
    void drainHandsOutQueuedKeysAndWaitsForInFlightWork() throws Exception {
        var q = queue();
        q.add("a");
        q.add("b");
        q.add("c");
        List<String> processed = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread worker = Thread.ofVirtual().start(() -> {
            try {
                Optional<String> k;
                while ((k = q.get()).isPresent()) {
                    Thread.sleep(100);
                    processed.add(k.get());
                    q.done(k.get());
                }
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        });
        boolean drained = q.shutDownWithDrain(Duration.ofSeconds(5));
        assertThat(drained).isTrue();
        assertThat(processed).containsExactly("a", "b", "c");
        worker.join(Duration.ofSeconds(2));
        assertThat(worker.isAlive()).isFalse();
    }

    @Test
    void drainGivesUpAtTheDeadlineWhenWorkHangs() throws Exception {
        var q = queue();
        q.add("stuck");
        assertThat(q.get()).contains("stuck"); // never done
        long t0 = System.nanoTime();
        boolean drained = q.shutDownWithDrain(Duration.ofMillis(300));
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(drained).isFalse();
        assertThat(tookMs).isBetween(290L, 1500L);
        assertThat(q.get()).isEmpty();
    }

    @Test
    void gaugesReportDepthAndUnfinishedWork() throws Exception {
        try (var q = queue()) {
            q.add("a");
            q.add("b");
            assertThat(q.depth()).isEqualTo(2);
            q.get();
            Thread.sleep(120);
            assertThat(q.inFlight()).isEqualTo(1);
            assertThat(q.unfinishedWorkSeconds()).isGreaterThanOrEqualTo(0.1);
            assertThat(q.longestRunningProcessorSeconds()).isGreaterThanOrEqualTo(0.1);
            q.done("a");
            assertThat(q.unfinishedWorkSeconds()).isZero();
        }
    }
}
