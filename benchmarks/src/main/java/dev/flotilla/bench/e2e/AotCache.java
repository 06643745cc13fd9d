package dev.flotilla.bench.e2e;

import dev.flotilla.testing.JarClasspath;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The AOT cache (JEP 483) of the Flotilla contender, trained by the benchmark on that contender's own JVM and
 * classpath before it measures, as the build trains the {@code flotilla} launcher's and the image's on theirs
 * ({@code scripts/aot-training.sh}). A cache serves only the JVM flags, runtime and jars it was trained with, so the
 * training run and the measured runs start from the same command but for {@link #flags()}.
 *
 * @param file      the cache
 * @param classpath the contender's classpath: the driver's, with every directory packed into a jar (the JVM caches
 *                  classes from jars only; a directory is only there when the driver runs from a build's classes)
 * @param training  whether the flags write the cache ({@code -XX:AOTCacheOutput}) rather than use it
 */
record AotCache(Path file, String classpath, boolean training) {

    /** A cache to be trained at {@code file}, with the driver's classpath made jars-only ({@link JarClasspath}) beside it. */
    static AotCache toTrain(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        return new AotCache(file.toAbsolutePath(), JarClasspath.of(System.getProperty("java.class.path"), file.toAbsolutePath().getParent()),
                true);
    }

    /** The same cache, for runs that use what training wrote. */
    AotCache trained() {
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("no AOT cache at " + file + ": the training run wrote none");
        }
        return new AotCache(file, classpath, false);
    }

    /** Training writes the cache; a measured run requires it ({@code AOTMode=on}: a cache the JVM cannot use stops it). */
    List<String> flags() {
        return training ? List.of("-XX:AOTCacheOutput=" + file) : List.of("-XX:AOTCache=" + file, "-XX:AOTMode=on");
    }
}
