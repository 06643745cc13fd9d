package dev.flotilla.testing;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which Kubernetes API server a test talks to. Chosen with {@code -Dflotilla.cluster=real|k3s|mock}
 * (or the Maven profiles of the same names); {@link #REAL} when unset.
 */
public enum ClusterBackend {
    /** A real kube-apiserver and etcd, built from source by testing/apiserver/build.sh. The default. */
    REAL,
    /** k3s in a container through Testcontainers; needs a Docker engine, skipped with the reason otherwise. */
    K3S,
    /** fabric8's mock server in CRUD mode: fast, but wrong about watches, resourceVersion and selectors. Opt-in only. */
    MOCK;

    /** The system property that selects the backend. */
    public static final String PROPERTY = "flotilla.cluster";

    /** The backend named by {@link #PROPERTY}, {@link #REAL} when unset; a clear error when misspelt. */
    public static ClusterBackend selected() {
        return parse(System.getProperty(PROPERTY, ""));
    }

    static ClusterBackend parse(String value) {
        String v = value == null ? "" : value.strip();
        if (v.isEmpty()) {
            return REAL;
        }
        try {
            return valueOf(v.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + " is not a cluster backend; use one of "
                    + Arrays.stream(values()).map(b -> b.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
        }
    }
}
