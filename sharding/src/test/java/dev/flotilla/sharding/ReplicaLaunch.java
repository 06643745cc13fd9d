package dev.flotilla.sharding;

import dev.flotilla.testing.JarClasspath;
import dev.flotilla.testing.TestCluster;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How the multi-process suites start a replica JVM: from jars, with the JDK's AOT cache (JEP 483/515), as an
 * image that ships its cache starts one.
 *
 * <p>A container restarted in place is timed from its new JVM's start; on 2 cores beside three other JVMs,
 * the API server and etcd, loading and linking the client's several thousand classes takes about 4 s of the
 * restart, more than the protocol's part. The JDK keeps an AOT cache only for classes loaded from jars, so
 * the test classpath's class directories are packed into jars (named by a hash of their content, so an
 * unchanged directory keeps its jar and the cache stays valid across runs), and one replica, run against
 * the suite's API server until it has reconciled, trains the cache. {@code -Dflotilla.replicas.aot=false}
 * starts replicas without it, to measure what it saves.
 */
final class ReplicaLaunch {

    /** The replica JVMs' flags: the training run's and every replica's must match for the cache to be used. */
    static final List<String> JVM_FLAGS = List.of("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    /** Whether replicas start with the AOT cache (the default) or without (to measure what it saves). */
    static final boolean AOT = Boolean.parseBoolean(System.getProperty("flotilla.replicas.aot", "true"));

    private static final Path DIR = Path.of("target", "replica-launch");

    private final String java;
    private final String classpath;
    private final Path cache;

    private ReplicaLaunch(String java, String classpath, Path cache) {
        this.java = java;
        this.classpath = classpath;
        this.cache = cache;
    }

    /** Packs this JVM's class directories into jars (once per content) and names the cache for that classpath. */
    static ReplicaLaunch ofThisClasspath() {
        try {
            String classpath = JarClasspath.of(System.getProperty("java.class.path"), DIR);
            String java = ProcessHandle.current().info().command().orElse("java");
            Path cache = DIR.resolve("replica-" + JarClasspath.hash(classpath + "\n" + java + "\n" + JVM_FLAGS).substring(0, 16) + ".aot");
            return new ReplicaLaunch(java, classpath, cache);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The command that starts {@link ReplicaProcess}, after {@code prefix} (for example faketime). */
    List<String> command(List<String> prefix) {
        List<String> command = new ArrayList<>(prefix);
        command.add(java);
        command.addAll(JVM_FLAGS);
        if (AOT && Files.exists(cache)) {
            command.add("-XX:AOTCache=" + cache.toAbsolutePath());
        }
        command.addAll(List.of("-cp", classpath, ReplicaProcess.class.getName()));
        return command;
    }

    /**
     * Trains the AOT cache unless it exists: one replica alone in a group of its own, in a namespace of its
     * own, started, joined, reconciling a few objects, then stopped (the JVM writes the cache as it exits).
     * Throws if the training run fails: a suite that times restarts must not silently run without the cache.
     */
    void train(TestCluster cluster) throws IOException, InterruptedException {
        if (!AOT || Files.exists(cache)) {
            return;
        }
        long start = System.nanoTime();
        KubernetesClient client = cluster.client();
        String ns = "aot-training-" + Long.toHexString(System.nanoTime());
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        String label = "aot-training";
        for (int i = 0; i < 20; i++) {
            client.resource(new ConfigMapBuilder().withNewMetadata().withName("cm-" + i).withNamespace(ns)
                    .addToLabels(Replica.LABEL, label).endMetadata().addToData("v", "0").build()).create();
        }
        Path kubeconfig = DIR.resolve("training.kubeconfig");
        Files.writeString(kubeconfig, cluster.kubeconfigYaml());
        Path partial = DIR.resolve(cache.getFileName() + ".partial");
        Files.deleteIfExists(partial);
        Path log = DIR.resolve("training.log");
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(JVM_FLAGS);
        command.add("-XX:AOTCacheOutput=" + partial.toAbsolutePath());
        command.addAll(List.of("-cp", classpath, ReplicaProcess.class.getName(),
                "kubeconfig=" + kubeconfig.toAbsolutePath(), "identity=aot-training", "leaseNamespace=" + ns,
                "group=aot-training", "label=" + label, "audit=" + DIR.resolve("training.audit").toAbsolutePath(),
                "leaseSeconds=" + ReplicaGroup.LEASE_SECONDS, "renewSeconds=" + ReplicaGroup.RENEW_DEADLINE_SECONDS,
                "retryMillis=" + ReplicaGroup.RETRY_MILLIS, "qps=" + ReplicaGroup.QPS, "writes=true", "fence=true",
                "baseline=false"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (OutputStream stdin = p.getOutputStream(); PrintWriter in = new PrintWriter(stdin, true, StandardCharsets.UTF_8)) {
            long end = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            // Trained on what a restart does: join, take the shards, start their informers, reconcile and write.
            while (System.nanoTime() < end && p.isAlive() && seen(client, ns) < 20) {
                Thread.sleep(200);
            }
            if (seen(client, ns) < 20) {
                p.destroyForcibly();
                throw new IllegalStateException("the AOT training replica did not reconcile its 20 objects; see " + log);
            }
            in.println("stop");
        }
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.exists(partial)) {
            p.destroyForcibly();
            throw new IllegalStateException("the AOT training replica wrote no cache; see " + log);
        }
        Files.move(partial, cache, StandardCopyOption.ATOMIC_MOVE);
        client.namespaces().withName(ns).delete();
        System.out.printf("AOT cache %s trained in %d ms (%d KiB)%n", cache, Duration.ofNanos(System.nanoTime() - start).toMillis(),
                Files.size(cache) / 1024);
    }

    private static int seen(KubernetesClient client, String ns) {
        return (int) client.configMaps().inNamespace(ns).list().getItems().stream()
                .filter(c -> c.getMetadata().getName().endsWith(ReplicaProcess.SEEN_SUFFIX)).count();
    }
}
