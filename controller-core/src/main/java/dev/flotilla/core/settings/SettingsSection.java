package dev.flotilla.core.settings;

import java.util.Collections;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The keys one component reads from a settings file: all of them under one prefix, which no other
 * component claims. A component declares its section once, next to its defaults, and reads its
 * values through {@link SettingsFile#section}; the program that owns the file passes every
 * section it uses to {@link SettingsFile#requireKnownKeys}, so a mistyped key or prefix is refused
 * instead of silently ignored.
 *
 * <pre>{@code
 * SettingsSection section = SettingsSection.of("cache", "size", "ttl");
 * SettingsFile file = SettingsFile.of("config app.properties", Map.of("cache.size", "10"));
 * file.requireKnownKeys(List.of(section));
 * int size = file.section(section).wholeNumber("cache.size").orElse(100);
 * }</pre>
 *
 * @param prefix the keys' first segment, e.g. {@code resilience} (lower case, digits and dashes)
 * @param keys   every key the component reads, each {@code prefix.something}
 */
public record SettingsSection(String prefix, SortedSet<String> keys) {

    private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9-]*");

    public SettingsSection {
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(keys, "keys");
        if (!PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("settings prefix must be lower case letters, digits and dashes: '" + prefix + "'");
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("settings section '" + prefix + "' has no keys");
        }
        for (String key : keys) {
            if (!key.startsWith(prefix + ".") || key.length() == prefix.length() + 1) {
                throw new IllegalArgumentException("key '" + key + "' is not under '" + prefix + ".'");
            }
        }
        keys = Collections.unmodifiableSortedSet(new TreeSet<>(keys));
    }

    /** The section {@code prefix} with the keys {@code prefix.suffix} for each suffix. */
    public static SettingsSection of(String prefix, String... suffixes) {
        TreeSet<String> keys = new TreeSet<>();
        for (String suffix : suffixes) {
            keys.add(prefix + "." + suffix);
        }
        return new SettingsSection(prefix, keys);
    }

    /** {@code prefix.suffix}, which must be one of this section's keys. */
    public String key(String suffix) {
        String key = prefix + "." + suffix;
        if (!keys.contains(key)) {
            throw new IllegalArgumentException("section '" + prefix + "' has no key '" + key + "'");
        }
        return key;
    }

    /** Whether {@code key} is under this section's prefix (a known key or a mistyped one). */
    public boolean claims(String key) {
        return key.startsWith(prefix + ".");
    }
}
