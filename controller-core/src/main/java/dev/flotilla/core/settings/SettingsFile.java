package dev.flotilla.core.settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The values of one settings file ({@code key=value} lines, Java properties syntax), read by the
 * components that declared a {@link SettingsSection}. Every problem names the file and the key.
 *
 * <pre>{@code
 * SettingsSection cache = SettingsSection.of("cache", "size", "ttl");
 * SettingsFile file = SettingsFile.of("config app.properties", Map.of("cache.ttl", "30s"));
 * file.requireKnownKeys(List.of(cache));
 * Duration ttl = file.section(cache).duration("cache.ttl").orElse(Duration.ofMinutes(1));
 * }</pre>
 */
public final class SettingsFile {

    private final String origin;
    private final TreeMap<String, String> values;

    private SettingsFile(String origin, Map<String, String> values) {
        this.origin = Objects.requireNonNull(origin, "origin");
        this.values = new TreeMap<>();
        values.forEach((k, v) -> this.values.put(Objects.requireNonNull(k, "key"), v == null ? "" : v.strip()));
    }

    /**
     * Values from memory.
     *
     * @param origin how messages name the source, e.g. {@code config /etc/flotilla.properties}
     */
    public static SettingsFile of(String origin, Map<String, String> values) {
        return new SettingsFile(origin, Objects.requireNonNull(values, "values"));
    }

    /** No file: every read is empty, every key check passes. */
    public static SettingsFile empty() {
        return new SettingsFile("no settings file", Map.of());
    }

    /** Reads {@code file}; a missing or unreadable file is an {@link InvalidSettingsException} naming it. */
    public static SettingsFile read(Path file) {
        Objects.requireNonNull(file, "file");
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(file)) {
            p.load(in);
        } catch (IOException | IllegalArgumentException e) {
            throw new InvalidSettingsException("config " + file + ": cannot read: " + e.getMessage());
        }
        Map<String, String> values = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> values.put(k, p.getProperty(k)));
        return new SettingsFile("config " + file, values);
    }

    /** How messages name this file, e.g. {@code config /etc/flotilla.properties}. */
    public String origin() {
        return origin;
    }

    /** Every key and value, keys sorted, values stripped. */
    public Map<String, String> values() {
        return java.util.Collections.unmodifiableSortedMap(values);
    }

    /** A copy with {@code key} set to {@code value} (flags that override the file). */
    public SettingsFile with(String key, String value) {
        Map<String, String> copy = new TreeMap<>(values);
        copy.put(key, value);
        return new SettingsFile(origin, copy);
    }

    /**
     * Refuses every key that none of {@code sections} defines, in one exception listing each: a
     * key under a prefix no section claims ({@code resiliance.qps}), and a key a section's prefix
     * claims but the section does not define ({@code resilience.qsp}).
     */
    public void requireKnownKeys(Collection<SettingsSection> sections) {
        List<String> problems = new ArrayList<>();
        String prefixes = sections.stream().map(s -> s.prefix() + ".").sorted().collect(Collectors.joining(", "));
        for (String key : values.keySet()) {
            Optional<SettingsSection> owner = sections.stream().filter(s -> s.claims(key)).findFirst();
            if (owner.isEmpty()) {
                int dot = key.indexOf('.');
                String prefix = dot < 0 ? key : key.substring(0, dot + 1);
                problems.add(origin + ": " + key + ": unknown key: no component reads keys under '" + prefix + "' (known prefixes: "
                        + prefixes + ")");
            } else if (!owner.get().keys().contains(key)) {
                problems.add(origin + ": " + key + ": unknown key (" + owner.get().prefix() + ".* keys: "
                        + String.join(", ", owner.get().keys()) + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidSettingsException(problems);
        }
    }

    /** Typed reads of {@code section}'s keys. */
    public Section section(SettingsSection section) {
        return new Section(Objects.requireNonNull(section, "section"));
    }

    /** One component's keys of this file; every read names the file and key when the value is unusable. */
    public final class Section {

        private final SettingsSection section;

        private Section(SettingsSection section) {
            this.section = section;
        }

        /** The file's name for messages about combinations of keys, e.g. {@code config f: a (3) must not exceed b (2)}. */
        public String origin() {
            return origin;
        }

        /** Whether the file sets any key of this section. */
        public boolean isEmpty() {
            return values.keySet().stream().noneMatch(section.keys()::contains);
        }

        public Optional<String> text(String key) {
            return read(key, Function.identity());
        }

        public Optional<Integer> wholeNumber(String key) {
            return read(key, v -> {
                try {
                    return Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(v.matches("[+-]?\\d+") ? "out of range" : "not a whole number");
                }
            });
        }

        public Optional<Double> number(String key) {
            return read(key, v -> {
                try {
                    double d = Double.parseDouble(v);
                    if (Double.isNaN(d) || Double.isInfinite(d)) {
                        throw new NumberFormatException();
                    }
                    return d;
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("not a number");
                }
            });
        }

        /** A duration as {@link Durations#parse} reads it ({@code 30s}, {@code 500ms}, {@code PT5S}). */
        public Optional<Duration> duration(String key) {
            return read(key, Durations::parse);
        }

        /** {@code true} or {@code false}, any case. */
        public Optional<Boolean> flag(String key) {
            return read(key, v -> switch (v.toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalArgumentException("expected true or false");
            });
        }

        /** One of {@code choices}' keys (any case), mapped to its value. */
        public <E> Optional<E> oneOf(String key, Map<String, E> choices) {
            return read(key, v -> {
                E e = choices.get(v.toLowerCase(Locale.ROOT));
                if (e == null) {
                    throw new IllegalArgumentException("expected one of " + String.join(", ", new TreeMap<>(choices).keySet()));
                }
                return e;
            });
        }

        /**
         * The value of {@code key} parsed by {@code parse}; an {@link IllegalArgumentException} from
         * it becomes an {@link InvalidSettingsException} {@code <origin>: key=value: message}.
         */
        public <T> Optional<T> read(String key, Function<String, T> parse) {
            if (!section.keys().contains(key)) {
                throw new IllegalArgumentException("section '" + section.prefix() + "' does not define '" + key + "'");
            }
            String raw = values.get(key);
            if (raw == null) {
                return Optional.empty();
            }
            try {
                return Optional.of(parse.apply(raw));
            } catch (IllegalArgumentException e) {
                throw new InvalidSettingsException(origin + ": " + key + "=" + raw + ": " + e.getMessage());
            }
        }
    }
}
