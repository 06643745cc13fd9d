package dev.flotilla.bench.protocol;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A contender's command line: {@code key=value} pairs. The driver passes the workload's contract
 * (selectors, annotation keys, field manager) on the command line, so the Java Operator SDK
 * contender, which cannot link Flotilla's classes, uses exactly the strings Flotilla's mirror
 * controller defines.
 *
 * <pre>{@code
 * String[] argv; // main's arguments
 * ContenderArgs args = ContenderArgs.parse(argv);
 * int workers = args.intValue(ContenderArgs.WORKERS);
 * }</pre>
 */
public record ContenderArgs(Map<String, String> values) {

    public static final String KUBECONFIG = "kubeconfig";
    public static final String WORKERS = "workers";
    public static final String SOURCE_SELECTOR = "sourceSelector";
    public static final String MIRROR_SELECTOR = "mirrorSelector";
    public static final String ROLE_LABEL = "roleLabel";
    public static final String ROLE_VALUE = "roleValue";
    public static final String MIRROR_SUFFIX = "mirrorSuffix";
    public static final String OBSERVED_ANNOTATION = "observedAnnotation";
    public static final String FIELD_MANAGER = "fieldManager";
    /** Flotilla only: a replica of a sharding group when present. */
    public static final String IDENTITY = "identity";
    public static final String LEASE_NAMESPACE = "leaseNamespace";
    public static final String GROUP = "group";
    /** The ceiling only: its writer threads (default: a multiple of {@link #WORKERS}). */
    public static final String WRITERS = "writers";
    /** Flotilla only: record the Events {@code flotilla run} records ("true"). */
    public static final String EVENTS = "events";
    /** Java Operator SDK only: cache objects without managedFields, through an item store that drops them ("true"). */
    public static final String STRIP_MANAGED_FIELDS = "stripManagedFields";
    /** The ceiling's HTTP client: "jdk" (its default, HTTP/2) or "vertx" (the controllers' library), to compare the two. */
    public static final String HTTP_CLIENT = "httpClient";

    public ContenderArgs {
        values = Map.copyOf(Objects.requireNonNull(values, "values"));
    }

    public static ContenderArgs parse(String[] argv) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String a : argv) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("contender arguments are key=value, got '" + a + "'");
            }
            values.put(a.substring(0, eq), a.substring(eq + 1));
        }
        return new ContenderArgs(values);
    }

    public List<String> toArgs() {
        List<String> out = new ArrayList<>();
        values.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> out.add(e.getKey() + "=" + e.getValue()));
        return out;
    }

    public ContenderArgs with(String key, String value) {
        Map<String, String> copy = new LinkedHashMap<>(values);
        copy.put(key, value);
        return new ContenderArgs(copy);
    }

    public String value(String key) {
        String v = values.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("missing contender argument " + key + "=...");
        }
        return v;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public int intValue(String key) {
        try {
            return Integer.parseInt(value(key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + value(key) + "'", e);
        }
    }

    public Path path(String key) {
        return Path.of(value(key));
    }
}
