package dev.flotilla.bench.protocol;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One line a contender prints on stdout for the driver: {@code @bench <event> key=value ...}. Values
 * never contain spaces. Everything else a contender prints (its logs go to stderr anyway) is ignored.
 *
 * <pre>{@code
 * String line = new Message("ready", Map.of("at", "1764187200000")).line();
 * System.out.println(line);
 * Message.parse(line).ifPresent(m -> m.longField("at"));
 * }</pre>
 */
public record Message(String event, Map<String, String> fields) {

    public static final String PREFIX = "@bench ";

    public Message {
        requireToken("event", event);
        fields = Map.copyOf(new LinkedHashMap<>(Objects.requireNonNull(fields, "fields")));
        fields.forEach((k, v) -> {
            requireToken("key", k);
            if (k.indexOf('=') >= 0) {
                throw new IllegalArgumentException("key must not contain '=', got '" + k + "'");
            }
            requireToken("value of " + k, v);
        });
    }

    private static void requireToken(String what, String s) {
        Objects.requireNonNull(s, what);
        if (s.isEmpty() || s.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException(what + " must be a non-empty token without spaces, got '" + s + "'");
        }
    }

    public String line() {
        StringBuilder b = new StringBuilder(PREFIX).append(event);
        fields.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> b.append(' ').append(e.getKey()).append('=').append(e.getValue()));
        return b.toString();
    }

    /** The message on {@code line}, or empty when the line is not a protocol line. */
    public static Optional<Message> parse(String line) {
        if (line == null || !line.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String[] parts = line.substring(PREFIX.length()).trim().split("\\s+");
        Map<String, String> fields = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq <= 0 || eq == parts[i].length() - 1) {
                throw new IllegalArgumentException("malformed field '" + parts[i] + "' in protocol line: " + line);
            }
            fields.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        return Optional.of(new Message(parts[0], fields));
    }

    public String field(String key) {
        String v = fields.get(key);
        if (v == null) {
            throw new IllegalArgumentException("protocol message '" + event + "' has no field '" + key + "': " + line());
        }
        return v;
    }

    public long longField(String key) {
        return Long.parseLong(field(key));
    }

    public double doubleField(String key) {
        return Double.parseDouble(field(key));
    }
}
