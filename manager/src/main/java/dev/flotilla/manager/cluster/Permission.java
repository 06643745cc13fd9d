package dev.flotilla.manager.cluster;

import java.util.Objects;

/**
 * One RBAC permission across all namespaces: a verb on a resource of an API group ({@code ""} for
 * the core group). {@link #toString()} is the form error messages use: {@code watch configmaps (all
 * namespaces)}.
 */
public record Permission(String verb, String group, String resource) {

    public Permission {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(resource, "resource");
    }

    public static Permission core(String verb, String resource) {
        return new Permission(verb, "", resource);
    }

    @Override
    public String toString() {
        return verb + " " + (group.isEmpty() ? resource : resource + "." + group) + " (all namespaces)";
    }
}
