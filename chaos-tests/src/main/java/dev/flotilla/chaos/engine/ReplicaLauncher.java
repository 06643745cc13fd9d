package dev.flotilla.chaos.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Starts the {@code flotilla run} process of a replica pod: the built artifact's main class on
 * the given class path, its own kubeconfig (its port on the fault proxy), the downward API's
 * environment, in the pod's cgroups when the engine has them, with libfaketime preloaded.
 *
 * @param java      the java executable
 * @param classPath the class path holding the flotilla CLI (the built jar, or a test's class path)
 * @param main      {@code dev.flotilla.manager.Main}, or a test launcher of a deliberately weakened build, and its first arguments
 * @param runArgs   arguments after {@code run} and the kubeconfig
 * @param faketime  the libfaketime library, preloaded into every replica
 * @param cgroups   the pods' cgroups (none where cgroup v1 cannot be written)
 * @param kubeconfigFor where each pod's kubeconfig is written
 */
record ReplicaLauncher(String java, String classPath, List<String> main, List<String> runArgs, Path faketime,
        CgroupPods cgroups, KubeconfigWriter kubeconfigFor) {

    /** Writes the kubeconfig of a pod (the proxy port of its identity) and returns its path. */
    interface KubeconfigWriter {
        Path write(String pod);
    }

    ReplicaLauncher {
        Objects.requireNonNull(java, "java");
        Objects.requireNonNull(classPath, "classPath");
        main = List.copyOf(main);
        runArgs = List.copyOf(runArgs);
        Objects.requireNonNull(faketime, "faketime");
        Objects.requireNonNull(cgroups, "cgroups");
        Objects.requireNonNull(kubeconfigFor, "kubeconfigFor");
    }

    Process start(String pod, ReplicaPod replica) {
        Path kubeconfig = kubeconfigFor.write(pod);
        List<String> command = new ArrayList<>(cgroups.enterCommand(pod));
        command.addAll(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED", "-cp", classPath));
        command.addAll(main);
        command.addAll(List.of("run", "--kubeconfig", kubeconfig.toString()));
        command.addAll(runArgs);
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(replica.log().toFile()));
        Map<String, String> env = b.environment();
        env.put("POD_NAME", pod);
        env.put("POD_NAMESPACE", LocalTopology.NAMESPACE);
        env.put("FLOTILLA_CONTAINER_NAME", LocalTopology.CONTAINER);
        // TimeChaos: the offset is read from this file (re-read every second); the monotonic clock stays real.
        env.put("LD_PRELOAD", faketime.toString());
        env.put("FAKETIME_TIMESTAMP_FILE", replica.clockFile().toString());
        env.put("FAKETIME_CACHE_DURATION", "1");
        env.put("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        // libfaketime 0.9.10's monotonic fix for pthread_cond_timedwait spins with the monotonic clock left alone:
        // an idle JVM burned about a core (measured: 1.1 s CPU over 8 s plain, 10 s with it). Off, the JVM is unaffected.
        env.put("FAKETIME_FORCE_MONOTONIC_FIX", "0");
        try {
            return b.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the replica " + pod, e);
        }
    }
}
