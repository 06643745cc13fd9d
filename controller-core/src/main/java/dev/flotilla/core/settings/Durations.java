package dev.flotilla.core.settings;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way Flotilla reads durations from flags and settings files: Go's {@code time.ParseDuration}
 * syntax, as operators write it for kubectl and controller-runtime ({@code 30s}, {@code 500ms},
 * {@code 1.5s}, {@code 1h30m}; units ns, us, ms, s, m, h), or ISO-8601 ({@code PT30S}).
 *
 * <pre>{@code
 * Duration lease = Durations.parse("15s");            // positive: a period, a timeout
 * Duration wait = Durations.parseNonNegative("0s");   // zero allowed: "do not wait"
 * }</pre>
 */
public final class Durations {

    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|ms|s|m|h)");
    private static final Pattern WHOLE = Pattern.compile("(\\d+(\\.\\d+)?(ns|us|ms|s|m|h))+");
    static final String EXPECTED = "use e.g. 30s, 500ms, 1.5s, 2m, 1h30m or ISO-8601 like PT30S";

    private Durations() {
    }

    /**
     * Parses a positive duration.
     *
     * @throws IllegalArgumentException with a message that says what is wrong and what is expected
     */
    public static Duration parse(String text) {
        Duration d = parseNonNegative(text);
        if (d.isZero()) {
            throw new IllegalArgumentException("'" + text.strip() + "' must be a positive duration");
        }
        return d;
    }

    /**
     * Parses a duration that may be zero.
     *
     * @throws IllegalArgumentException with a message that says what is wrong and what is expected
     */
    public static Duration parseNonNegative(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty duration (" + EXPECTED + ")");
        }
        String s = text.strip();
        Duration d;
        if (s.startsWith("P") || s.startsWith("p") || s.startsWith("-P") || s.startsWith("-p")) {
            try {
                d = Duration.parse(s.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("'" + text + "' is not a duration (" + EXPECTED + ")");
            }
        } else {
            String lower = s.toLowerCase(Locale.ROOT);
            if (lower.startsWith("-") && WHOLE.matcher(lower.substring(1)).matches()) {
                throw new IllegalArgumentException("'" + text + "' must not be negative");
            }
            if (!WHOLE.matcher(lower).matches()) {
                throw new IllegalArgumentException("'" + text + "' is not a duration (" + EXPECTED + ")");
            }
            BigDecimal nanos = BigDecimal.ZERO;
            Matcher m = PART.matcher(lower);
            while (m.find()) {
                nanos = nanos.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(switch (m.group(2)) {
                    case "ns" -> 1L;
                    case "us" -> 1_000L;
                    case "ms" -> 1_000_000L;
                    case "s" -> 1_000_000_000L;
                    case "m" -> 60_000_000_000L;
                    default -> 3_600_000_000_000L;
                })));
            }
            if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
                throw new IllegalArgumentException("'" + text + "' is too long a duration");
            }
            d = Duration.ofNanos(nanos.setScale(0, RoundingMode.HALF_UP).longValueExact());
        }
        if (d.isNegative()) {
            throw new IllegalArgumentException("'" + text + "' must not be negative");
        }
        return d;
    }

    /** Go-style rendering for messages: {@code 30s}, {@code 1m30s}, {@code 250ms}. */
    public static String format(Duration d) {
        if (d.toMillis() < 1000) {
            return d.toMillis() + "ms";
        }
        StringBuilder b = new StringBuilder();
        long h = d.toHours();
        int m = d.toMinutesPart();
        int sec = d.toSecondsPart();
        int ms = d.toMillisPart();
        if (h > 0) {
            b.append(h).append('h');
        }
        if (m > 0) {
            b.append(m).append('m');
        }
        if (sec > 0 || ms > 0) {
            b.append(sec);
            if (ms > 0) {
                b.append('.').append(String.format(Locale.ROOT, "%03d", ms).replaceAll("0+$", ""));
            }
            b.append('s');
        }
        return b.toString();
    }
}
