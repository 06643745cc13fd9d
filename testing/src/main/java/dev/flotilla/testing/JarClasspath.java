package dev.flotilla.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * A classpath made of jars only, for JVMs started with an AOT cache (JEP 483): the JDK caches classes loaded from jars
 * and refuses a classpath with a non-empty directory, which is what a build's or a test's classpath holds.
 *
 * <pre>{@code
 * String classpath = JarClasspath.of(System.getProperty("java.class.path"), Path.of("target", "aot-jars"));
 * }</pre>
 */
public final class JarClasspath {

    /** Entry times in the jars: fixed, so a jar's bytes depend on its files' content only. */
    private static final FileTime EPOCH = FileTime.fromMillis(0);

    private JarClasspath() {
    }

    /**
     * {@code classpath} with each directory replaced by a jar of its files, written into {@code dir} and named by a hash
     * of their names and content: an unchanged directory keeps its jar (and the jar its size and time, which an AOT
     * cache checks), so a cache trained on the result stays valid across runs.
     */
    public static String of(String classpath, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> entries = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            entries.add(Files.isDirectory(p) ? jarOf(p, dir).toAbsolutePath().toString() : entry);
        }
        return String.join(File.pathSeparator, entries);
    }

    /** A jar of {@code classes}' files in {@code dir}, named by their content: written only when no jar of that content exists. */
    private static Path jarOf(Path classes, Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(classes)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        MessageDigest digest = sha256();
        for (Path f : files) {
            digest.update(classes.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
            digest.update(Files.readAllBytes(f));
        }
        // target/classes of module m: "m-classes-<hash>.jar"
        Path parent = classes.toAbsolutePath().getParent();
        String module = (parent.getParent() != null ? parent.getParent().getFileName() + "-" : "") + classes.getFileName();
        Path jar = dir.resolve(module + "-" + HexFormat.of().formatHex(digest.digest()).substring(0, 16) + ".jar");
        if (Files.exists(jar)) {
            return jar;
        }
        Path partial = dir.resolve(jar.getFileName() + ".partial");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(partial))) {
            for (Path f : files) {
                JarEntry e = new JarEntry(classes.relativize(f).toString().replace(File.separatorChar, '/'));
                e.setLastModifiedTime(EPOCH);
                out.putNextEntry(e);
                out.write(Files.readAllBytes(f));
                out.closeEntry();
            }
        }
        Files.move(partial, jar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return jar;
    }

    /** A hex SHA-256 of {@code s}: to name a cache by the classpath, runtime and flags it serves. */
    public static String hash(String s) {
        return HexFormat.of().formatHex(sha256().digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
