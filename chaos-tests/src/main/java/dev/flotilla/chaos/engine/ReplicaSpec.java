package dev.flotilla.chaos.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How the engine starts a replica's process.
 *
 * @param java      the java executable
 * @param classPath holds the flotilla CLI: the built artifact (or a test's class path, which holds the same classes)
 * @param main      {@value #MAIN}, or a test launcher of a deliberately weakened build with its first arguments
 * @param runArgs   arguments after {@code run --kubeconfig FILE}
 * @param faketime  libfaketime, preloaded into every replica (Debian's {@code faketime} package)
 */
public record ReplicaSpec(String java, String classPath, List<String> main, List<String> runArgs, Path faketime) {

    public static final String MAIN = "dev.flotilla.manager.Main";
    /** Debian's libfaketime (the {@code faketime} package). */
    public static final Path DEBIAN_FAKETIME = Path.of("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1");

    /** The product's build: {@value #MAIN} on {@code classPath}. */
    public static ReplicaSpec product(String java, String classPath, List<String> runArgs, Path faketime) {
        return new ReplicaSpec(java, classPath, List.of(MAIN), runArgs, faketime);
    }

    /** The same replicas started by another main class (a deliberately weakened build) with its first arguments. */
    public ReplicaSpec withMain(String... mainAndArgs) {
        return new ReplicaSpec(java, classPath, List.of(mainAndArgs), runArgs, faketime);
    }

    /** The same replicas with {@code flag}'s value among {@code runArgs} replaced (the flag must be there). */
    public ReplicaSpec withRunArg(String flag, String value) {
        int at = runArgs.indexOf(flag);
        if (at < 0 || at + 1 >= runArgs.size()) {
            throw new IllegalArgumentException("no " + flag + " with a value among " + runArgs);
        }
        List<String> args = new java.util.ArrayList<>(runArgs);
        args.set(at + 1, value);
        return new ReplicaSpec(java, classPath, main, args, faketime);
    }

    public ReplicaSpec {
        Objects.requireNonNull(java, "java");
        Objects.requireNonNull(classPath, "classPath");
        main = List.copyOf(main);
        if (main.isEmpty()) {
            throw new IllegalArgumentException("no main class");
        }
        runArgs = List.copyOf(runArgs);
        Objects.requireNonNull(faketime, "faketime");
        if (!Files.isReadable(faketime)) {
            throw new IllegalArgumentException("libfaketime is not at " + faketime
                    + ": install Debian's faketime package (TimeChaos preloads it into every replica)");
        }
    }
}
