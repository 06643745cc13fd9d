package dev.flotilla.manager.aot;

import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.testing.ApiServerBinaries;
import dev.flotilla.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The training run of Flotilla's AOT cache (JEP 483, created in one step as JEP 514 allows): {@code flotilla run}, started
 * with {@code -XX:AOTCacheOutput}, against the project's own kube-apiserver and etcd, through what a replica does in its
 * first minute: it checks the server and its permissions, joins its sharding group, syncs its caches, creates a mirror
 * per source ConfigMap, updates every mirror once, and stops on SIGTERM, when the JVM writes the cache. The cache holds
 * the classes that run loaded and linked, and the method profiles it gathered, so a replica started with
 * {@code -XX:AOTCache} skips that work.
 *
 * <p>A cache is only good for the JVM that made it, with the same jar (same path relative to it, same size and
 * modification time): the build trains one for the {@code flotilla} launcher with the build's JDK
 * ({@code manager/target/flotilla.aot}), and {@code deploy/image/build.sh} trains one with the image's own runtime.
 *
 * <pre>
 * java -cp ... dev.flotilla.manager.aot.AotTraining [--if-possible] --java JAVA --jar flotilla.jar --output flotilla.aot [--sources N]
 * </pre>
 *
 * <p>Exit codes: 0 trained (or, with {@code --if-possible}, not trained because the REAL binaries are not built, which it
 * says), 1 the run failed (the replica's log is printed), 2 usage.
 */
public final class AotTraining {

    /** Source ConfigMaps, one per namespace: enough for every worker and the update path to run many times. */
    static final int DEFAULT_SOURCES = 60;
    static final Duration CONVERGE_TIMEOUT = Duration.ofMinutes(3);
    /** Writing the cache after SIGTERM takes some seconds: the JVM links and compiles what it recorded. */
    static final Duration EXIT_TIMEOUT = Duration.ofMinutes(3);

    private AotTraining() {
    }

    /** What a training run was given. */
    record Options(Path java, Path jar, Path output, int sources, boolean ifPossible) {
        Options {
            if (!Files.isExecutable(java)) {
                throw new IllegalArgumentException("--java " + java + " is not an executable");
            }
            if (!Files.isRegularFile(jar)) {
                throw new IllegalArgumentException("--jar " + jar + " is not a file");
            }
            if (sources < 1) {
                throw new IllegalArgumentException("--sources must be at least 1, got " + sources);
            }
        }

        static Options parse(String[] args) {
            Map<String, String> values = new LinkedHashMap<>();
            boolean ifPossible = false;
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--if-possible")) {
                    ifPossible = true;
                    continue;
                }
                if (!List.of("--java", "--jar", "--output", "--sources").contains(args[i]) || i + 1 >= args.length) {
                    throw new IllegalArgumentException("unknown or incomplete argument '" + args[i] + "'");
                }
                values.put(args[i], args[++i]);
            }
            for (String required : List.of("--java", "--jar", "--output")) {
                if (!values.containsKey(required)) {
                    throw new IllegalArgumentException(required + " is required");
                }
            }
            int sources;
            try {
                sources = Integer.parseInt(values.getOrDefault("--sources", String.valueOf(DEFAULT_SOURCES)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--sources must be a number, got '" + values.get("--sources") + "'");
            }
            return new Options(Path.of(values.get("--java")), Path.of(values.get("--jar")),
                    Path.of(values.get("--output")).toAbsolutePath(), sources, ifPossible);
        }
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("aot-training: " + e.getMessage());
            System.err.println("usage: AotTraining [--if-possible] --java JAVA --jar flotilla.jar --output flotilla.aot [--sources N]");
            System.exit(2);
            return;
        }
        if (!ApiServerBinaries.present()) {
            String why = "cannot train: the REAL kube-apiserver and etcd are not built (bash testing/apiserver/build.sh, needs Go)";
            if (options.ifPossible()) {
                // The jar stays usable; the launcher runs it without a cache, as it would with a stale one.
                Files.deleteIfExists(options.output());
                System.out.println("aot-training: no AOT cache for " + options.jar() + ": " + why);
                return;
            }
            System.err.println("aot-training: " + why);
            System.exit(1);
        }
        try {
            System.out.println(train(options));
        } catch (TrainingFailed e) {
            System.err.println("aot-training: " + e.getMessage());
            System.exit(1);
        }
    }

    /** A training run that did not produce a cache; the message says why, with the replica's log. */
    static final class TrainingFailed extends Exception {
        TrainingFailed(String message) {
            super(message);
        }
    }

    /** Trains and returns one line saying what was trained; the output file is replaced only by a complete cache. */
    static String train(Options o) throws Exception {
        long started = System.nanoTime();
        Path work = Files.createTempDirectory("flotilla-aot-training-");
        try (RealApiServer server = RealApiServer.start()) {
            KubernetesClient admin = server.client();
            List<String> namespaces = new ArrayList<>();
            for (int i = 0; i < o.sources(); i++) {
                String ns = "aot-training-" + i;
                namespaces.add(ns);
                admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
                admin.resource(source(ns, "1")).create();
            }
            admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("flotilla-system").endMetadata().build())
                    .create();
            Path kubeconfig = work.resolve("kubeconfig");
            Files.writeString(kubeconfig, server.kubeconfigYaml());
            Path log = work.resolve("replica.log");
            // The cache is written next to the output and moved over it only when complete: a failed run keeps the old one.
            Path partial = o.output().resolveSibling(o.output().getFileName() + ".partial");
            Files.deleteIfExists(partial);
            List<String> command = List.of(o.java().toString(), "-XX:AOTCacheOutput=" + partial,
                    "--enable-native-access=ALL-UNNAMED", "-jar", o.jar().toString(), "run", "--kubeconfig", kubeconfig.toString(),
                    "--health-port", "0", "--metrics-port", "0",
                    // Shorter lease timings than the defaults: the same code runs, and joining the group waits less.
                    "--lease-duration", "6s", "--renew-deadline", "4s", "--retry-period", "1s");
            ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            b.environment().put("POD_NAME", "flotilla-aot-training");
            b.environment().put("POD_NAMESPACE", "flotilla-system");
            b.environment().put("FLOTILLA_CONTAINER_NAME", "flotilla");
            long spawned = System.nanoTime();
            Process replica = b.start();
            long created;
            long updated;
            try {
                awaitMirrors(admin, namespaces, "1", replica, log);
                created = System.nanoTime();
                for (String ns : namespaces) {
                    admin.resource(source(ns, "2")).update();
                }
                awaitMirrors(admin, namespaces, "2", replica, log);
                updated = System.nanoTime();
            } catch (TrainingFailed e) {
                replica.destroyForcibly();
                throw e;
            }
            replica.destroy(); // SIGTERM: the replica's graceful stop, then the JVM writes the cache
            long stopping = System.nanoTime();
            if (!replica.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                replica.destroyForcibly();
                throw new TrainingFailed("the replica did not exit within " + EXIT_TIMEOUT + " of SIGTERM; its log:\n" + tail(log));
            }
            // 143: the JVM's exit status after SIGTERM; the cache is written on that path too.
            if (!Files.isRegularFile(partial) || Files.size(partial) == 0) {
                throw new TrainingFailed("the replica exited with " + replica.exitValue() + " and wrote no cache at " + partial
                        + "; its log:\n" + tail(log));
            }
            Files.move(partial, o.output(), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            long end = System.nanoTime();
            return String.format(java.util.Locale.ROOT, "aot-training: %s (%,d bytes) for %s, in %.1f s: server and %d sources "
                    + "%.1f s, mirrors created %.1f s after the spawn, updated in %.1f s, stop and cache written in %.1f s",
                    o.output(), Files.size(o.output()), o.jar(), (end - started) / 1e9, o.sources(), (spawned - started) / 1e9,
                    (created - spawned) / 1e9, (updated - created) / 1e9, (end - stopping) / 1e9);
        } finally {
            deleteTree(work);
        }
    }

    /** The configmap-mirror example's source ConfigMap "settings" in {@code namespace}, with {@code v=value}. */
    public static ConfigMap source(String namespace, String value) {
        return new ConfigMapBuilder().withNewMetadata().withName("settings").withNamespace(namespace)
                .addToLabels(ConfigMapMirror.SOURCE_LABEL, ConfigMapMirror.SOURCE_VALUE).endMetadata()
                .addToData("v", value).build();
    }

    private static void awaitMirrors(KubernetesClient admin, List<String> namespaces, String value, Process replica, Path log)
            throws Exception {
        long deadline = System.nanoTime() + CONVERGE_TIMEOUT.toNanos();
        String mirror = "settings" + ConfigMapMirror.MIRROR_SUFFIX;
        while (true) {
            long done = namespaces.stream().filter(ns -> {
                ConfigMap m = admin.configMaps().inNamespace(ns).withName(mirror).get();
                return m != null && m.getData() != null && value.equals(m.getData().get("v"));
            }).count();
            if (done == namespaces.size()) {
                return;
            }
            if (!replica.isAlive()) {
                throw new TrainingFailed("the replica exited with " + replica.exitValue() + " before its mirrors had v=" + value
                        + " (" + done + " of " + namespaces.size() + "); its log:\n" + tail(log));
            }
            if (System.nanoTime() > deadline) {
                throw new TrainingFailed(done + " of " + namespaces.size() + " mirrors had v=" + value + " after " + CONVERGE_TIMEOUT
                        + "; the replica's log:\n" + tail(log));
            }
            Thread.sleep(200);
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
