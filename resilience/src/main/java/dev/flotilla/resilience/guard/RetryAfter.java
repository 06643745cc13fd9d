package dev.flotilla.resilience.guard;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * Reads an HTTP {@code Retry-After} header (RFC 9110 10.2.3): either delay-seconds (a non-negative whole
 * number) or an HTTP-date. Anything else (negative, fractional, words, a malformed date) is ignored, and the
 * caller falls back to its own backoff. A date in the past means "now".
 *
 * <pre>{@code
 * RetryAfter.parse("120", Instant.now());                          // Optional[PT2M]
 * RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", Instant.now()); // Optional[PT0S] (in the past)
 * RetryAfter.parse("soon", Instant.now());                         // Optional.empty
 * }</pre>
 */
public final class RetryAfter {

    /** Larger values are absurd anyway; this keeps the arithmetic away from overflow. */
    static final Duration ABSURD = Duration.ofDays(365);

    private RetryAfter() {
    }

    /** The delay the header asks for, or empty when there is no usable header. Never negative; at most a year. */
    public static Optional<Duration> parse(String header, Instant now) {
        if (header == null) {
            return Optional.empty();
        }
        String value = header.trim();
        if (value.isEmpty()) {
            return Optional.empty();
        }
        if (isDigits(value)) {
            // Up to 18 digits fit in a long; more is certainly absurd.
            if (value.length() > 18) {
                return Optional.of(ABSURD);
            }
            long seconds = Long.parseLong(value);
            return Optional.of(seconds > ABSURD.getSeconds() ? ABSURD : Duration.ofSeconds(seconds));
        }
        if (!Character.isLetter(value.charAt(0))) {
            return Optional.empty(); // "-5", "+3", "1.5", ...
        }
        try {
            Instant when = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            Duration delay = Duration.between(now, when);
            if (delay.isNegative()) {
                return Optional.of(Duration.ZERO);
            }
            return Optional.of(delay.compareTo(ABSURD) > 0 ? ABSURD : delay);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** {@link #parse} capped at {@code max}. */
    public static Optional<Duration> parse(String header, Instant now, Duration max) {
        return parse(header, now).map(d -> d.compareTo(max) > 0 ? max : d);
    }

    private static boolean isDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }
}
