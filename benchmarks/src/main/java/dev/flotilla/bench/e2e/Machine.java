package dev.flotilla.bench.e2e;

import dev.flotilla.testing.ApiServerBinaries;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.zip.ZipFile;

/** What the results were measured on, written next to them. */
record Machine(Map<String, String> facts) {

    static Machine describe(Path josdkJar) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("cpu", firstMatch(Path.of("/proc/cpuinfo"), "model name").orElse("unknown"));
        f.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        f.put("memory", firstMatch(Path.of("/proc/meminfo"), "MemTotal").orElse("unknown"));
        f.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        f.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        f.put("kube-apiserver", "v" + ApiServerBinaries.kubernetesVersion() + " with etcd, local processes");
        f.put("flotilla fabric8", io.fabric8.kubernetes.client.Version.clientVersion());
        f.put("java-operator-sdk", pomVersion(josdkJar, "io.javaoperatorsdk", "operator-framework-core"));
        f.put("java-operator-sdk fabric8", pomVersion(josdkJar, "io.fabric8", "kubernetes-client-api"));
        f.put("load average at start", firstLine(Path.of("/proc/loadavg")));
        return new Machine(java.util.Collections.unmodifiableMap(f));
    }

    String oneLine() {
        return String.join("; ", facts.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList());
    }

    private static java.util.Optional<String> firstMatch(Path file, String key) {
        try {
            return Files.readAllLines(file).stream().filter(l -> l.startsWith(key)).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim().replaceAll("\\s+", " "));
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    private static String firstLine(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return lines.isEmpty() ? "unknown" : lines.getFirst();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String pomVersion(Path jar, String group, String artifact) {
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            var entry = zip.getEntry("META-INF/maven/" + group + "/" + artifact + "/pom.properties");
            if (entry == null) {
                return "unknown";
            }
            try (InputStream in = zip.getInputStream(entry)) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            }
        } catch (IOException e) {
            return "unknown";
        }
    }
}
