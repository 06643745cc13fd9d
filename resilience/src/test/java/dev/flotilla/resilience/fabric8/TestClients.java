package dev.flotilla.resilience.fabric8;

import dev.flotilla.resilience.guard.GuardConfig;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;

/** Configurations shared by the guard's tests. */
final class TestClients {

    private TestClients() {
    }

    /** A fabric8 config for {@code url} that reads nothing from the machine (no kubeconfig, no env). */
    static Config config(String url) {
        return new ConfigBuilder(Config.empty())
                .withMasterUrl(url)
                .withNamespace("test")
                .withRequestTimeout(5_000)
                .withConnectionTimeout(2_000)
                .build();
    }

    /**
     * A guard that neither throttles nor retries and whose breaker needs many calls: each test switches on what
     * it tests.
     */
    static GuardConfig.Builder quiet() {
        return GuardConfig.builder()
                .qps(10_000).burst(10_000)
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(100).minimumCalls(100)
                .retryMaxAttempts(1)
                .retryBaseBackoff(Duration.ofMillis(10)).retryMaxBackoff(Duration.ofMillis(100));
    }
}
