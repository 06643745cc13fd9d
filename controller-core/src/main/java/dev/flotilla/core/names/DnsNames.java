package dev.flotilla.core.names;

import java.util.regex.Pattern;

/**
 * The name syntaxes Kubernetes uses, defined once: a DNS-1123 label (namespaces, containers, and Flotilla's
 * controller names, replica identities and group names) and a DNS-1123 subdomain (most object names).
 *
 * <pre>{@code
 * boolean ok = DnsNames.isLabel("team-a", DnsNames.LABEL_MAX);            // true
 * boolean bad = DnsNames.isLabel("Team_A", DnsNames.LABEL_MAX);           // false
 * boolean pod = DnsNames.isSubdomain("flotilla-7d9f.x", DnsNames.SUBDOMAIN_MAX);
 * }</pre>
 */
public final class DnsNames {

    /** The longest DNS-1123 label. */
    public static final int LABEL_MAX = 63;
    /** The longest DNS-1123 subdomain. */
    public static final int SUBDOMAIN_MAX = 253;

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    /** Labels joined by dots, as Kubernetes checks it: no empty label, none starting or ending with '-'. */
    private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    private DnsNames() {
    }

    /** Lower-case letters, digits and '-', starting and ending with a letter or digit, at most {@code max} characters. */
    public static boolean isLabel(String value, int max) {
        return value != null && value.length() <= max && LABEL.matcher(value).matches();
    }

    /** Labels joined by '.', at most {@code max} characters in all. */
    public static boolean isSubdomain(String value, int max) {
        return value != null && value.length() <= max && SUBDOMAIN.matcher(value).matches();
    }
}
