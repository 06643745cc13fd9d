package dev.flotilla.sharding;

import java.util.OptionalInt;

/**
 * Orders two resourceVersions of one object, as Kubernetes allows since 1.35 (KEP-5504, comparable resource
 * versions, stable): a version is a positive decimal integer without leading zeros, and a later write of an object
 * has a greater one. Anything else (an older or non-etcd server's opaque string) is not ordered, and callers fall
 * back to equality.
 *
 * <pre>{@code
 * boolean newer = ResourceVersions.compare("1204", "987").orElse(0) > 0; // true: longer is greater
 * }</pre>
 */
final class ResourceVersions {

    private ResourceVersions() {
    }

    /** Negative, zero or positive as {@code a} is older than, the same as or newer than {@code b}; empty when either is not comparable. */
    static OptionalInt compare(String a, String b) {
        if (!comparable(a) || !comparable(b)) {
            return OptionalInt.empty();
        }
        if (a.length() != b.length()) {
            return OptionalInt.of(Integer.compare(a.length(), b.length()));
        }
        return OptionalInt.of(Integer.signum(a.compareTo(b)));
    }

    /** Whether {@code version} is {@code seen} or a later write of the same object (equal strings always are). */
    static boolean atLeast(String seen, String version) {
        if (seen != null && seen.equals(version)) {
            return true;
        }
        return compare(seen, version).orElse(-1) >= 0;
    }

    private static boolean comparable(String v) {
        if (v == null || v.isEmpty() || v.charAt(0) == '0') {
            return false;
        }
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }
}
