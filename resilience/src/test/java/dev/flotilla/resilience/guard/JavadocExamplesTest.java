package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The guard's Javadoc examples, compiled and run (GuardConfig's is in GuardConfigTest, the guard's in RequestGuardTest). */
class JavadocExamplesTest {

    @Test
    void outgoingRequestAndClassifier() {
        OutgoingRequest put = OutgoingRequest.of("PUT", URI.create("https://api:6443/api/v1/namespaces/shop/configmaps/a"),
                "application/json", "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\"}}");
        RequestClassifier.Classification c = RequestClassifier.classify(put);
        assertThat(c.kind()).isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(c.reason()).isEqualTo("update with metadata.resourceVersion");
    }

    @Test
    void notSent() {
        NotSent why = new NotSent.BreakerOpen("api:6443", Duration.ofSeconds(4), "OPEN");
        assertThat(why.message())
                .isEqualTo("API server api:6443 is unavailable: circuit breaker OPEN, request not sent; next probe in 4s");
    }
}
