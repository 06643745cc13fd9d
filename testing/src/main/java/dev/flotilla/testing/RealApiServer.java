package dev.flotilla.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    /**
     * How often the tests' servers compact etcd: every few seconds, so that a test can expire a resourceVersion
     * (410 Gone) deterministically.
     */
    static final Duration TEST_COMPACTION_INTERVAL = Duration.ofSeconds(3);
    /**
     * kube-apiserver's own default {@code --etcd-compaction-interval}: what a cluster runs, and what a measurement
     * wants; a compaction every 3 s of a store that takes thousands of writes a minute is noise in every latency.
     */
    public static final Duration DEFAULT_COMPACTION_INTERVAL = Duration.ofMinutes(5);

    private static final Pattern ETCD_SERVERS = Pattern.compile("--etcd-servers[= ](\\S+)");

    private final KubeAPIServer server;
    private final Path instanceDir;
    private final Duration startup;
    private final URI etcd;
    private final Optional<Path> auditLog;
    private final ServerProcess apiServerProcess;
    private final ServerProcess etcdProcess;

    static final String AUDIT_POLICY_FILE = "audit-policy.yaml";
    static final String AUDIT_LOG_FILE = "audit.log";
    /**
     * The audit policy of a server started with an audit log: Lease writes with request and response
     * (the holder a write set), everything else at Metadata (who, what, when, the answer's code), all
     * at ResponseComplete only.
     */
    public static final String AUDIT_POLICY = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            omitStages: ["RequestReceived", "ResponseStarted"]
            rules:
            - level: RequestResponse
              verbs: ["create", "update", "patch", "delete"]
              resources:
              - group: coordination.k8s.io
                resources: ["leases"]
            - level: Metadata
            """;

    private RealApiServer(KubeAPIServer server, Path instanceDir, String kubeconfig, Duration startup, URI etcd,
            Optional<Path> auditLog) {
        super(ClusterBackend.REAL, kubeconfig);
        this.auditLog = auditLog;
        this.server = server;
        this.instanceDir = instanceDir;
        this.startup = startup;
        this.etcd = etcd;
        this.apiServerProcess = new ServerProcess("kube-apiserver", process(instanceDir.toString(), "kube-apiserver"),
                instanceDir.resolve("kube-apiserver-restarted.log"));
        // etcd's command line names its port, not the instance directory (its binary path is the symlink's target).
        this.etcdProcess = new ServerProcess("etcd", process(":" + etcd.getPort(), "etcd"), instanceDir.resolve("etcd-restarted.log"));
    }

    /** This instance's process whose executable is {@code binary}, found among this JVM's children by {@code mark} in its command line. */
    private static ProcessHandle process(String mark, String binary) {
        List<ProcessHandle> found = ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/" + binary)).orElse(false))
                .filter(p -> p.info().commandLine().orElse("").contains(mark))
                .toList();
        if (found.size() != 1) {
            throw new IllegalStateException("expected one " + binary + " process with " + mark + " among this JVM's children, found "
                    + found.size());
        }
        return found.getFirst();
    }

    /** The kube-apiserver's process, to stop and start again (same port, same certificates). */
    public ServerProcess apiServerProcess() {
        detachFromKubeApiTest();
        return apiServerProcess;
    }

    /** etcd's process, to kill and start again (same port, same data). */
    public ServerProcess etcdProcess() {
        detachFromKubeApiTest();
        return etcdProcess;
    }

    private boolean detached;

    /**
     * kube-api-test 7.6.1 treats any exit of its etcd or kube-apiserver as unexpected: it stops the
     * other one and deletes etcd's data, which would turn "etcd killed" into "the cluster wiped".
     * Before a test stops either, its process watchers are told they were stopped on purpose (their
     * private {@code stopped} flags; no API exposes this); the server's own stop still ends the
     * original processes and cleans up, and {@link #stopServer} ends the ones started again.
     */
    private synchronized void detachFromKubeApiTest() {
        if (detached) {
            return;
        }
        for (String manager : List.of("etcdProcess", "kubeApiServerProcess")) {
            try {
                java.lang.reflect.Field f = server.getClass().getDeclaredField(manager);
                f.setAccessible(true);
                Object process = f.get(server);
                java.lang.reflect.Field stopped = process.getClass().getDeclaredField("stopped");
                stopped.setAccessible(true);
                stopped.setBoolean(process, true);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IllegalStateException("cannot take " + manager + " over from kube-api-test "
                        + ApiServerBinaries.class.getPackageName() + " (its internals changed?): " + e, e);
            }
        }
        detached = true;
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
        return start(shardedWatch, false);
    }

    /**
     * kube-api-test 7.6.1 puts its readiness deadline on {@link java.time.LocalTime}: a start whose timeout
     * reaches past midnight sees the deadline already passed and gives up at its first failed probe
     * ("Kube API Server did not start properly"). Such a start waits for the new day instead.
     */
    private static void awaitPastMidnightIfTheStartWouldCrossIt() {
        java.time.LocalTime now = java.time.LocalTime.now();
        if (now.plus(STARTUP_TIMEOUT).isBefore(now)) {
            long millis = Duration.between(now, java.time.LocalTime.MAX).toMillis() + 1_000;
            log.atInfo().addKeyValue("waitMillis", millis).log("waiting for midnight: kube-api-test's start deadline would wrap");
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Start attempts: kube-api-test picks etcd's and the API server's ports by probing, and another process can take one first. */
    static final int START_ATTEMPTS = 3;

    /**
     * As {@link #start(boolean)}; with {@code auditLog} the server writes an audit log ({@link #auditLog()}):
     * every request at its ResponseComplete stage, Lease writes with their request and response
     * objects ({@link #AUDIT_POLICY}), so that who wrote what, and who held which Lease when, can be
     * judged from the server's own record.
     */
    public static RealApiServer start(boolean shardedWatch, boolean auditLog) {
        return start(shardedWatch, auditLog, TEST_COMPACTION_INTERVAL);
    }

    /**
     * As {@link #start(boolean, boolean)}, compacting etcd every {@code compactionInterval} rather than every few
     * seconds; {@link #DEFAULT_COMPACTION_INTERVAL} is a cluster's.
     *
     * <pre>{@code
     * try (RealApiServer server = RealApiServer.start(true, false, RealApiServer.DEFAULT_COMPACTION_INTERVAL)) {
     *     server.client().namespaces().list();
     * }
     * }</pre>
     */
    public static RealApiServer start(boolean shardedWatch, boolean auditLog, Duration compactionInterval) {
        if (compactionInterval.isNegative() || compactionInterval.isZero()) {
            throw new IllegalArgumentException("the etcd compaction interval must be positive, got " + compactionInterval);
        }
        ApiServerBinaries.require(); // missing binaries: one clear failure, not three attempts
        IllegalStateException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            try {
                return startOnce(shardedWatch, auditLog, compactionInterval);
            } catch (IllegalStateException e) {
                // Seen in CI once in some hundreds of starts: "etcd did not start properly" 1.1 s in, with replica
                // processes of the previous test still closing connections (a probed port taken before etcd bound it).
                last = e;
                log.atWarn().addKeyValue("attempt", attempt).addKeyValue("of", START_ATTEMPTS)
                        .addKeyValue("error", e.getMessage()).log("kube-apiserver did not start; trying again on fresh ports");
            }
        }
        throw last;
    }

    private static RealApiServer startOnce(boolean shardedWatch, boolean auditLog, Duration compactionInterval) {
        Path instance;
        try {
            instance = Files.createTempDirectory("flotilla-apiserver-");
            Files.createSymbolicLink(instance.resolve("k8s"), ApiServerBinaries.baseDir().resolve("k8s").toAbsolutePath());
            if (auditLog) {
                Files.writeString(instance.resolve(AUDIT_POLICY_FILE), AUDIT_POLICY);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare a directory for the API server", e);
        }
        KubeAPIServerConfigBuilder config = KubeAPIServerConfigBuilder.anAPIServerConfig();
        if (auditLog) {
            config = config.withApiServerFlag("--audit-policy-file", instance.resolve(AUDIT_POLICY_FILE).toString())
                    .withApiServerFlag("--audit-log-path", instance.resolve(AUDIT_LOG_FILE).toString())
                    .withApiServerFlag("--audit-log-format", "json")
                    // Written before the answer leaves: what a test reads after a request is in the file.
                    .withApiServerFlag("--audit-log-mode", "blocking")
                    .withApiServerFlag("--audit-log-maxsize", "0");
        }
        KubeAPIServer server = new KubeAPIServer(config
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
                // PodTemplates bypass the watch cache and etcd compacts every few seconds (TEST_COMPACTION_INTERVAL), so
                // tests can expire a resourceVersion (410 Gone) deterministically; nothing in Flotilla uses PodTemplates.
                .withApiServerFlag("--watch-cache-sizes", "podtemplates#0")
                .withApiServerFlag("--etcd-compaction-interval", compactionInterval.toMillis() + "ms")
                .build());
        long t0 = System.nanoTime();
        awaitPastMidnightIfTheStartWouldCrossIt();
        try {
            server.start();
        } catch (RuntimeException e) {
            server.stop();
            deleteQuietly(instance);
            throw new IllegalStateException("kube-apiserver " + ApiServerBinaries.kubernetesVersion()
                    + " did not start: " + e.getMessage(), e);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        URI etcd;
        try {
            etcd = etcdClientUrl(instance);
        } catch (RuntimeException e) {
            server.stop();
            deleteQuietly(instance);
            throw e;
        }
        RealApiServer started = new RealApiServer(server, instance, server.getKubeConfigYaml(), took, etcd,
                auditLog ? Optional.of(instance.resolve(AUDIT_LOG_FILE)) : Optional.empty());
        log.atInfo().addKeyValue("server", started.config().getMasterUrl()).addKeyValue("startupMillis", took.toMillis())
                .log("kube-apiserver started");
        return started;
    }

    /**
     * Where this server's etcd answers clients, read from the kube-apiserver's own command line
     * ({@code --etcd-servers}): kube-api-test picks the port and does not say. Found by this
     * instance's directory, so several servers may run at once.
     */
    private static URI etcdClientUrl(Path instance) {
        String dir = instance.toString();
        List<String> found = ProcessHandle.current().descendants()
                .map(p -> p.info().commandLine().orElse(""))
                .filter(c -> c.contains("kube-apiserver") && c.contains(dir))
                .toList();
        if (found.size() != 1) {
            throw new IllegalStateException("expected one kube-apiserver process of " + dir + " among this JVM's children, found "
                    + found.size());
        }
        Matcher m = ETCD_SERVERS.matcher(found.getFirst());
        if (!m.find()) {
            throw new IllegalStateException("the kube-apiserver of " + dir + " has no --etcd-servers flag: " + found.getFirst());
        }
        URI url = URI.create(m.group(1).split(",")[0]);
        // It may listen on 0.0.0.0; the client side connects over loopback.
        return URI.create(url.getScheme() + "://127.0.0.1:" + url.getPort());
    }

    /** The client URL of this server's etcd (plain HTTP on loopback), e.g. for its gRPC gateway. */
    public URI etcdClientUrl() {
        return etcd;
    }

    /**
     * Compacts etcd's history up to {@code revision} now (a Kubernetes resourceVersion is an etcd
     * revision), so that a watch or an informer resuming from an older resourceVersion gets 410 Gone
     * without waiting for the periodic compaction. A revision compacted already is no error.
     */
    public void compactEtcd(long revision) {
        HttpRequest request = HttpRequest.newBuilder(etcd.resolve("/v3/kv/compaction"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"revision\":\"" + revision + "\",\"physical\":true}"))
                .build();
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200 && !response.body().contains("required revision has been compacted")) {
                throw new IllegalStateException("etcd refused to compact to revision " + revision + ": HTTP "
                        + response.statusCode() + " " + response.body());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach etcd at " + etcd + " to compact", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while compacting etcd", e);
        }
    }

    /** The server's audit log (JSON lines), when it was started with one; gone once the server is stopped. */
    @Override
    public Optional<Path> auditLog() {
        return auditLog;
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
        if (detached) {
            // kube-api-test believes both stopped already: the live ones (original or started again) are ended here.
            apiServerProcess.kill();
            etcdProcess.kill();
        }
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
