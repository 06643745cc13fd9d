package dev.flotilla.core.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * Many producers and workers over a small key space, with an invariant checker:
 * no key is ever held by two workers at once, and every add is followed by a processing of that
 * key that started after it (nothing is lost).
 */
class WorkQueueStressTest {

    private static final int KEYS = 64;
    private static final int PRODUCERS = 8;
    private static final int WORKERS = 16;
    private static final int ADDS_PER_PRODUCER = 40_000;

    @Test
    void neverTwoWorkersOnOneKeyAndNoAddIsLost() throws Exception {
        var queue = new WorkQueue<Integer>(new ExponentialBackoff<>(Duration.ofMillis(1), Duration.ofMillis(20)),
                WorkQueueListener.NONE);
        var clock = new AtomicLong();
        Map<Integer, AtomicLong> lastAdd = new ConcurrentHashMap<>();
        Map<Integer, AtomicLong> lastStart = new ConcurrentHashMap<>();
        Map<Integer, AtomicInteger> holders = new ConcurrentHashMap<>();
        for (int k = 0; k < KEYS; k++) {
            lastAdd.put(k, new AtomicLong(-1));
            lastStart.put(k, new AtomicLong(-1));
            holders.put(k, new AtomicInteger());
        }
        var violations = new ConcurrentLinkedQueue<String>();
        var processed = new LongAdder();
        var adds = new LongAdder();

        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            workers.add(Thread.ofPlatform().daemon(true).start(() -> {
                try {
                    Optional<Integer> next;
                    while ((next = queue.get()).isPresent()) {
                        int key = next.get();
                        if (holders.get(key).incrementAndGet() != 1) {
                            violations.add("key " + key + " held by two workers");
                        }
                        lastStart.get(key).accumulateAndGet(clock.incrementAndGet(), Math::max);
                        if (ThreadLocalRandom.current().nextInt(8) == 0) {
                            Thread.onSpinWait();
                            Thread.yield();
                        }
                        processed.increment();
                        boolean retry = ThreadLocalRandom.current().nextInt(50) == 0;
                        holders.get(key).decrementAndGet();
                        if (retry) {
                            lastAdd.get(key).accumulateAndGet(clock.incrementAndGet(), Math::max);
                            queue.addRateLimited(key);
                        } else {
                            queue.forget(key);
                        }
                        queue.done(key);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        List<Thread> producers = new ArrayList<>();
        for (int p = 0; p < PRODUCERS; p++) {
            producers.add(Thread.ofPlatform().daemon(true).start(() -> {
                var random = ThreadLocalRandom.current();
                for (int i = 0; i < ADDS_PER_PRODUCER; i++) {
                    int key = random.nextInt(KEYS);
                    lastAdd.get(key).accumulateAndGet(clock.incrementAndGet(), Math::max);
                    if (random.nextInt(20) == 0) {
                        queue.addAfter(key, Duration.ofMillis(random.nextInt(5)));
                    } else {
                        queue.add(key);
                    }
                    adds.increment();
                }
            }));
        }
        for (Thread p : producers) {
            p.join(Duration.ofSeconds(60));
            assertThat(p.isAlive()).as("producer finished").isFalse();
        }
        // Let retries and delayed adds settle, then drain.
        long settleUntil = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < settleUntil && (queue.depth() > 0 || queue.inFlight() > 0 || queue.waiting() > 0)) {
            Thread.sleep(10);
        }
        assertThat(queue.shutDownWithDrain(Duration.ofSeconds(10))).isTrue();
        for (Thread w : workers) {
            w.join(Duration.ofSeconds(5));
        }

        assertThat(violations).isEmpty();
        for (int k = 0; k < KEYS; k++) {
            assertThat(lastStart.get(k).get())
                    .as("key %d: the last add (t=%d) must be followed by a processing start", k, lastAdd.get(k).get())
                    .isGreaterThan(lastAdd.get(k).get());
        }
        assertThat(processed.sum()).as("dedup: fewer reconciles than adds").isLessThan(adds.sum());
        assertThat(processed.sum()).isGreaterThanOrEqualTo(KEYS);
    }
}
