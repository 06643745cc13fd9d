package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The guard on its own, without fabric8: a scripted transport answers each attempt, so the breaker, the budgets
 * and the retry are seen through {@link RequestGuard#execute} and the {@link Transport} contract alone.
 */
class RequestGuardTest {

    private static final URI CM = URI.create("https://api:6443/api/v1/namespaces/shop/configmaps/a");
    private static final RequestClassifier.Classification READ =
            RequestClassifier.classify(OutgoingRequest.of("GET", CM, "", ""));

    /** An answer of the scripted server. */
    record Answer(int status, String retryAfter) {
    }

    /** Refusals surface as this, so a test can tell them apart from answers and attempt errors. */
    static final class Refused extends RuntimeException {
        final transient NotSent reason;

        Refused(NotSent reason) {
            super(reason.message());
            this.reason = reason;
        }
    }

    /** Answers attempts from a script; records what the guard did with them. */
    static final class ScriptedTransport implements Transport<Answer> {
        final Deque<Object> script = new ConcurrentLinkedDeque<>(); // an Answer or a Throwable per attempt
        final AtomicInteger sent = new AtomicInteger();
        final List<Answer> discarded = Collections.synchronizedList(new ArrayList<>());
        final List<Throwable> unanswered = Collections.synchronizedList(new ArrayList<>());

        ScriptedTransport then(Object... attempts) {
            script.addAll(List.of(attempts));
            return this;
        }

        CompletableFuture<Answer> send() {
            sent.incrementAndGet();
            Object next = script.poll();
            return next instanceof Throwable t ? CompletableFuture.failedFuture(t)
                    : CompletableFuture.completedFuture(next == null ? new Answer(200, null) : (Answer) next);
        }

        @Override
        public int status(Answer answer) {
            return answer.status();
        }

        @Override
        public Optional<String> retryAfter(Answer answer) {
            return Optional.ofNullable(answer.retryAfter());
        }

        @Override
        public void discard(Answer answer) {
            discarded.add(answer);
        }

        @Override
        public void attemptFailed(Throwable failure) {
            unanswered.add(failure);
        }

        @Override
        public RuntimeException notSent(NotSent reason) {
            return new Refused(reason);
        }
    }

    private static GuardConfig.Builder quiet() {
        return GuardConfig.builder().qps(10_000).burst(10_000)
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(100).minimumCalls(100)
                .retryMaxAttempts(1).retryBaseBackoff(Duration.ofMillis(1)).retryMaxBackoff(Duration.ofMillis(5));
    }

    private static Answer call(RequestGuard guard, ScriptedTransport transport) {
        return guard.execute(CM, READ, "GET", transport::send, transport).orTimeout(10, TimeUnit.SECONDS).join();
    }

    @Test
    void retriesARetryableAnswerAndHandsOnlyTheLastOneToTheCaller() {
        RequestGuard guard = RequestGuard.create(quiet().retryMaxAttempts(3).build(), new SimpleMeterRegistry());
        var transport = new ScriptedTransport().then(new Answer(503, null), new Answer(429, "0"), new Answer(200, null));
        assertThat(call(guard, transport)).isEqualTo(new Answer(200, null));
        assertThat(transport.sent).hasValue(3);
        assertThat(transport.discarded).containsExactly(new Answer(503, null), new Answer(429, "0"));
    }

    @Test
    void anErrorWithoutAnAnswerIsReportedToTheTransportAndRetried() {
        RequestGuard guard = RequestGuard.create(quiet().retryMaxAttempts(2).build(), new SimpleMeterRegistry());
        var refused = new ConnectException("refused");
        var transport = new ScriptedTransport().then(refused, new Answer(200, null));
        assertThat(call(guard, transport).status()).isEqualTo(200);
        assertThat(transport.unanswered).containsExactly(refused);
    }

    @Test
    void anOpenBreakerSendsNothingAndFailsWithTheTransportsException() {
        GuardConfig config = quiet().slidingWindowSize(2).minimumCalls(2).build();
        RequestGuard guard = RequestGuard.create(config, new SimpleMeterRegistry());
        var transport = new ScriptedTransport().then(new Answer(500, null), new Answer(500, null));
        assertThat(call(guard, transport).status()).isEqualTo(500);
        assertThat(call(guard, transport).status()).isEqualTo(500);
        assertThat(guard.circuitBreaker("api:6443").getState()).isEqualTo(CircuitBreaker.State.OPEN);

        assertThatThrownBy(() -> call(guard, transport))
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(Refused.class)
                .satisfies(e -> assertThat(((Refused) e).reason).isInstanceOfSatisfying(NotSent.BreakerOpen.class, open -> {
                    assertThat(open.apiServer()).isEqualTo("api:6443");
                    assertThat(open.breakerState()).isEqualTo("OPEN");
                    assertThat(open.retryAfter()).isPositive().isLessThanOrEqualTo(config.breaker().waitInOpenState());
                }));
        assertThat(transport.sent).hasValue(2);
    }

    @Test
    void aRequestThatWouldWaitTooLongForAPermitIsNotSent() {
        GuardConfig config = quiet().qps(0.001).burst(1).maxPermitWait(Duration.ZERO).build();
        RequestGuard guard = RequestGuard.create(config, new SimpleMeterRegistry());
        var transport = new ScriptedTransport();
        assertThat(call(guard, transport).status()).isEqualTo(200);
        assertThatThrownBy(() -> call(guard, transport))
                .cause().isInstanceOf(Refused.class)
                .hasMessage("client-side rate limit for api:6443 (requests budget): no permit within 0s, request not sent");
        assertThat(transport.sent).hasValue(1);
    }

    @Test
    void longRunningConnectionsAreNeverRetried() {
        RequestGuard guard = RequestGuard.create(quiet().retryMaxAttempts(3).build(), new SimpleMeterRegistry());
        var transport = new ScriptedTransport().then(new Answer(503, null));
        var watch = RequestClassifier.classifyWebSocket(URI.create("https://api:6443/api/v1/configmaps?watch=true"));
        assertThat(guard.execute(CM, watch, "GET", transport::send, transport).join().status()).isEqualTo(503);
        assertThat(transport.sent).hasValue(1);
    }

    private static CountedBodyRequest put(String body) {
        return new CountedBodyRequest("PUT", CM, body);
    }

    @Test
    void aWritesBodyIsReadOnlyWhenAnAnswerLeavesItsRetryToItsPrecondition() {
        RequestGuard guard = RequestGuard.create(quiet().retryMaxAttempts(3).build(), new SimpleMeterRegistry());
        String guarded = "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\"}}";

        // Answered at once, or refused with an answer no policy retries: the body is never read.
        for (int status : new int[] {200, 409}) {
            CountedBodyRequest put = put(guarded);
            var transport = new ScriptedTransport().then(new Answer(status, null));
            assertThat(guard.execute(CM, RequestClassifier.classify(put), "PUT", transport::send, transport).join().status())
                    .isEqualTo(status);
            assertThat(put.reads).as("body reads of a PUT answered %d", status).hasValue(0);
        }

        // A 503 is retried only for an update that carries its resourceVersion: the body is read once to know.
        CountedBodyRequest withVersion = put(guarded);
        var retried = new ScriptedTransport().then(new Answer(503, null), new Answer(503, null), new Answer(200, null));
        assertThat(guard.execute(CM, RequestClassifier.classify(withVersion), "PUT", retried::send, retried).join().status())
                .isEqualTo(200);
        assertThat(retried.sent).hasValue(3);
        assertThat(withVersion.reads).hasValue(1);

        CountedBodyRequest blind = put("{\"metadata\":{\"name\":\"a\"}}");
        var notRetried = new ScriptedTransport().then(new Answer(503, null), new Answer(200, null));
        assertThat(guard.execute(CM, RequestClassifier.classify(blind), "PUT", notRetried::send, notRetried).join().status())
                .isEqualTo(503);
        assertThat(notRetried.sent).hasValue(1);
        assertThat(blind.reads).hasValue(1);

        // A connection reset after sending: the same split, decided from the same single read.
        CountedBodyRequest reset = put(guarded);
        var afterReset = new ScriptedTransport().then(new IOException("Connection reset"), new Answer(200, null));
        assertThat(guard.execute(CM, RequestClassifier.classify(reset), "PUT", afterReset::send, afterReset).join().status())
                .isEqualTo(200);
        assertThat(reset.reads).hasValue(1);
    }

    @Test
    void aWriteWhoseBodyCannotBeReadAfterTheSendIsAnsweredAndTakenAsUnguarded() {
        RequestGuard guard = RequestGuard.create(quiet().retryMaxAttempts(3).build(), new SimpleMeterRegistry());
        OutgoingRequest unreadable = new CountedBodyRequest("PUT", CM, "{}") {
            @Override
            public String body() {
                throw new IllegalStateException("body already released");
            }
        };
        var transport = new ScriptedTransport().then(new Answer(503, null), new Answer(200, null));
        RequestClassifier.Classification c = RequestClassifier.classify(unreadable);
        // The 503 needs the precondition; the body cannot give it, so it counts as none: answered, not retried.
        assertThat(guard.execute(CM, c, "PUT", transport::send, transport).orTimeout(10, TimeUnit.SECONDS).join().status())
                .isEqualTo(503);
        assertThat(transport.sent).hasValue(1);
        assertThat(c.kind()).isEqualTo(RequestKind.UNGUARDED_WRITE);
        assertThat(c.reason()).isEqualTo("body unreadable (IllegalStateException), so no precondition");
    }
}
