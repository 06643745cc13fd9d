package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.fence.Admission;
import dev.flotilla.core.fence.WriteFence;
import dev.flotilla.core.fence.WriteTarget;
import dev.flotilla.resilience.guard.RequestGuardTest.Answer;
import dev.flotilla.resilience.guard.RequestGuardTest.Refused;
import dev.flotilla.resilience.guard.RequestGuardTest.ScriptedTransport;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The write fence as the guard asks it: for writes only, right before every attempt is sent. */
class WriteFenceGuardTest {

    private static final URI COLLECTION = URI.create("https://api:6443/api/v1/namespaces/shop/configmaps");
    private static final URI LEASE = URI.create("https://api:6443/apis/coordination.k8s.io/v1/namespaces/ops/leases/g-shard-1");
    private static final URI OBJECT = URI.create("https://api:6443/api/v1/namespaces/shop/configmaps/a");

    private static GuardConfig.Builder quiet() {
        return GuardConfig.builder().qps(10_000).burst(10_000)
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(100).minimumCalls(100)
                .retryMaxAttempts(1).retryBaseBackoff(Duration.ofMillis(1)).retryMaxBackoff(Duration.ofMillis(5));
    }

    private static RequestClassifier.Classification classify(String method, URI uri, String contentType, String body) {
        return RequestClassifier.classify(OutgoingRequest.of(method, uri, contentType, body));
    }

    private static CompletableFuture<Answer> post(RequestGuard guard, ScriptedTransport transport) {
        return guard.execute(COLLECTION, classify("POST", COLLECTION, "application/json", "{}"), "POST", transport::send, transport);
    }

    /** A fence that admits while {@code open} and records what it was asked and what finished. */
    static final class RecordingFence implements WriteFence {
        final AtomicBoolean open = new AtomicBoolean(true);
        final List<WriteTarget> asked = new CopyOnWriteArrayList<>();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Runnable> lastCancel = new AtomicReference<>();

        @Override
        public Admission admit(WriteTarget target, Runnable cancel) {
            asked.add(target);
            lastCancel.set(cancel);
            return open.get() ? new Admission.Admitted(done::incrementAndGet) : new Admission.Refused("shard 7 is not held");
        }
    }

    @Test
    void aRefusedWriteIsNotSentNotRetriedAndCounted() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RequestGuard guard = RequestGuard.create(quiet().retryMaxAttempts(4).build(), registry);
        RecordingFence fence = new RecordingFence();
        fence.open.set(false);
        guard.fenceWrites(fence);
        var transport = new ScriptedTransport();

        assertThatThrownBy(() -> post(guard, transport).orTimeout(10, TimeUnit.SECONDS).join())
                .isInstanceOf(CompletionException.class).cause().isInstanceOf(Refused.class)
                .satisfies(e -> assertThat(((Refused) e).reason).isInstanceOfSatisfying(NotSent.Fenced.class, f -> {
                    assertThat(f.target()).isEqualTo(new WriteTarget("POST", "shop", "configmaps", ""));
                    assertThat(f.message()).isEqualTo("write fenced, request not sent: POST configmaps shop/: shard 7 is not held");
                }));
        assertThat(transport.sent).hasValue(0);
        assertThat(fence.asked).hasSize(1);
        assertThat(registry.get(GuardMetricNames.FENCED_WRITES_TOTAL).tag(GuardMetricNames.LABEL_VERB, "POST").counter().count())
                .isEqualTo(1.0);
        assertThat(guard.circuitBreaker("api:6443").getMetrics().getNumberOfBufferedCalls()).as("the breaker saw nothing").isZero();
    }

    @Test
    void readsAndLeaseRequestsNeverAskTheFence() {
        RequestGuard guard = RequestGuard.create(quiet().build(), new SimpleMeterRegistry());
        guard.fenceWrites((target, cancel) -> {
            throw new AssertionError("asked for " + target);
        });
        var transport = new ScriptedTransport();
        guard.execute(OBJECT, classify("GET", OBJECT, "", ""), "GET", transport::send, transport).join();
        guard.execute(LEASE, classify("PUT", LEASE, "application/json", "{\"metadata\":{\"resourceVersion\":\"5\"}}"), "PUT",
                transport::send, transport).join();
        assertThat(transport.sent).hasValue(2);
    }

    @Test
    void theFenceIsAskedAfterTheRateLimitWaitNotBefore() {
        // One permit a second: the second write waits about a second for its permit, and the shard is lost meanwhile.
        RequestGuard guard = RequestGuard.create(quiet().qps(1).burst(1).build(), new SimpleMeterRegistry());
        RecordingFence fence = new RecordingFence();
        guard.fenceWrites(fence);
        var transport = new ScriptedTransport();
        post(guard, transport).orTimeout(10, TimeUnit.SECONDS).join();
        CompletableFuture<Answer> waiting = post(guard, transport);
        assertThat(fence.asked).as("not asked while waiting for a permit").hasSize(1);
        fence.open.set(false);

        assertThatThrownBy(() -> waiting.orTimeout(10, TimeUnit.SECONDS).join()).cause().isInstanceOf(Refused.class);
        assertThat(transport.sent).hasValue(1);
        assertThat(fence.asked).hasSize(2);
    }

    @Test
    void theFenceIsAskedBeforeEveryRetry() {
        RequestGuard guard = RequestGuard.create(quiet().retryMaxAttempts(4).build(), new SimpleMeterRegistry());
        AtomicInteger asked = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        guard.fenceWrites((target, cancel) -> asked.incrementAndGet() == 1
                ? new Admission.Admitted(done::incrementAndGet) : new Admission.Refused("renew deadline too close"));
        // A PUT with a resourceVersion is retried on 503; the second attempt finds the fence closed.
        var transport = new ScriptedTransport().then(new Answer(503, null), new Answer(200, null));
        String body = "{\"metadata\":{\"resourceVersion\":\"5\"}}";
        CompletableFuture<Answer> put = guard.execute(OBJECT, classify("PUT", OBJECT, "application/json", body), "PUT",
                transport::send, transport);

        assertThatThrownBy(() -> put.orTimeout(10, TimeUnit.SECONDS).join()).cause().isInstanceOf(Refused.class)
                .hasMessageContaining("renew deadline too close");
        assertThat(transport.sent).hasValue(1);
        assertThat(asked).hasValue(2);
        assertThat(done).as("the first attempt was reported done").hasValue(1);
    }

    @Test
    void aWriteStruckInFlightFailsAsFencedAtOnceAndTheClientIsAskedToDropIt() {
        RequestGuard guard = RequestGuard.create(quiet().build(), new SimpleMeterRegistry());
        RecordingFence fence = new RecordingFence();
        guard.fenceWrites(fence);
        var transport = new ScriptedTransport();
        post(guard, transport).orTimeout(10, TimeUnit.SECONDS).join();
        assertThat(fence.done).hasValue(1);

        // An attempt that does not answer: the fence strikes. The caller hears "fenced" at once (not a
        // cancellation, which a reconcile would count as an error), and the attempt is cancelled.
        CompletableFuture<Answer> hanging = new CompletableFuture<>();
        CompletableFuture<Answer> call = guard.execute(COLLECTION, classify("POST", COLLECTION, "application/json", "{}"), "POST",
                () -> hanging, transport);
        assertThat(fence.asked).hasSize(2);
        fence.lastCancel.get().run();
        assertThatThrownBy(() -> call.orTimeout(10, TimeUnit.SECONDS).join()).cause()
                .isInstanceOfSatisfying(Refused.class, r -> assertThat(r.reason).isInstanceOfSatisfying(NotSent.Fenced.class,
                        f -> assertThat(f.inFlight()).isTrue()))
                .hasMessageContaining("write fenced in flight");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(hanging::isCancelled);
        assertThat(fence.done).hasValue(2);
    }

    @Test
    void aWriteItsCallerCancelsIsTrackedUntilItsAttemptReallyEnds() {
        // A handover waits for the writes of a shard: a caller giving up must not make one look over.
        RequestGuard guard = RequestGuard.create(quiet().build(), new SimpleMeterRegistry());
        RecordingFence fence = new RecordingFence();
        guard.fenceWrites(fence);
        var transport = new ScriptedTransport();
        CompletableFuture<Answer> hanging = new CompletableFuture<>();
        CompletableFuture<Answer> call = guard.execute(COLLECTION, classify("POST", COLLECTION, "application/json", "{}"), "POST",
                () -> hanging, transport);
        call.cancel(true);
        assertThat(hanging).as("not cancelled with its caller").isNotDone();
        assertThat(fence.done).as("still on the wire").hasValue(0);
        hanging.complete(new Answer(200, null));
        assertThat(fence.done).hasValue(1);
    }

    @Test
    void aWriteFencedWhileItWasBeingAdmittedIsNotSent() {
        // The fence closes between its look and the send: it strikes what it had just admitted.
        RequestGuard guard = RequestGuard.create(quiet().build(), new SimpleMeterRegistry());
        AtomicInteger done = new AtomicInteger();
        guard.fenceWrites((target, cancel) -> {
            cancel.run();
            return new Admission.Admitted(done::incrementAndGet);
        });
        var transport = new ScriptedTransport();
        assertThatThrownBy(() -> post(guard, transport).orTimeout(10, TimeUnit.SECONDS).join()).cause()
                .isInstanceOf(Refused.class).hasMessageContaining("fenced as the write was admitted");
        assertThat(transport.sent).as("nothing left the process").hasValue(0);
        assertThat(done).hasValue(1);
    }

    @Test
    void aFenceThatFailsRefusesTheWrite() {
        RequestGuard guard = RequestGuard.create(quiet().build(), new SimpleMeterRegistry());
        guard.fenceWrites((target, cancel) -> {
            throw new IllegalStateException("broken fence");
        });
        var transport = new ScriptedTransport();
        assertThatThrownBy(() -> post(guard, transport).orTimeout(10, TimeUnit.SECONDS).join()).cause()
                .isInstanceOf(Refused.class).hasMessageContaining("the write fence failed");
        assertThat(transport.sent).hasValue(0);
    }

    @Test
    void aWriteWhosePathTheFenceCannotReadIsRefusedAndAReviewPassesWithoutAsking() {
        RequestGuard guard = RequestGuard.create(quiet().build(), new SimpleMeterRegistry());
        RecordingFence fence = new RecordingFence();
        guard.fenceWrites(fence);
        var transport = new ScriptedTransport();
        URI odd = URI.create("https://api:6443/weird/place/configmaps/a");
        assertThatThrownBy(() -> guard.execute(odd, classify("PUT", odd, "application/json", "{}"), "PUT", transport::send,
                transport).orTimeout(10, TimeUnit.SECONDS).join()).cause().isInstanceOf(Refused.class)
                .hasMessageContaining("cannot read what this path changes");
        assertThat(transport.sent).as("failed closed").hasValue(0);

        URI review = URI.create("https://api:6443/apis/authorization.k8s.io/v1/subjectaccessreviews");
        guard.execute(review, classify("POST", review, "application/json", "{}"), "POST", transport::send, transport)
                .orTimeout(10, TimeUnit.SECONDS).join();
        assertThat(transport.sent).hasValue(1);
        assertThat(fence.asked).as("a review stores nothing: the fence is not asked").isEmpty();
    }
}
