package dev.flotilla.manager.cluster;

import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import io.fabric8.kubernetes.api.model.NamedCluster;
import io.fabric8.kubernetes.api.model.NamedContext;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.internal.KubeConfigUtils;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.LoggerFactory;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * Finds and validates the client configuration, in controller-runtime's order:
 *
 * <ol>
 *   <li>{@code --kubeconfig FILE};</li>
 *   <li>{@code $KUBECONFIG} (a path list; missing entries are skipped, as kubectl does);</li>
 *   <li>in-cluster: the pod's service account ({@code $KUBERNETES_SERVICE_HOST} and the token file);</li>
 *   <li>{@code ~/.kube/config}.</li>
 * </ol>
 *
 * fabric8 on its own falls back silently (an unreadable kubeconfig or an unknown context leaves
 * it talking to https://kubernetes.default.svc); this class instead fails with a
 * {@link CliException} of {@link ExitCode#CONFIG} whose message names the file and the problem,
 * for example {@code kubeconfig /tmp/x: not valid YAML (line 3): ...}.
 */
public final class KubeconfigLoader {

    /** Where the in-cluster service account is mounted. */
    public static final Path SERVICE_ACCOUNT_DIR = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    /** The configuration and a human description of where it came from (for logs and messages). */
    public record Loaded(Config config, String source) {
        public Loaded {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(source, "source");
        }
    }

    private final Map<String, String> env;
    private final Path home;
    private final Path serviceAccountDir;

    /** Reads the real environment. */
    public KubeconfigLoader() {
        this(System.getenv(), Path.of(System.getProperty("user.home")), SERVICE_ACCOUNT_DIR);
    }

    /** For tests: a given environment, home directory and service account directory. */
    public KubeconfigLoader(Map<String, String> env, Path home, Path serviceAccountDir) {
        this.env = Map.copyOf(env);
        this.home = Objects.requireNonNull(home, "home");
        this.serviceAccountDir = Objects.requireNonNull(serviceAccountDir, "serviceAccountDir");
    }

    /**
     * @param explicit {@code --kubeconfig}, or null
     * @param context  {@code --context}, or null for the kubeconfig's current-context
     */
    public Loaded load(Path explicit, String context) {
        if (explicit != null) {
            return fromFiles(List.of(explicit), context, true);
        }
        List<Path> fromEnv = kubeconfigEnv();
        if (!fromEnv.isEmpty()) {
            return fromFiles(fromEnv, context, false);
        }
        if (inCluster()) {
            if (context != null) {
                throw new CliException(ExitCode.CONFIG, "--context " + context
                        + " needs a kubeconfig, but none was given and this process runs in-cluster with its service account");
            }
            return inClusterConfig();
        }
        Path defaultFile = home.resolve(".kube").resolve("config");
        if (Files.exists(defaultFile)) {
            return fromFiles(List.of(defaultFile), context, false);
        }
        throw new CliException(ExitCode.CONFIG, "no kubeconfig: --kubeconfig not given, $KUBECONFIG not set, "
                + defaultFile + " does not exist, and not running in a cluster (no service account at "
                + serviceAccountDir + ")");
    }

    /** The flag that lets {@link #requireSecure} accept an insecure connection. */
    public static final String ALLOW_INSECURE_FLAG = "--allow-insecure-api-server";

    /**
     * Refuses (exit 3) a plain-HTTP API server, or one whose certificate is not verified ({@code insecure-skip-tls-verify}),
     * naming the risk, unless {@code allowed}; when allowed, logs that risk once and goes on.
     */
    public static Loaded requireSecure(Loaded loaded, boolean allowed) {
        String url = String.valueOf(loaded.config().getMasterUrl());
        String risk = null;
        if (url.regionMatches(true, 0, "http://", 0, 7)) {
            risk = "the API server at " + url + " is plain HTTP: the credentials and every object the controller reads and"
                    + " writes would cross the network unencrypted, and anyone on the path could answer in the server's name";
        } else if (loaded.config().isTrustCerts()) {
            risk = "insecure-skip-tls-verify is set: the API server's certificate is not checked, so anyone on the path"
                    + " could pose as the server and receive the credentials";
        }
        if (risk == null) {
            return loaded;
        }
        if (!allowed) {
            throw new CliException(ExitCode.CONFIG, loaded.source() + ": " + risk + "; refusing (" + ALLOW_INSECURE_FLAG
                    + " allows it, for a local test setup only)");
        }
        LoggerFactory.getLogger(KubeconfigLoader.class).atWarn().addKeyValue("config", loaded.source()).addKeyValue("risk", risk)
                .log("insecure connection to the API server allowed by " + ALLOW_INSECURE_FLAG);
        return loaded;
    }

    private List<Path> kubeconfigEnv() {
        String value = env.get("KUBECONFIG");
        if (value == null || value.isBlank()) {
            return List.of();
        }
        List<Path> paths = new ArrayList<>();
        for (String part : value.split(File.pathSeparator)) {
            if (!part.isBlank() && Files.exists(Path.of(part))) {
                paths.add(Path.of(part));
            }
        }
        return paths;
    }

    private boolean inCluster() {
        String host = env.get("KUBERNETES_SERVICE_HOST");
        return host != null && !host.isBlank() && Files.isReadable(serviceAccountDir.resolve("token"));
    }

    private Loaded inClusterConfig() {
        String host = env.get("KUBERNETES_SERVICE_HOST").strip();
        String port = env.getOrDefault("KUBERNETES_SERVICE_PORT", "443").strip();
        String url = "https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        Path token = serviceAccountDir.resolve("token");
        ConfigBuilder builder = new ConfigBuilder(Config.empty())
                .withMasterUrl(url)
                // Read on every request: the kubelet rotates projected service account tokens.
                .withOauthTokenProvider(() -> readToken(token));
        Path ca = serviceAccountDir.resolve("ca.crt");
        if (Files.isReadable(ca)) {
            builder.withCaCertFile(ca.toString());
        }
        Path ns = serviceAccountDir.resolve("namespace");
        if (Files.isReadable(ns)) {
            try {
                builder.withNamespace(Files.readString(ns).strip());
            } catch (IOException e) {
                // the namespace is only a default for namespaced calls; Flotilla names namespaces itself
            }
        }
        return new Loaded(builder.build(), "in-cluster service account (" + url + ")");
    }

    private static String readToken(Path token) {
        try {
            return Files.readString(token, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read service account token " + token, e);
        }
    }

    private Loaded fromFiles(List<Path> files, String context, boolean explicit) {
        List<io.fabric8.kubernetes.api.model.Config> parsed = new ArrayList<>();
        for (Path file : files) {
            parsed.add(validateFile(file));
        }
        Path first = files.get(0);
        String label = files.size() == 1 ? "kubeconfig " + first : "kubeconfig " + files;
        List<NamedContext> contexts = new ArrayList<>();
        List<NamedCluster> clusters = new ArrayList<>();
        String current = null;
        for (io.fabric8.kubernetes.api.model.Config c : parsed) {
            if (c.getContexts() != null) {
                c.getContexts().stream().filter(Objects::nonNull).forEach(contexts::add);
            }
            if (c.getClusters() != null) {
                c.getClusters().stream().filter(Objects::nonNull).forEach(clusters::add);
            }
            if (current == null && c.getCurrentContext() != null && !c.getCurrentContext().isBlank()) {
                current = c.getCurrentContext();
            }
        }
        List<String> contextNames = contexts.stream().map(NamedContext::getName).filter(Objects::nonNull).distinct().toList();
        String wanted;
        if (context != null) {
            if (!contextNames.contains(context)) {
                throw new CliException(ExitCode.CONFIG, "context '" + context + "' not found in " + label
                        + " (" + describeNames("contexts", contextNames) + ")");
            }
            wanted = context;
        } else if (current == null) {
            throw new CliException(ExitCode.CONFIG, label + ": no current-context set; pass --context ("
                    + describeNames("contexts", contextNames) + ")");
        } else if (!contextNames.contains(current)) {
            throw new CliException(ExitCode.CONFIG, label + ": current-context '" + current
                    + "' is not among its contexts (" + describeNames("contexts", contextNames) + ")");
        } else {
            wanted = current;
        }
        NamedContext named = contexts.stream().filter(c -> wanted.equals(c.getName())).findFirst().orElseThrow();
        String clusterName = named.getContext() == null ? null : named.getContext().getCluster();
        Optional<NamedCluster> cluster = clusters.stream().filter(c -> c.getName() != null && c.getName().equals(clusterName)).findFirst();
        if (cluster.isEmpty() || cluster.get().getCluster() == null) {
            throw new CliException(ExitCode.CONFIG, label + ": context '" + wanted + "' refers to cluster '"
                    + clusterName + "', which is not defined");
        }
        String server = cluster.get().getCluster().getServer();
        validateServer(label, clusterName, server);

        Config config;
        try {
            if (explicit) {
                config = Config.fromKubeconfig(wanted, first.toFile());
            } else {
                config = Config.autoConfigure(wanted);
            }
        } catch (RuntimeException e) {
            throw new CliException(ExitCode.CONFIG, label + ": " + firstLine(e), e);
        }
        return new Loaded(config, label + " (context " + wanted + ")");
    }

    /** Parses one kubeconfig file, turning every kind of problem into a one-line CONFIG error. */
    static io.fabric8.kubernetes.api.model.Config validateFile(Path file) {
        String label = "kubeconfig " + file;
        if (Files.isDirectory(file)) {
            throw new CliException(ExitCode.CONFIG, label + ": is a directory, not a file");
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CliException(ExitCode.CONFIG, label + ": no such file", e);
        } catch (IOException e) {
            throw new CliException(ExitCode.CONFIG, label + ": cannot read: " + e.getMessage(), e);
        }
        Object doc;
        try {
            doc = new Load(LoadSettings.builder().setLabel(file.toString()).build()).loadFromString(text);
        } catch (MarkedYamlEngineException e) {
            String where = e.getProblemMark().map(m -> " (line " + (m.getLine() + 1) + ", column " + (m.getColumn() + 1) + ")").orElse("");
            throw new CliException(ExitCode.CONFIG, label + ": not valid YAML" + where + ": "
                    + oneLine(e.getProblem() != null ? e.getProblem() : e.getContext()), e);
        } catch (YamlEngineException e) {
            throw new CliException(ExitCode.CONFIG, label + ": not valid YAML: " + firstLine(e), e);
        }
        if (doc == null) {
            throw new CliException(ExitCode.CONFIG, label + ": is empty");
        }
        if (!(doc instanceof Map<?, ?>)) {
            String kind = doc instanceof List<?> ? "a list" : "a " + doc.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
            throw new CliException(ExitCode.CONFIG, label + ": not a kubeconfig: the top level is " + kind
                    + ", expected a mapping with clusters, contexts and users");
        }
        try {
            io.fabric8.kubernetes.api.model.Config parsed = KubeConfigUtils.parseConfig(file.toFile());
            if (parsed == null) {
                throw new CliException(ExitCode.CONFIG, label + ": is empty");
            }
            return parsed;
        } catch (CliException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CliException(ExitCode.CONFIG, label + ": not a valid kubeconfig: " + firstLine(e), e);
        }
    }

    private static void validateServer(String label, String cluster, String server) {
        if (server == null || server.isBlank()) {
            throw new CliException(ExitCode.CONFIG, label + ": cluster '" + cluster + "' has no server URL");
        }
        try {
            URI uri = new URI(server);
            if (!("https".equalsIgnoreCase(uri.getScheme()) || "http".equalsIgnoreCase(uri.getScheme())) || uri.getHost() == null) {
                throw new CliException(ExitCode.CONFIG, label + ": cluster '" + cluster + "' has an invalid server URL '"
                        + server + "' (expected https://host:port)");
            }
        } catch (URISyntaxException e) {
            throw new CliException(ExitCode.CONFIG, label + ": cluster '" + cluster + "' has an invalid server URL '"
                    + server + "': " + e.getReason(), e);
        }
    }

    private static String describeNames(String what, List<String> names) {
        return names.isEmpty() ? "it defines no " + what : what + ": " + String.join(", ", names);
    }

    /** The first line of an exception's message, without Jackson's location noise. */
    static String firstLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            m = e.getCause() != null && e.getCause() != e ? firstLine(e.getCause()) : e.getClass().getSimpleName();
        }
        return oneLine(m);
    }

    private static String oneLine(String m) {
        if (m == null) {
            return "";
        }
        String line = m.strip().lines().findFirst().orElse("").strip();
        int noise = line.indexOf(" at [");
        return noise > 0 ? line.substring(0, noise) : line;
    }
}
