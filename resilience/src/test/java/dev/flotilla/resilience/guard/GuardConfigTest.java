package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.settings.InvalidSettingsException;
import dev.flotilla.core.settings.SettingsFile;
import dev.flotilla.resilience.guard.GuardConfig.CircuitBreakerSettings;
import dev.flotilla.resilience.guard.GuardConfig.InvalidGuardConfigException;
import dev.flotilla.resilience.guard.GuardConfig.RateLimits;
import dev.flotilla.resilience.guard.GuardConfig.RetrySettings;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuardConfigTest {

    private static GuardConfig fromFile(Map<String, String> values) {
        return GuardConfig.from(SettingsFile.of("config f.properties", values));
    }

    @Test
    void defaultsAreValidAndDefinedByTheConstants() {
        GuardConfig c = GuardConfig.defaults();
        assertThat(c.rateLimits().qps()).isEqualTo(GuardConfig.DEFAULT_QPS).isEqualTo(20);
        assertThat(c.rateLimits().burst()).isEqualTo(GuardConfig.DEFAULT_BURST).isEqualTo(30);
        assertThat(c.rateLimits().leaseQps()).isEqualTo(GuardConfig.DEFAULT_LEASE_QPS);
        assertThat(c.rateLimits().maxPermitWait()).isEqualTo(GuardConfig.DEFAULT_MAX_PERMIT_WAIT);
        assertThat(c.breaker().slidingWindowType()).isEqualTo(SlidingWindowType.TIME_BASED);
        assertThat(c.breaker().waitInOpenState()).isEqualTo(GuardConfig.DEFAULT_WAIT_IN_OPEN_STATE);
        assertThat(c.retry().maxAttempts()).isEqualTo(GuardConfig.DEFAULT_RETRY_MAX_ATTEMPTS);
        assertThat(c.retry().maxRetryAfter()).isEqualTo(GuardConfig.DEFAULT_MAX_RETRY_AFTER);
        assertThat(SettingsFile.empty().section(GuardConfig.SETTINGS).isEmpty()).isTrue();
        assertThat(GuardConfig.from(SettingsFile.empty())).isEqualTo(c);
    }

    @Test
    void theSettingsSectionIsEveryKeyTheGuardReadsUnderResilience() {
        assertThat(GuardConfig.SETTINGS.prefix()).isEqualTo("resilience");
        assertThat(GuardConfig.SETTINGS.keys()).containsExactlyInAnyOrderElementsOf(GuardConfig.defaults().toMap().keySet())
                .hasSize(17);
    }

    @Test
    void theJavadocExampleWorks() {
        GuardConfig guard = GuardConfig.builder().qps(50).burst(100).build();
        GuardConfig fromFile = GuardConfig.from(SettingsFile.of("config flotilla.properties",
                Map.of("resilience.qps", "50", "resilience.retry.max-attempts", "2")));
        double qps = fromFile.rateLimits().qps();
        int attempts = fromFile.retry().maxAttempts();
        Duration open = fromFile.breaker().waitInOpenState();
        assertThat(guard.rateLimits().burst()).isEqualTo(100);
        assertThat(qps).isEqualTo(50);
        assertThat(attempts).isEqualTo(2);
        assertThat(open).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void roundTripsThroughItsMapAndItsBuilder() {
        GuardConfig custom = GuardConfig.builder().qps(7.5).burst(12).waitInOpenState(Duration.ofMillis(1500))
                .slidingWindowType(SlidingWindowType.COUNT_BASED).slidingWindowSize(20).minimumCalls(20)
                .retryBaseBackoff(Duration.ofNanos(1500)).maxPermitWait(Duration.ZERO).build();
        Map<String, String> map = custom.toMap();
        assertThat(map).containsEntry("resilience.qps", "7.5").containsEntry("resilience.breaker.wait-in-open-state",
                "1500ms").containsEntry("resilience.breaker.sliding-window-type", "count")
                .containsEntry("resilience.max-permit-wait", "0s");
        assertThat(fromFile(map)).isEqualTo(custom);
        assertThat(custom.toBuilder().build()).isEqualTo(custom);
        assertThat(GuardConfig.builder().rateLimits(custom.rateLimits()).breaker(custom.breaker()).retry(custom.retry()).build())
                .isEqualTo(custom);
    }

    @Test
    void readsDurationsInEveryAcceptedForm() {
        assertThat(dev.flotilla.core.settings.Durations.parseNonNegative("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(dev.flotilla.core.settings.Durations.parseNonNegative("5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(dev.flotilla.core.settings.Durations.parseNonNegative("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(dev.flotilla.core.settings.Durations.parseNonNegative("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(dev.flotilla.core.settings.Durations.parseNonNegative("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(dev.flotilla.core.settings.Durations.parseNonNegative("PT5S")).isEqualTo(Duration.ofSeconds(5));
        assertThat(dev.flotilla.core.settings.Durations.parseNonNegative("pt0.25s")).isEqualTo(Duration.ofMillis(250));
    }

    @Test
    void readsItsOwnKeysOfASettingsFileAndLeavesTheOthersToTheirComponents(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("flotilla.properties");
        Files.writeString(file, "resilience.qps = 50 \nresilience.burst=100\nresilience.breaker.sliding-window-type=Count_Based\n"
                + "resilience.breaker.sliding-window-size=10\nmanager.workers=4\n");
        GuardConfig c = GuardConfig.from(SettingsFile.read(file));
        assertThat(c.rateLimits().qps()).isEqualTo(50);
        assertThat(c.rateLimits().burst()).isEqualTo(100);
        assertThat(c.breaker().slidingWindowType()).isEqualTo(SlidingWindowType.COUNT_BASED);
        assertThat(c.rateLimits().leaseBurst()).isEqualTo(GuardConfig.DEFAULT_LEASE_BURST);
    }

    @Test
    void aMistypedKeyIsRefusedByTheProgramsKeyCheckNotByTheGuard() {
        SettingsFile file = SettingsFile.of("config f.properties", Map.of("resilience.qsp", "5", "resilience.qps", "5"));
        // The guard reads only its keys; whether a file may hold other keys is for the program that owns it.
        assertThat(GuardConfig.from(file).rateLimits().qps()).isEqualTo(5);
        assertThatThrownBy(() -> file.requireKnownKeys(List.of(GuardConfig.SETTINGS)))
                .isInstanceOf(InvalidSettingsException.class)
                .hasMessageStartingWith("config f.properties: resilience.qsp: unknown key (resilience.* keys: ")
                .hasMessageContaining("resilience.qps");
    }

    @Test
    void aValueThatDoesNotParseNamesTheFileAndTheKey(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("flotilla.properties");
        Files.writeString(file, "resilience.qps=abc\n");
        assertThatThrownBy(() -> GuardConfig.from(SettingsFile.read(file)))
                .isInstanceOf(InvalidSettingsException.class)
                .hasMessage("config " + file + ": resilience.qps=abc: not a number");
    }

    @Test
    void listsEveryBadSettingOfAFileWithItsKeyAndValue() {
        Map<String, String> bad = new HashMap<>();
        bad.put("resilience.qps", "abc");
        bad.put("resilience.burst", "1.5");
        bad.put("resilience.retry.max-backoff", "soon");
        bad.put("resilience.breaker.sliding-window-type", "sometimes");
        assertThatThrownBy(() -> fromFile(bad))
                .isInstanceOf(InvalidSettingsException.class)
                .satisfies(e -> assertThat(((InvalidSettingsException) e).problems()).containsExactlyInAnyOrder(
                        "config f.properties: resilience.qps=abc: not a number",
                        "config f.properties: resilience.burst=1.5: not a whole number",
                        "config f.properties: resilience.retry.max-backoff=soon: 'soon' is not a duration (use e.g. 30s,"
                                + " 500ms, 1.5s, 2m, 1h30m or ISO-8601 like PT30S)",
                        "config f.properties: resilience.breaker.sliding-window-type=sometimes: not a sliding window type"
                                + " (expected count or time)"));
    }

    @Test
    void anOutOfRangeValueOrAnInvalidCombinationInAFileNamesTheFileAndEveryKey() {
        assertThatThrownBy(() -> fromFile(Map.of("resilience.qps", "0")))
                .isInstanceOf(InvalidSettingsException.class)
                .hasMessage("config f.properties: resilience.qps must be a positive number of requests per second up to"
                        + " 100000, got 0.0");
        assertThatThrownBy(() -> fromFile(Map.of("resilience.retry.base-backoff", "-5s")))
                .hasMessage("config f.properties: resilience.retry.base-backoff=-5s: '-5s' must not be negative");
        assertThatThrownBy(() -> fromFile(Map.of("resilience.burst", "99999999999")))
                .hasMessage("config f.properties: resilience.burst=99999999999: out of range");
        assertThatThrownBy(() -> fromFile(Map.of("resilience.retry.base-backoff", "2s", "resilience.retry.max-backoff", "1s",
                "resilience.breaker.sliding-window-type", "count", "resilience.breaker.sliding-window-size", "5",
                "resilience.breaker.minimum-calls", "10")))
                .isInstanceOf(InvalidSettingsException.class)
                .satisfies(e -> assertThat(((InvalidSettingsException) e).problems()).containsExactly(
                        "config f.properties: resilience.breaker.minimum-calls (10) must not exceed"
                                + " resilience.breaker.sliding-window-size (5) for a count-based window: the breaker could"
                                + " never evaluate",
                        "config f.properties: resilience.retry.max-backoff (1s) must not be less than"
                                + " resilience.retry.base-backoff (2s)"));
    }

    @Test
    void theBuilderRejectsOutOfRangeValuesWithThePreciseRuleNamingTheKey() {
        assertThatThrownBy(() -> GuardConfig.builder().burst(0).failureRateThreshold(150).build())
                .isInstanceOf(InvalidGuardConfigException.class)
                .hasMessageStartingWith("invalid API guard configuration: ")
                .satisfies(e -> assertThat(((InvalidGuardConfigException) e).problems()).containsExactly(
                        "resilience.burst must be between 1 and 1000000, got 0",
                        "resilience.breaker.failure-rate-threshold must be a percentage in (0, 100], got 150.0"));
        assertThatThrownBy(() -> GuardConfig.builder().retryBaseBackoff(Duration.ofSeconds(2))
                .retryMaxBackoff(Duration.ofSeconds(1)).build())
                .hasMessageContaining("resilience.retry.max-backoff (1s) must not be less than"
                        + " resilience.retry.base-backoff (2s)");
        assertThatThrownBy(() -> GuardConfig.builder().slidingWindowType(SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(5).minimumCalls(10).build())
                .hasMessageContaining("resilience.breaker.minimum-calls (10) must not exceed"
                        + " resilience.breaker.sliding-window-size (5) for a count-based window");
        assertThatThrownBy(() -> GuardConfig.builder().retryMaxAttempts(0).build())
                .hasMessageContaining("resilience.retry.max-attempts must be between 1 and 100, got 0");
        assertThatThrownBy(() -> GuardConfig.builder().maxRetryAfter(Duration.ZERO).build())
                .hasMessageContaining("resilience.retry.max-retry-after must be positive and at most 1h, got 0s");
        assertThatThrownBy(() -> GuardConfig.builder().maxPermitWait(null).build())
                .isInstanceOf(NullPointerException.class).hasMessage("resilience.max-permit-wait");
    }

    @Test
    void eachPatternsRecordValidatesItsOwnFields() {
        assertThatThrownBy(() -> new RateLimits(0, 30, 40, 80, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("invalid API guard configuration: resilience.qps must be a positive number of requests per"
                        + " second up to 100000, got 0.0");
        assertThatThrownBy(() -> new CircuitBreakerSettings(50, SlidingWindowType.TIME_BASED, 10, 10,
                Duration.ofNanos(10), 3, Duration.ofSeconds(5), 100))
                .hasMessage("invalid API guard configuration: resilience.breaker.wait-in-open-state must be at least 1ms,"
                        + " got PT0.00000001S");
        assertThatThrownBy(() -> new RetrySettings(101, Duration.ofMillis(100), Duration.ofSeconds(5), Duration.ofSeconds(10)))
                .hasMessage("invalid API guard configuration: resilience.retry.max-attempts must be between 1 and 100, got 101");
        GuardConfig defaults = GuardConfig.defaults();
        assertThatThrownBy(() -> new GuardConfig(defaults.rateLimits(), null, defaults.retry()))
                .isInstanceOf(NullPointerException.class).hasMessage("breaker");
    }

    @Test
    void zeroPermitWaitMeansNeverWait() {
        assertThat(GuardConfig.builder().maxPermitWait(Duration.ZERO).build().rateLimits().maxPermitWait()).isZero();
        assertThat(fromFile(Map.of("resilience.max-permit-wait", "0s")).rateLimits().maxPermitWait()).isZero();
    }

    /**
     * The README's table of defaults is documentation of {@link GuardConfig#defaults()}, which stays the one
     * source: read as a settings file, the table gives exactly the defaults, and it has a row for every key.
     */
    @Test
    void theReadmesDefaultsTableIsTheDefaults() throws Exception {
        Path readme = dev.flotilla.testing.docs.MarkdownBlocks.repositoryFile("resilience/README.md");
        Map<String, String> table = new HashMap<>();
        boolean inTable = false;
        for (String line : Files.readAllLines(readme)) {
            if (line.startsWith("| key | default |")) {
                inTable = true;
            } else if (inTable && line.startsWith("| `")) {
                String[] cells = line.split("\\|");
                table.put("resilience." + cells[1].strip().replace("`", ""), cells[2].strip());
            } else if (inTable && !line.startsWith("|")) {
                break;
            }
        }
        assertThat(table.keySet()).as("a row per key").containsExactlyInAnyOrderElementsOf(GuardConfig.SETTINGS.keys());
        assertThat(GuardConfig.from(SettingsFile.of("resilience/README.md", table))).isEqualTo(GuardConfig.defaults());
    }
}
