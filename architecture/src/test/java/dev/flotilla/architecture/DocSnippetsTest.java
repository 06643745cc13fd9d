package dev.flotilla.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.testing.docs.MarkdownBlocks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The code the documentation shows compiles against the code as built, so it cannot drift: every
 * {@code <pre>{@code ...}</pre>} example in the Javadoc of every module's main sources, and every
 * {@code ```java} block of the READMEs.
 *
 * <p>An example becomes the body of a method (or, if it declares types, a compilation unit of its
 * own) in the documented class's package, with that file's imports, so it may use what the
 * documented class sees. Besides that, an example may use only the {@link #AMBIENT} names, which
 * stand for "the client/manager/... you already have", and its own givens: leading lines that
 * declare a variable without a value ({@code ContainerResources current;}) say "given a current
 * ContainerResources" and become fields of the wrapper. Anything else it must declare.
 */
class DocSnippetsTest {

    /** Names every example may use without declaring them, and what they are. */
    static final String AMBIENT = """
            io.fabric8.kubernetes.client.KubernetesClient client;
            io.fabric8.kubernetes.client.Config config;
            dev.flotilla.core.manager.Manager manager;
            dev.flotilla.core.reconcile.Reconciler<io.fabric8.kubernetes.api.model.ConfigMap> reconciler;
            io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry;
            dev.flotilla.testing.TestCluster cluster;
            dev.flotilla.testing.TestNamespace ns;
            dev.flotilla.testing.fault.FaultProxy proxy;
            """;

    /**
     * Imports every example gets on top of its file's own: the JDK and Kubernetes model types an
     * example may name without the documented class importing them.
     */
    static final List<String> COMMON_IMPORTS = List.of("java.util.*", "java.util.concurrent.*", "java.util.function.*",
            "java.time.*", "java.net.URI", "java.nio.file.Path", "io.fabric8.kubernetes.api.model.ConfigMap",
            "io.fabric8.kubernetes.api.model.ConfigMapBuilder", "io.fabric8.kubernetes.api.model.HasMetadata",
            "io.fabric8.kubernetes.api.model.Pod", "io.fabric8.kubernetes.client.KubernetesClient",
            "io.fabric8.kubernetes.client.KubernetesClientBuilder", "picocli.CommandLine",
            "dev.flotilla.core.settings.SettingsFile");

    /** What README blocks see besides {@link #COMMON_IMPORTS} (READMEs have no import lines of their own). */
    static final List<String> README_IMPORTS = List.of("io.fabric8.kubernetes.client.Config",
            "dev.flotilla.core.manager.*", "dev.flotilla.core.controller.*", "dev.flotilla.core.reconcile.*",
            "dev.flotilla.core.cache.InformerKey", "dev.flotilla.sharding.*", "dev.flotilla.resilience.guard.*",
            "dev.flotilla.resilience.fabric8.*", "dev.flotilla.examples.mirror.*");

    /** Module directories whose main sources are not on this module's classpath (a separate build). */
    /** The source sets whose Javadoc is documentation: main code and the benchmark contenders' shared code. */
    static final List<String> SOURCE_SETS = List.of("main", "fabric8");

    static final List<String> NOT_ON_CLASSPATH = List.of("benchmarks-josdk", "architecture");

    /** A given: a declaration without initializer, alone on its line (e.g. {@code Map<String, Lease> leases;}). */
    private static final Pattern GIVEN = Pattern.compile("^((?=[\\w.]*[A-Z])[A-Za-z][\\w.]*(<[\\w<>, .?\\[\\]]*>)?|boolean|int|long|double)(\\[\\])*\\s+\\w+;\\s*(//.*)?$");

    private static final Pattern JAVADOC_EXAMPLE = Pattern.compile("<pre>\\{@code\\R(.*?)\\R\\s*\\*?\\s*}</pre>", Pattern.DOTALL);
    private static final Pattern TYPE_DECLARATION = Pattern.compile(
            "(?m)^\\s*(@\\w+(\\([^)]*\\))?\\s+)*((public|protected|private|static|final|abstract|sealed)\\s+)*"
                    + "(class|record|interface|enum)\\s+\\w+");

    /** One example and where it came from. */
    record Snippet(Path source, int line, String packageName, List<String> imports, String code) {
        /** The leading given lines (see the class comment). */
        List<String> givens() {
            return code.lines().takeWhile(l -> GIVEN.matcher(l.strip()).matches()).toList();
        }

        /** The code after the givens, each given replaced by an empty line so line numbers stay. */
        String body() {
            int n = givens().size();
            return "\n".repeat(n) + code.lines().skip(n).collect(Collectors.joining("\n", "", "\n"));
        }

        String where(Path root) {
            return root.relativize(source) + ":" + line;
        }

        boolean declaresTypes() {
            return TYPE_DECLARATION.matcher(code).find();
        }
    }

    /**
     * The walk reaches every module the build has, however deep (examples/configmap-mirror), so no module's
     * examples go unchecked because of where it sits.
     */
    @Test
    void everyModuleWithMainSourcesIsSearched() throws IOException {
        Path root = MarkdownBlocks.repositoryFile("").toAbsolutePath().normalize();
        List<Path> roots = sourceRoots(root);
        List<String> modules = modulesOf(root, root.resolve("pom.xml"));
        assertThat(modules).as("modules in pom.xml").contains("examples/configmap-mirror", "controller-core");
        for (String module : modules) {
            Path main = root.resolve(module).resolve("src/main/java");
            if (Files.isDirectory(main) && !NOT_ON_CLASSPATH.contains(module)) {
                assertThat(roots).as("source roots searched for examples").contains(main);
            }
        }
        assertThat(roots).contains(root.resolve("benchmarks-protocol/src/fabric8/java"));
    }

    /** The modules a POM lists, and theirs, as paths relative to the repository root. */
    private static List<String> modulesOf(Path root, Path pom) throws IOException {
        List<String> found = new ArrayList<>();
        Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(Files.readString(pom));
        while (m.find()) {
            Path dir = pom.getParent().resolve(m.group(1).strip()).normalize();
            found.add(root.relativize(dir).toString());
            if (Files.exists(dir.resolve("pom.xml"))) {
                found.addAll(modulesOf(root, dir.resolve("pom.xml")));
            }
        }
        return found;
    }

    @Test
    void everyDocumentedExampleCompiles(@TempDir Path work) throws IOException {
        Path root = MarkdownBlocks.repositoryFile("").toAbsolutePath().normalize();
        List<Snippet> snippets = new ArrayList<>();
        snippets.addAll(javadocExamples(root));
        snippets.addAll(readmeBlocks(root));
        assertThat(snippets).as("examples found").hasSizeGreaterThan(80);

        List<Path> units = new ArrayList<>();
        List<Snippet> byUnit = new ArrayList<>();
        for (int i = 0; i < snippets.size(); i++) {
            Snippet s = snippets.get(i);
            String className = "DocSnippet" + i;
            Path dir = work.resolve(s.packageName().replace('.', '/'));
            Files.createDirectories(dir);
            Path unit = dir.resolve(className + ".java");
            Files.writeString(unit, wrap(s, className));
            units.add(unit);
            byUnit.add(s);
        }

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (var files = javac.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            Path out = Files.createDirectories(work.resolve("classes"));
            List<String> options = List.of("-proc:none", "-Xlint:none", "-nowarn", "-d", out.toString(),
                    "-classpath", System.getProperty("java.class.path"));
            javac.getTask(null, files, diagnostics, options, null, files.getJavaFileObjectsFromPaths(units)).call();
        }
        List<String> errors = new ArrayList<>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR) {
                continue;
            }
            String name = Path.of(d.getSource().toUri()).getFileName().toString();
            int index = Integer.parseInt(name.substring("DocSnippet".length(), name.length() - ".java".length()));
            Snippet s = byUnit.get(index);
            long snippetLine = d.getLineNumber() - headerLines(s);
            errors.add(s.where(root) + " (example line " + snippetLine + "): " + d.getMessage(Locale.ROOT).lines().limit(2).map(String::strip).collect(Collectors.joining(": ")));
        }
        assertThat(errors).as("documentation examples that do not compile (%d examples checked)", snippets.size()).isEmpty();
    }

    /** The wrapper's lines before the example's first line, to map javac's line numbers back. */
    private static long headerLines(Snippet s) {
        return header(s, "X").lines().count();
    }

    private static String header(Snippet s, String className) {
        StringBuilder b = new StringBuilder();
        b.append("package ").append(s.packageName()).append(";\n");
        for (String i : s.imports()) {
            b.append("import ").append(i).append(";\n");
        }
        for (String i : COMMON_IMPORTS) {
            b.append("import ").append(i).append(";\n");
        }
        b.append("@SuppressWarnings(\"all\") abstract class ").append(className).append(" {\n");
        AMBIENT.lines().forEach(l -> b.append(l).append('\n'));
        if (!s.declaresTypes()) {
            s.givens().forEach(g -> b.append(g.strip()).append('\n'));
            b.append("void example() throws Exception {\n");
        }
        return b.toString();
    }

    private static String wrap(Snippet s, String className) {
        if (s.declaresTypes()) {
            // Top level, after the (empty) wrapper: the example's types are what a reader would write in a file.
            return header(s, className) + "}\n" + s.code();
        }
        return header(s, className) + s.body() + "}\n}\n";
    }

    static List<Snippet> javadocExamples(Path root) throws IOException {
        List<Snippet> found = new ArrayList<>();
        for (Path sourceRoot : sourceRoots(root)) {
            try (Stream<Path> walk = Files.walk(sourceRoot)) {
                for (Path file : walk.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                    found.addAll(examplesOf(file));
                }
            }
        }
        return found;
    }

    /**
     * Every main source root of the project at any depth ({@code src/main/java}, and the contender sources
     * {@code src/fabric8/java} that benchmarks compiles), except those of modules not on this classpath.
     */
    static List<Path> sourceRoots(Path root) throws IOException {
        try (Stream<Path> walk = projectFiles(root)) {
            return walk.filter(p -> Files.isDirectory(p) && p.getFileName().toString().equals("java")
                            && p.getParent().getParent().getFileName().toString().equals("src")
                            && SOURCE_SETS.contains(p.getParent().getFileName().toString()))
                    .filter(p -> NOT_ON_CLASSPATH.stream().noneMatch(m -> root.relativize(p).startsWith(m)))
                    .sorted().toList();
        }
    }

    /** The project's files, without build output, Git's files or installed node modules. */
    private static Stream<Path> projectFiles(Path root) throws IOException {
        return Files.walk(root).filter(p -> {
            Path rel = root.relativize(p);
            for (Path part : rel) {
                String name = part.toString();
                if (name.equals("target") || name.equals(".git") || name.equals("node_modules")) {
                    return false;
                }
            }
            return true;
        });
    }

    private static List<Snippet> examplesOf(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Matcher pkg = Pattern.compile("(?m)^package\\s+([\\w.]+);").matcher(text);
        String packageName = pkg.find() ? pkg.group(1) : "";
        List<String> imports = Pattern.compile("(?m)^import\\s+(static\\s+)?([\\w.*]+);").matcher(text).results()
                .map(m -> (m.group(1) == null ? "" : "static ") + m.group(2)).collect(Collectors.toList());
        List<Snippet> found = new ArrayList<>();
        Matcher m = JAVADOC_EXAMPLE.matcher(text);
        while (m.find()) {
            int line = (int) text.substring(0, m.start(1)).lines().count() + 1;
            String code = m.group(1).lines().map(l -> l.replaceFirst("^\\s*\\* ?", ""))
                    .map(l -> l.replace("{@literal @}", "@").replace("&#64;", "@"))
                    .collect(Collectors.joining("\n", "", "\n"));
            found.add(new Snippet(file, line, packageName, imports, code));
        }
        int opened = text.split("<pre>\\{@code", -1).length - 1;
        if (opened != found.size()) {
            // An example this test cannot cut out would go unchecked: say so rather than skip it.
            throw new AssertionError(file + ": " + opened + " <pre>{@code examples but " + found.size()
                    + " end with a line holding only }</pre>");
        }
        return found;
    }

    static List<Snippet> readmeBlocks(Path root) throws IOException {
        List<Snippet> found = new ArrayList<>();
        List<Path> readmes;
        try (Stream<Path> walk = projectFiles(root)) {
            readmes = walk.filter(p -> p.getFileName().toString().equals("README.md")).sorted().toList();
        }
        for (Path readme : readmes) {
            for (MarkdownBlocks.Block b : MarkdownBlocks.of(readme)) {
                if (b.language().equals("java")) {
                    found.add(new Snippet(readme, b.line(), "dev.flotilla.docs", README_IMPORTS, b.text()));
                }
            }
        }
        return found;
    }
}
