package dev.flotilla.manager;

import dev.flotilla.core.controller.ControllerBuilder;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.events.EventRecorder;
import dev.flotilla.core.manager.CacheSyncException;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.resilience.GuardConfig;
import dev.flotilla.resilience.GuardedClients;
import dev.flotilla.manager.cluster.KubeconfigLoader;
import dev.flotilla.manager.cluster.StartupChecks;
import dev.flotilla.manager.mirror.ConfigMapMirror;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code flotilla run}: checks the kubeconfig, the API server and the permissions, then runs the
 * built-in controllers until SIGTERM/SIGINT, draining in-flight reconciles within
 * {@code --shutdown-timeout}.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the built-in controllers (configmap-mirror) against a cluster until SIGTERM.",
                "Before starting it checks, in order: the kubeconfig parses (exit 3), the API server answers "
                        + "GET /version (exit 4), and RBAC allows what the controller needs (exit 5)."})
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--kubeconfig", paramLabel = "FILE",
            description = "Kubeconfig file. Default: $KUBECONFIG, else the in-cluster service account, else ~/.kube/config.")
    Path kubeconfig;

    @Option(names = "--context", paramLabel = "NAME", description = "Kubeconfig context. Default: its current-context.")
    String context;

    @Option(names = "--health-port", paramLabel = "PORT", defaultValue = "" + ManagerOptions.DEFAULT_HEALTH_PORT,
            description = "Port of /metrics, /healthz and /readyz; 0 picks a free port, -1 turns them off. Default: ${DEFAULT-VALUE}.")
    int healthPort;

    @Option(names = "--health-bind-address", paramLabel = "ADDRESS", defaultValue = ManagerOptions.DEFAULT_HEALTH_BIND_ADDRESS,
            description = "Address the health server binds. Default: ${DEFAULT-VALUE}.")
    String healthBindAddress;

    @Option(names = "--shutdown-timeout", paramLabel = "DURATION", defaultValue = "30s", converter = Durations.Converter.class,
            description = "How long a shutdown lets queued and in-flight reconciles finish (30s, 1m, PT30S). Default: 30s.")
    Duration shutdownTimeout;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "" + ControllerBuilder.DEFAULT_WORKERS,
            description = "Concurrent reconciles of the configmap-mirror controller (at least 1). Default: ${DEFAULT-VALUE}.")
    int workers;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file with settings; today the API guard's resilience.* keys "
                    + "(resilience.qps, resilience.burst, resilience.breaker.*, resilience.retry.*; see resilience/README.md).")
    java.nio.file.Path configFile;

    @Option(names = "--qps", paramLabel = "QPS",
            description = "API requests per second for this replica (overrides resilience.qps). Default: "
                    + GuardConfig.DEFAULT_QPS + ".")
    Double qps;

    @Option(names = "--burst", paramLabel = "N",
            description = "API request burst (overrides resilience.burst). Default: " + GuardConfig.DEFAULT_BURST + ".")
    Integer burst;

    /** The guard's settings: defaults, then --config, then --qps/--burst; any problem is a configuration error. */
    GuardConfig guardConfig() {
        java.util.Map<String, String> values = new java.util.HashMap<>();
        if (configFile != null) {
            java.util.Properties p = new java.util.Properties();
            try (var in = java.nio.file.Files.newBufferedReader(configFile)) {
                p.load(in);
            } catch (java.io.IOException | IllegalArgumentException e) {
                throw new CliException(ExitCode.CONFIG, "config " + configFile + ": cannot read: " + e.getMessage(), e);
            }
            p.stringPropertyNames().forEach(k -> values.put(k, p.getProperty(k)));
        }
        if (qps != null) {
            values.put(GuardConfig.KEY_QPS, Double.toString(qps));
        }
        if (burst != null) {
            values.put(GuardConfig.KEY_BURST, Integer.toString(burst));
        }
        try {
            return GuardConfig.fromMap(values);
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCode.CONFIG, (configFile == null ? "" : "config " + configFile + ": ")
                    + e.getMessage().replace('\n', ' '), e);
        }
    }

    @Override
    public Integer call() throws Exception {
        main.logging();
        validate();
        GuardConfig guard = guardConfig();
        KubeconfigLoader.Loaded loaded = new KubeconfigLoader().load(kubeconfig, context);
        String serverVersion = StartupChecks.verify(loaded.config(), loaded.source(), ConfigMapMirror.REQUIRED_PERMISSIONS);

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // Every request the controllers make passes the guard; fabric8's own retry is off.
        KubernetesClient client = GuardedClients.newClient(loaded.config(), guard, registry);
        ManagerOptions options = ManagerOptions.defaults().withHealthPort(healthPort)
                .withHealthBindAddress(healthBindAddress).withShutdownTimeout(shutdownTimeout);
        EventRecorder events = new EventRecorder(client, ConfigMapMirror.FIELD_MANAGER, instanceName(), Clock.systemUTC());
        Manager manager = new Manager(client, options, KeyGate.admitAll(), registry);
        try {
            ConfigMapMirror.register(manager, workers, events, UnaryOperator.identity());
            log.atInfo().addKeyValue("version", Version.get())
                    .addKeyValue("apiServer", hostOf(loaded.config().getMasterUrl()))
                    .addKeyValue("serverVersion", serverVersion)
                    .addKeyValue("controllers", List.of(ConfigMapMirror.CONTROLLER_NAME))
                    .addKeyValue("workers", workers)
                    .addKeyValue("config", loaded.source())
                    .log("flotilla starting");
            try {
                manager.start();
            } catch (CacheSyncException e) {
                // start() already stopped the informers; stop() after a failed start would wait forever.
                throw new CliException(ExitCode.FAILURE, e.getMessage(), e);
            } catch (UncheckedIOException e) {
                throw new CliException(ExitCode.CONFIG, e.getMessage(), e);
            }
            // Installed only once started: a hook calling stop() after a failed start() would hang the JVM's exit.
            manager.installShutdownHook();
            if (manager.healthPort() > 0) {
                log.atInfo().addKeyValue("metrics", "http://" + healthBindAddress + ":" + manager.healthPort() + "/metrics")
                        .log("serving /metrics, /healthz, /readyz");
            }
            manager.awaitTermination();
            return ExitCode.OK.code();
        } finally {
            events.close();
            client.close();
        }
    }

    private void validate() {
        if (workers < 1) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--workers': must be at least 1, got " + workers);
        }
        if (healthPort < -1 || healthPort > 65535) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--health-port': must be -1 (off), 0 (any free port) or 1-65535, got " + healthPort);
        }
        if (healthBindAddress.isBlank()) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--health-bind-address': empty");
        }
    }

    static String hostOf(String url) {
        try {
            URI uri = URI.create(url);
            return uri.getPort() < 0 ? uri.getHost() : uri.getHost() + ":" + uri.getPort();
        } catch (IllegalArgumentException e) {
            return url;
        }
    }

    private static String instanceName() {
        String pod = System.getenv("POD_NAME");
        if (pod != null && !pod.isBlank()) {
            return pod;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "flotilla";
        }
    }
}
