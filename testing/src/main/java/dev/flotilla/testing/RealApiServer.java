package dev.flotilla.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real kube-apiserver with its own etcd, run as local processes through fabric8's kube-api-test
 * in offline mode (it never downloads anything). Each instance gets its own directory for
 * certificates, so several can run at once; the binaries are shared through a symlink.
 *
 * <p>Flags beyond kube-api-test's own (which include the RBAC authorizer):
 * {@code --advertise-address 127.0.0.1}, {@code --bind-address 127.0.0.1}, and the server-side
 * sharded list/watch feature gate.
 */
public final class RealApiServer extends KubeconfigCluster {

    private static final Logger log = LoggerFactory.getLogger(RealApiServer.class);
    /** How long start-up may take on a busy 2-core machine. */
    static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);
    static final String ETCD_COMPACTION_INTERVAL = "3s";

    private final KubeAPIServer server;
    private final Path instanceDir;
    private final Duration startup;

    private RealApiServer(KubeAPIServer server, Path instanceDir, String kubeconfig, Duration startup) {
        super(ClusterBackend.REAL, kubeconfig);
        this.server = server;
        this.instanceDir = instanceDir;
        this.startup = startup;
    }

    public static RealApiServer start() {
        return start(true);
    }

    /**
     * As {@link #start()}, with the sharded list/watch feature gate on or off; off, the server
     * ignores {@code shardSelector} like any server before KEP-5866, which is what the
     * per-namespace fallback of shard-scoped informers is tested against.
     */
    public static RealApiServer start(boolean shardedWatch) {
        ApiServerBinaries.require();
        Path instance;
        try {
            instance = Files.createTempDirectory("flotilla-apiserver-");
            Files.createSymbolicLink(instance.resolve("k8s"), ApiServerBinaries.baseDir().resolve("k8s").toAbsolutePath());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare a directory for the API server", e);
        }
        KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(instance.toString())
                .withApiServerVersion(ApiServerBinaries.kubernetesVersion())
                .withOfflineMode(true)
                .withUpdateKubeConfig(false)
                .withWaitForEtcdHealthCheckOnStartup(true)
                .withStartupTimeout((int) STARTUP_TIMEOUT.toMillis())
                .withApiServerFlag("--advertise-address", "127.0.0.1")
                // The endpoint reconciler refuses a loopback advertise address; a test server has no Service to reconcile.
                .withApiServerFlag("--endpoint-reconciler-type", "none")
                .withApiServerFlag("--bind-address", "127.0.0.1")
                .withApiServerFlag("--feature-gates", ApiServerBinaries.shardedWatchFeatureGate() + "=" + shardedWatch)
                // PodTemplates bypass the watch cache and etcd compacts every few seconds, so tests can
                // expire a resourceVersion (410 Gone) deterministically; nothing in Flotilla uses PodTemplates.
                .withApiServerFlag("--watch-cache-sizes", "podtemplates#0")
                .withApiServerFlag("--etcd-compaction-interval", ETCD_COMPACTION_INTERVAL)
                .build());
        long t0 = System.nanoTime();
        try {
            server.start();
        } catch (RuntimeException e) {
            server.stop();
            deleteQuietly(instance);
            throw new IllegalStateException("kube-apiserver " + ApiServerBinaries.kubernetesVersion()
                    + " did not start: " + e.getMessage(), e);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        RealApiServer started = new RealApiServer(server, instance, server.getKubeConfigYaml(), took);
        log.atInfo().addKeyValue("server", started.config().getMasterUrl()).addKeyValue("startupMillis", took.toMillis())
                .log("kube-apiserver started");
        return started;
    }

    /** How long the API server and etcd took to become ready. */
    public Duration startupTime() {
        return startup;
    }

    @Override
    public String description() {
        return "kube-apiserver v" + ApiServerBinaries.kubernetesVersion() + " + etcd at " + config().getMasterUrl();
    }

    @Override
    void stopServer() {
        server.stop();
        deleteQuietly(instanceDir);
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            // Delete the symlink itself, never what it points to.
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a temp directory
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
