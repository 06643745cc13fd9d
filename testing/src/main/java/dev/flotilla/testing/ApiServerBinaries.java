package dev.flotilla.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * Where the kube-apiserver, etcd and kubectl binaries built by {@code testing/apiserver/build.sh}
 * live, and which versions and feature gates they were built for. The pinned versions come from
 * {@code testing/apiserver/versions.env}, the same file the build script reads.
 *
 * <pre>{@code
 * Path dir = ApiServerBinaries.require(); // fails with the command to run when they are missing
 * }</pre>
 */
public final class ApiServerBinaries {

    /** Overrides the binaries' base directory (as the build script's environment variable does). */
    public static final String DIR_PROPERTY = "flotilla.kubeApiTestDir";
    public static final String DIR_ENV = "FLOTILLA_KUBE_API_TEST_DIR";
    static final String BUILD_COMMAND = "bash testing/apiserver/build.sh";

    private static final Properties VERSIONS = load();

    private ApiServerBinaries() {
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = ApiServerBinaries.class.getResourceAsStream("versions.env")) {
            if (in == null) {
                throw new IllegalStateException("versions.env missing from the testing module's resources");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    private static String value(String key) {
        String v = VERSIONS.getProperty(key);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("testing/apiserver/versions.env has no " + key);
        }
        return v.strip().replaceAll("^\"|\"$", "");
    }

    /** Kubernetes version without the leading v, as kube-api-test names its directories: 1.37.2. */
    public static String kubernetesVersion() {
        return value("KUBERNETES_VERSION").replaceFirst("^v", "");
    }

    /** The server-side sharded list/watch feature gate's name, as the built apiserver lists it. */
    public static String shardedWatchFeatureGate() {
        return value("SHARDED_WATCH_FEATURE_GATE");
    }

    /** kube-api-test's base directory: the one holding {@code k8s/<version>-<os>-<arch>}. */
    public static Path baseDir() {
        String configured = System.getProperty(DIR_PROPERTY, System.getenv(DIR_ENV));
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), value("KUBE_API_TEST_DEFAULT_DIRNAME"));
    }

    /** The directory of this version's binaries for this machine, {@code k8s/<version>-<os>-<arch>} under {@link #baseDir}. */
    public static Path binaryDir() {
        return baseDir().resolve("k8s").resolve(kubernetesVersion() + "-" + platform());
    }

    /**
     * This machine's {@code <os>-<arch>} as kube-api-test names its binary directories (and the
     * build script, from Go's GOHOSTOS and GOHOSTARCH): linux-amd64, linux-arm64, linux-ppc64le.
     */
    static String platform() {
        return platform(System.getProperty("os.name"), System.getProperty("os.arch"));
    }

    static String platform(String osName, String osArch) {
        String os = osName.toLowerCase(java.util.Locale.ROOT);
        os = os.contains("win") ? "windows" : os.contains("mac") ? "darwin" : os;
        String arch = switch (osArch.toLowerCase(java.util.Locale.ROOT)) {
            case "aarch64", "arm64" -> "arm64";
            case "ppc64", "ppc64le" -> "ppc64le";
            default -> "amd64";
        };
        return os + "-" + arch;
    }

    /** Whether all three binaries are built. */
    public static boolean present() {
        Path dir = binaryDir();
        return List.of("kube-apiserver", "etcd", "kubectl").stream().allMatch(b -> Files.isExecutable(dir.resolve(b)));
    }

    /** The binary directory, or an error that says what is missing and how to build it. */
    public static Path require() {
        Path dir = binaryDir();
        for (String binary : List.of("kube-apiserver", "etcd", "kubectl")) {
            Path p = dir.resolve(binary);
            if (!Files.isExecutable(p)) {
                throw new IllegalStateException("REAL cluster backend: " + p + " is missing; build the binaries with `"
                        + BUILD_COMMAND + "` (needs Go), or choose another backend with -D" + ClusterBackend.PROPERTY);
            }
        }
        return dir;
    }
}
