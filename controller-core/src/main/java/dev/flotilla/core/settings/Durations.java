package dev.flotilla.core.settings;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses durations the way operators write them: Go/kubectl style ({@code 30s}, {@code 500ms},
 * {@code 2m}, {@code 1h30m}) or ISO-8601 ({@code PT30S}). Only positive durations are accepted.
 */
public final class Durations {

    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h)");
    private static final Pattern WHOLE = Pattern.compile("(\\d+(ms|s|m|h))+");
    static final String EXPECTED = "use e.g. 30s, 500ms, 2m, 1h30m or ISO-8601 like PT30S";

    private Durations() {
    }

    /**
     * Parses {@code text}.
     *
     * @throws IllegalArgumentException with a message that says what is wrong and what is expected
     */
    public static Duration parse(String text) {
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
            if (!WHOLE.matcher(lower).matches()) {
                throw new IllegalArgumentException("'" + text + "' is not a duration (" + EXPECTED + ")");
            }
            d = Duration.ZERO;
            Matcher m = PART.matcher(lower);
            try {
                while (m.find()) {
                    long n = Long.parseLong(m.group(1));
                    d = d.plus(switch (m.group(2)) {
                        case "ms" -> Duration.ofMillis(n);
                        case "s" -> Duration.ofSeconds(n);
                        case "m" -> Duration.ofMinutes(n);
                        default -> Duration.ofHours(n);
                    });
                }
            } catch (NumberFormatException | ArithmeticException e) {
                throw new IllegalArgumentException("'" + text + "' is too long a duration");
            }
        }
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("'" + text + "' must be a positive duration");
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
