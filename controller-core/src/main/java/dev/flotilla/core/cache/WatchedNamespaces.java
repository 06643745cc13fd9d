package dev.flotilla.core.cache;

import dev.flotilla.core.names.DnsNames;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Which namespaces a manager works in: all of them (a ClusterRole install), or a fixed list (a Role-only install,
 * one Role per listed namespace). With a list, informers watch each listed namespace on its own and nothing asks
 * the server about any other namespace, so no cluster-wide permission is needed.
 *
 * <pre>{@code
 * WatchedNamespaces teams = WatchedNamespaces.only(List.of("team-a", "team-b"));
 * manager.informers().setScope(teams.scope());
 * boolean mine = teams.contains("team-a"); // true
 * }</pre>
 */
public sealed interface WatchedNamespaces {

    /** Every namespace of the cluster. */
    static WatchedNamespaces all() {
        return All.INSTANCE;
    }

    /**
     * Exactly {@code names}.
     *
     * @throws IllegalArgumentException when the list is empty, names a namespace twice, or holds something that is not
     *                                  a namespace name; the message names the offending entry
     */
    static WatchedNamespaces only(Collection<String> names) {
        return new Listed(names);
    }

    /** Whether objects of {@code namespace} are watched. */
    boolean contains(String namespace);

    /** The informer scope of an unsharded manager: one partition per listed namespace, or all. */
    InformerScope scope();

    /** Every namespace of the cluster. */
    enum All implements WatchedNamespaces {
        INSTANCE;

        @Override
        public boolean contains(String namespace) {
            return true;
        }

        @Override
        public InformerScope scope() {
            return InformerScope.allNamespaces();
        }

        @Override
        public String toString() {
            return "all namespaces";
        }
    }

    /** A fixed list of namespaces, sorted. */
    record Listed(SortedSet<String> names) implements WatchedNamespaces {

        public Listed(Collection<String> names) {
            this(validated(names));
        }

        public Listed {
            names = validated(names);
        }

        private static SortedSet<String> validated(Collection<String> names) {
            Objects.requireNonNull(names, "names");
            if (names.isEmpty()) {
                throw new IllegalArgumentException("the list of namespaces to watch is empty; name at least one");
            }
            Set<String> seen = new LinkedHashSet<>();
            for (String n : names) {
                if (!DnsNames.isLabel(n, DnsNames.LABEL_MAX)) {
                    throw new IllegalArgumentException("'" + n + "' is not a namespace name (lower-case letters, digits and "
                            + "'-', starting and ending with a letter or digit, at most " + DnsNames.LABEL_MAX + " characters)");
                }
                if (!seen.add(n)) {
                    throw new IllegalArgumentException("namespace '" + n + "' is listed twice");
                }
            }
            return java.util.Collections.unmodifiableSortedSet(new TreeSet<>(seen));
        }

        @Override
        public boolean contains(String namespace) {
            return names.contains(namespace);
        }

        @Override
        public InformerScope scope() {
            Set<Partition> partitions = names.stream().map(Partition::namespace)
                    .collect(Collectors.toCollection(LinkedHashSet::new));
            Set<Partition> fixed = java.util.Collections.unmodifiableSet(partitions);
            return key -> fixed;
        }

        @Override
        public String toString() {
            return String.join(",", names);
        }
    }
}
