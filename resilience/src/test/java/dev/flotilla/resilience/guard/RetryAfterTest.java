package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RetryAfterTest {

    private static final Instant NOW = Instant.parse("2026-05-01T12:00:00Z");

    private static String httpDate(Instant instant) {
        return DateTimeFormatter.RFC_1123_DATE_TIME.format(instant.atOffset(ZoneOffset.UTC));
    }

    @Test
    void readsDelaySeconds() {
        assertThat(RetryAfter.parse("0", NOW)).contains(Duration.ZERO);
        assertThat(RetryAfter.parse("1", NOW)).contains(Duration.ofSeconds(1));
        assertThat(RetryAfter.parse(" 120 ", NOW)).contains(Duration.ofSeconds(120));
    }

    @Test
    void readsHttpDates() {
        assertThat(RetryAfter.parse(httpDate(NOW.plusSeconds(30)), NOW)).contains(Duration.ofSeconds(30));
        assertThat(RetryAfter.parse("Fri, 01 May 2026 12:00:05 GMT", NOW)).contains(Duration.ofSeconds(5));
        // In the past: retry now.
        assertThat(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", NOW)).contains(Duration.ZERO);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "-5", "+3", "1.5", "soon", "5s", "0x10", "Fri, 32 May 2026 12:00:05 GMT",
            "tomorrow at noon"})
    void ignoresWhatIsNotAValidHeader(String header) {
        assertThat(RetryAfter.parse(header, NOW)).isEmpty();
    }

    @Test
    void missingHeaderIsEmpty() {
        assertThat(RetryAfter.parse(null, NOW)).isEmpty();
    }

    @Test
    void keepsAbsurdValuesBoundedAndCapsThem() {
        assertThat(RetryAfter.parse("999999", NOW)).contains(Duration.ofSeconds(999999));
        assertThat(RetryAfter.parse("99999999999999999999999", NOW)).contains(RetryAfter.ABSURD);
        assertThat(RetryAfter.parse("9223372036854775807", NOW)).contains(RetryAfter.ABSURD);
        assertThat(RetryAfter.parse("Fri, 01 Jan 2100 00:00:00 GMT", NOW)).contains(RetryAfter.ABSURD);
        Duration cap = Duration.ofSeconds(10);
        assertThat(RetryAfter.parse("999999", NOW, cap)).contains(cap);
        assertThat(RetryAfter.parse("Fri, 01 Jan 2100 00:00:00 GMT", NOW, cap)).contains(cap);
        assertThat(RetryAfter.parse("3", NOW, cap)).contains(Duration.ofSeconds(3));
        assertThat(RetryAfter.parse("soon", NOW, cap)).isEmpty();
    }
}
