package dev.flotilla.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.resilience.AttemptOutcome.Failure;
import dev.flotilla.resilience.AttemptOutcome.Verdict;
import dev.flotilla.resilience.RequestKind.RetryPolicy;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class AttemptOutcomeTest {

    private static final Duration CAP = Duration.ofSeconds(10);

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
        assertThat(AttemptOutcome.ofError(new SocketTimeoutException(), RetryPolicy.IDEMPOTENT).retryable()).isTrue();
        assertThat(AttemptOutcome.ofError(new IOException("Connection reset"), RetryPolicy.IDEMPOTENT).retryable()).isTrue();
    }

    @Test
    void unguardedWritesRetryOnlyWhenTheServerCannotHaveProcessedThem() {
        assertThat(AttemptOutcome.ofResponse(429, "1", RetryPolicy.NOT_PROCESSED_ONLY, CAP).retryable()).isTrue();
        assertThat(AttemptOutcome.ofResponse(500, null, RetryPolicy.NOT_PROCESSED_ONLY, CAP).retryable()).isFalse();
        assertThat(AttemptOutcome.ofResponse(503, "1", RetryPolicy.NOT_PROCESSED_ONLY, CAP).retryable()).isFalse();
        assertThat(AttemptOutcome.ofError(new CompletionException(new IOException(new ConnectException("refused"))),
                RetryPolicy.NOT_PROCESSED_ONLY).retryable()).isTrue();
        assertThat(AttemptOutcome.ofError(new UnknownHostException("api"), RetryPolicy.NOT_PROCESSED_ONLY).retryable()).isTrue();
        assertThat(AttemptOutcome.ofError(new SocketTimeoutException(), RetryPolicy.NOT_PROCESSED_ONLY).retryable()).isFalse();
        assertThat(AttemptOutcome.ofError(new IOException("Connection reset"), RetryPolicy.NOT_PROCESSED_ONLY).retryable()).isFalse();
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
        assertThat(AttemptOutcome.classify(new IOException(new ConnectException()))).isEqualTo(Failure.NOT_CONNECTED);
        assertThat(AttemptOutcome.classify(new TimeoutException())).isEqualTo(Failure.TIMEOUT);
        assertThat(AttemptOutcome.classify(new IOException("closed"))).isEqualTo(Failure.CONNECTION);
        assertThat(AttemptOutcome.classify(new IOException(new SSLHandshakeException("PKIX")))).isEqualTo(Failure.TLS);
        assertThat(AttemptOutcome.classify(new IllegalStateException("Client is closed"))).isEqualTo(Failure.OTHER);
        assertThat(AttemptOutcome.classify(new KubernetesClientException("token refresh failed"))).isEqualTo(Failure.OTHER);
        assertThat(AttemptOutcome.ofError(new IOException(new SSLHandshakeException("PKIX")), RetryPolicy.IDEMPOTENT).verdict())
                .isEqualTo(Verdict.IGNORE);
    }
}
