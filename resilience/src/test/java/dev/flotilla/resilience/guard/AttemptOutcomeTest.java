package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.resilience.guard.AttemptOutcome.Failure;
import dev.flotilla.resilience.guard.AttemptOutcome.Verdict;
import dev.flotilla.resilience.guard.RequestKind.RetryPolicy;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class AttemptOutcomeTest {

    private static final Duration CAP = Duration.ofSeconds(10);

    /** The HTTP client's own failure, as a test client's transport reports it. */
    static final class ClientLibraryException extends RuntimeException {
        ClientLibraryException(String message) {
            super(message);
        }
    }

    /** A refused upgrade of the test client: it carries the server's status. */
    static final class RefusedUpgrade extends IOException {
        final int status;

        RefusedUpgrade(int status) {
            this.status = status;
        }
    }

    /** A transport that knows its client's own failures and refused upgrades; it never reads answers here. */
    static final Transport<Object> TRANSPORT = new Transport<>() {
        @Override
        public int status(Object answer) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Optional<String> retryAfter(Object answer) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void discard(Object answer) {
        }

        @Override
        public OptionalInt statusOf(Throwable failure) {
            return failure instanceof RefusedUpgrade refused ? OptionalInt.of(refused.status) : OptionalInt.empty();
        }

        @Override
        public boolean isClientFailure(Throwable failure) {
            return failure instanceof ClientLibraryException;
        }

        @Override
        public RuntimeException notSent(NotSent reason) {
            return new IllegalStateException(reason.message());
        }
    };

    @Test
    void breakerCountsServerErrorsButNotClientErrorsNorThrottling() {
        for (int code : new int[] {500, 502, 503, 504}) {
            assertThat(AttemptOutcome.ofResponse(code, null, RetryPolicy.IDEMPOTENT, CAP).verdict()).isEqualTo(Verdict.FAILURE);
        }
        for (int code : new int[] {200, 201, 400, 401, 403, 404, 409, 410, 422}) {
            assertThat(AttemptOutcome.ofResponse(code, null, RetryPolicy.IDEMPOTENT, CAP).verdict()).isEqualTo(Verdict.SUCCESS);
        }
        assertThat(AttemptOutcome.ofResponse(429, null, RetryPolicy.IDEMPOTENT, CAP).verdict()).isEqualTo(Verdict.IGNORE);
    }

    @Test
    void idempotentRequestsRetryOnServerErrorsThrottlingAndTransportFailures() {
        for (int code : new int[] {429, 500, 502, 503, 504}) {
            assertThat(AttemptOutcome.ofResponse(code, null, RetryPolicy.IDEMPOTENT, CAP).retryable()).isTrue();
        }
        for (int code : new int[] {200, 404, 409, 422, 501}) {
            assertThat(AttemptOutcome.ofResponse(code, null, RetryPolicy.IDEMPOTENT, CAP).retryable()).isFalse();
        }
        assertThat(AttemptOutcome.ofError(new SocketTimeoutException(), RetryPolicy.IDEMPOTENT, TRANSPORT).retryable()).isTrue();
        assertThat(AttemptOutcome.ofError(new IOException("Connection reset"), RetryPolicy.IDEMPOTENT, TRANSPORT).retryable()).isTrue();
    }

    @Test
    void unguardedWritesRetryOnlyWhenTheServerCannotHaveProcessedThem() {
        assertThat(AttemptOutcome.ofResponse(429, "1", RetryPolicy.NOT_PROCESSED_ONLY, CAP).retryable()).isTrue();
        assertThat(AttemptOutcome.ofResponse(500, null, RetryPolicy.NOT_PROCESSED_ONLY, CAP).retryable()).isFalse();
        assertThat(AttemptOutcome.ofResponse(503, "1", RetryPolicy.NOT_PROCESSED_ONLY, CAP).retryable()).isFalse();
        assertThat(AttemptOutcome.ofError(new CompletionException(new IOException(new ConnectException("refused"))),
                RetryPolicy.NOT_PROCESSED_ONLY, TRANSPORT).retryable()).isTrue();
        assertThat(AttemptOutcome.ofError(new UnknownHostException("api"), RetryPolicy.NOT_PROCESSED_ONLY, TRANSPORT).retryable()).isTrue();
        assertThat(AttemptOutcome.ofError(new SocketTimeoutException(), RetryPolicy.NOT_PROCESSED_ONLY, TRANSPORT).retryable()).isFalse();
        assertThat(AttemptOutcome.ofError(new IOException("Connection reset"), RetryPolicy.NOT_PROCESSED_ONLY, TRANSPORT).retryable()).isFalse();
    }

    @Test
    void retryAfterIsReadFrom429And503Only() {
        assertThat(AttemptOutcome.ofResponse(429, "2", RetryPolicy.IDEMPOTENT, CAP).retryAfter()).isEqualTo(Duration.ofSeconds(2));
        assertThat(AttemptOutcome.ofResponse(503, "999999", RetryPolicy.IDEMPOTENT, CAP).retryAfter()).isEqualTo(CAP);
        assertThat(AttemptOutcome.ofResponse(503, "soon", RetryPolicy.IDEMPOTENT, CAP).retryAfter()).isNull();
        assertThat(AttemptOutcome.ofResponse(500, "2", RetryPolicy.IDEMPOTENT, CAP).retryAfter()).isNull();
    }

    @Test
    void classifiesTransportFailures() {
        assertThat(AttemptOutcome.classify(new IOException(new ConnectException()), TRANSPORT)).isEqualTo(Failure.NOT_CONNECTED);
        assertThat(AttemptOutcome.classify(new TimeoutException(), TRANSPORT)).isEqualTo(Failure.TIMEOUT);
        assertThat(AttemptOutcome.classify(new IOException("closed"), TRANSPORT)).isEqualTo(Failure.CONNECTION);
        assertThat(AttemptOutcome.classify(new IOException(new SSLHandshakeException("PKIX")), TRANSPORT)).isEqualTo(Failure.TLS);
        assertThat(AttemptOutcome.classify(new IllegalStateException("Client is closed"), TRANSPORT)).isEqualTo(Failure.OTHER);
        assertThat(AttemptOutcome.classify(new ClientLibraryException("token refresh failed"), TRANSPORT)).isEqualTo(Failure.OTHER);
        assertThat(AttemptOutcome.classify(new IOException(new ClientLibraryException("interceptor failed")), TRANSPORT))
                .as("anywhere in the cause chain").isEqualTo(Failure.OTHER);
        assertThat(AttemptOutcome.ofError(new IOException(new SSLHandshakeException("PKIX")), RetryPolicy.IDEMPOTENT, TRANSPORT).verdict())
                .isEqualTo(Verdict.IGNORE);
    }

    @Test
    void aFailureThatCarriesAStatusCountsAsThatAnswer() {
        AttemptOutcome refused = AttemptOutcome.ofError(new CompletionException(new RefusedUpgrade(503)),
                RetryPolicy.IDEMPOTENT, TRANSPORT);
        assertThat(refused.code()).isEqualTo(503);
        assertThat(refused.verdict()).isEqualTo(Verdict.FAILURE);
        assertThat(refused.retryable()).isTrue();
        assertThat(refused.error()).isInstanceOf(RefusedUpgrade.class);
        assertThat(AttemptOutcome.ofError(new RefusedUpgrade(403), RetryPolicy.IDEMPOTENT, TRANSPORT).verdict())
                .isEqualTo(Verdict.SUCCESS);
    }
}
