package dev.flotilla.manager;

import dev.flotilla.cli.Version;
import dev.flotilla.cli.DurationConverter;
import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.core.settings.Durations;
import dev.flotilla.manager.cluster.ClusterOptions;
import dev.flotilla.core.cache.WatchedNamespaces;
import dev.flotilla.core.names.DnsNames;
import dev.flotilla.core.controller.ControllerBuilder;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.events.EventRecorder;
import dev.flotilla.core.health.KubernetesMetricsAuthorizer;
import dev.flotilla.core.health.MetricsAuthorizer;
import dev.flotilla.core.health.MetricsServing;
import dev.flotilla.core.health.ServingCertificate;
import dev.flotilla.core.manager.CacheSyncException;
import dev.flotilla.core.manager.ExtensionStartException;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.metrics.RuntimeMetrics;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import dev.flotilla.resilience.fabric8.GuardedClients;
import dev.flotilla.manager.cluster.KubeconfigLoader;
import dev.flotilla.manager.cluster.StartupChecks;
import dev.flotilla.core.rbac.ApiPermission;
import dev.flotilla.core.settings.InvalidSettingsException;
import dev.flotilla.core.settings.SettingsFile;
import dev.flotilla.core.settings.SettingsSection;
import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.tuning.controller.KillSwitch;
import dev.flotilla.tuning.controller.ResourceTuner;
import dev.flotilla.tuning.signals.PrometheusClient;
import dev.flotilla.tuning.signals.PrometheusSettings;
import dev.flotilla.tuning.signals.SignalMetric;
import dev.flotilla.tuning.signals.SignalMetrics;
import dev.flotilla.sharding.DuplicateIdentityException;
import dev.flotilla.sharding.ShardSpace;
import dev.flotilla.sharding.PodReference;
import dev.flotilla.sharding.Sharding;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.sharding.ShardingSettings;
import dev.flotilla.sharding.ShardingSetupException;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import dev.flotilla.core.reconcile.Result;
import io.fabric8.kubernetes.api.model.ConfigMap;
import dev.flotilla.core.reconcile.Reconciler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code flotilla run}: checks the kubeconfig, the API server and the permissions, then runs the
 * built-in controllers until SIGTERM/SIGINT as one replica of a sharding group ({@link Sharding},
 * settings from {@link ShardingSettings}) unless {@code --no-sharding}. On SIGTERM it leaves the
 * group first (its shards go to the others at once), then drains in-flight reconciles within
 * {@code --shutdown-timeout}. If another replica takes over its identity the manager abandons the
 * group, stops the same way and this exits {@link ExitCode#SHARDING}. The order is the manager's
 * ({@link Manager#install}); this class only maps outcomes to exit codes.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the built-in controllers (configmap-mirror) against a cluster until SIGTERM, as one "
                + "sharded replica (unless --no-sharding): replicas of one group split the namespaces by hash.",
                "Before starting it checks, in order: the kubeconfig parses (exit 3), the API server answers "
                        + "GET /version (exit 4), and RBAC allows what the controller and sharding need (exit 5). "
                        + "It exits 6 if it cannot join or stay in its sharding group."})
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    /** The secure metrics port, as controller-runtime's kubebuilder scaffolding uses. */
    static final int DEFAULT_METRICS_PORT = 8443;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    /**
     * Deliberate weakenings, only for the chaos suite's proof that its invariants can fail (a test
     * launcher in chaos-tests builds a RunCommand with them); {@code flotilla run} never has one.
     */
    enum Weakening {
        /** Writes are not asked for the shard's lease right before they are sent. */
        WRITE_FENCE_OFF,
        /** Each source is mirrored once; later updates of it are dropped. */
        DROPS_UPDATES
    }

    private final Set<Weakening> weakenings;

    RunCommand() {
        this(Set.of());
    }

    RunCommand(Set<Weakening> weakenings) {
        this.weakenings = Set.copyOf(weakenings);
    }

    /** The {@link Weakening#DROPS_UPDATES} reconciler: the first reconcile of a key passes, later ones do nothing. */
    private static Reconciler<io.fabric8.kubernetes.api.model.ConfigMap> droppingUpdates(
            Reconciler<io.fabric8.kubernetes.api.model.ConfigMap> inner) {
        Set<Object> seen = ConcurrentHashMap.newKeySet();
        return request -> seen.add(request.key()) ? inner.reconcile(request) : new Result.Done();
    }

    @Option(names = "--health-port", paramLabel = "PORT", defaultValue = "" + ManagerOptions.DEFAULT_HEALTH_PORT,
            description = "Port of /healthz and /readyz (plain HTTP, for the kubelet); 0 picks a free port, -1 turns them off. "
                    + "Default: ${DEFAULT-VALUE}.")
    int healthPort;

    @Option(names = "--health-bind-address", paramLabel = "ADDRESS", defaultValue = ManagerOptions.DEFAULT_HEALTH_BIND_ADDRESS,
            description = "Address the health server binds. Default: ${DEFAULT-VALUE}.")
    String healthBindAddress;

    @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "" + DEFAULT_METRICS_PORT,
            description = "Port of /metrics; 0 picks a free port, -1 turns it off. Default: ${DEFAULT-VALUE}.")
    int metricsPort;

    @Option(names = "--metrics-bind-address", paramLabel = "ADDRESS", defaultValue = ManagerOptions.DEFAULT_HEALTH_BIND_ADDRESS,
            description = "Address the metrics server binds. Default: ${DEFAULT-VALUE}.")
    String metricsBindAddress;

    @Option(names = "--metrics-secure", paramLabel = "BOOLEAN", arity = "0..1", defaultValue = "true", fallbackValue = "true",
            description = "Serve /metrics over HTTPS and only to callers whose bearer token the API server accepts "
                    + "(TokenReview) and allows get on /metrics (SubjectAccessReview; ClusterRole flotilla-metrics-reader). "
                    + "--metrics-secure=false serves plain HTTP to anyone, for local use. Default: true.")
    boolean metricsSecure;

    @Option(names = "--metrics-cert-dir", paramLabel = "DIR",
            description = "Directory with tls.crt and tls.key (a mounted kubernetes.io/tls Secret) for /metrics. "
                    + "Default: a self-signed certificate generated at start.")
    java.nio.file.Path metricsCertDir;

    @Option(names = "--shutdown-timeout", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
            description = "How long a shutdown lets queued and in-flight reconciles finish (30s, 1m, PT30S). Default: 30s.")
    Duration shutdownTimeout;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "" + ControllerBuilder.DEFAULT_WORKERS,
            description = "Concurrent reconciles of the configmap-mirror controller (at least 1). Default: ${DEFAULT-VALUE}.")
    int workers;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file with settings: the API guard's resilience.* keys "
                    + "(resilience.qps, resilience.burst, resilience.breaker.*, resilience.retry.*; see resilience/README.md) "
                    + "and sharding.* (enabled, lease-namespace, group, shards, lease-duration, renew-deadline, "
                    + "retry-period). Flags override the file.")
    java.nio.file.Path configFile;

    @Option(names = "--qps", paramLabel = "QPS",
            description = "API requests per second for this replica (overrides resilience.qps). Default: "
                    + GuardConfig.DEFAULT_QPS + ".")
    Double qps;

    @Option(names = "--burst", paramLabel = "N",
            description = "API request burst (overrides resilience.burst). Default: " + GuardConfig.DEFAULT_BURST + ".")
    Integer burst;

    @Option(names = "--prometheus-url", paramLabel = "URL",
            description = "Prometheus to read the tuner's signals from (cAdvisor, PSI, eBPF exporter): its base URL, http:// or "
                    + "https://, a path prefix allowed, no query; enables the resource tuner (ResourceTuningPolicy). "
                    + "Without it the tuner is off.")
    URI prometheusUrl;

    @Option(names = "--signal-metric", paramLabel = "KEY=NAME",
            description = "The metric the tuner reads for KEY, when your exporters name it otherwise (repeatable); KEY is one of "
                    + "cpuUsage, cfsThrottledPeriods, cfsPeriods, memoryWorkingSet, cpuPressureWaiting, memoryPressureStalled, "
                    + "oomEvents, runQueueLatencyBucket, ebpfOomKills. A policy's spec.signalMetrics overrides it. Default: the "
                    + "names Flotilla's node agent exports (cAdvisor's, and ebpf_exporter's for the eBPF signals).")
    Map<String, String> signalMetricFlags = new LinkedHashMap<>();

    @Option(names = "--namespaces", paramLabel = "NAMESPACE", split = ",",
            description = "Work in these namespaces only (comma-separated), each watched on its own: a Role in each of "
                    + "them is enough, no ClusterRole (deploy/components/namespaced). Sharding splits the listed namespaces. "
                    + "Not with --prometheus-url. Default: every namespace.")
    List<String> namespaces;

    @Option(names = "--no-sharding",
            description = "Run unsharded: this replica reconciles every namespace and takes no Leases; run only one such "
                    + "replica (same as sharding.enabled=false).")
    boolean noSharding;

    @Option(names = "--identity", paramLabel = "NAME",
            description = "This replica's name, unique among the live replicas of its group (lower-case letters, digits "
                    + "and '-'). Default: $POD_NAME, else the hostname's first label.")
    String identity;

    @Option(names = "--lease-namespace", paramLabel = "NAMESPACE",
            description = "Namespace of the group's membership, shard and coordinator Leases (overrides "
                    + "sharding.lease-namespace). Default: $POD_NAMESPACE, else default.")
    String leaseNamespace;

    @Option(names = "--shards", paramLabel = "N",
            description = "Virtual shards the namespaces are hashed into, 1-" + ShardSpace.MAX_SHARDS
                    + "; every replica of a group must use the same (overrides sharding.shards). Default: "
                    + ShardSpace.DEFAULT_SHARDS + ".")
    Integer shards;

    @Option(names = "--sharding-group", paramLabel = "NAME",
            description = "Prefix of the group's Lease names, so several deployments can share a lease namespace "
                    + "(overrides sharding.group). Default: " + ShardingConfig.DEFAULT_GROUP + ".")
    String shardingGroup;

    // Durations are not compile-time constants, so these three defaults are written out; ShardingSettingsTest
    // checks them against ShardingConfig's, which are the values actually used.
    @Option(names = "--lease-duration", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long others wait after a Lease's last renewal before taking it over; whole seconds "
                    + "(overrides sharding.lease-duration). Default: 15s.")
    Duration leaseDuration;

    @Option(names = "--renew-deadline", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long a replica keeps working on a shard without a successful renewal; shorter than "
                    + "the lease duration (overrides sharding.renew-deadline). Default: 10s.")
    Duration renewDeadline;

    @Option(names = "--retry-period", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How often Leases are renewed and retried; shorter than the renew deadline (overrides "
                    + "sharding.retry-period). Default: 2s.")
    Duration retryPeriod;

    /**
     * The sections of the settings file this command reads, one per component; a key none of them
     * defines is refused.
     */
    static final List<SettingsSection> SETTINGS_SECTIONS = List.of(GuardConfig.SETTINGS, ShardingSettings.SETTINGS);

    /**
     * The --config file (empty without one) with every key checked against {@link #SETTINGS_SECTIONS};
     * an unreadable file, a mistyped prefix or an unknown key is a configuration error naming file and key.
     */
    SettingsFile settingsFile() {
        try {
            SettingsFile file = configFile == null ? SettingsFile.empty() : SettingsFile.read(configFile);
            file.requireKnownKeys(SETTINGS_SECTIONS);
            return file;
        } catch (InvalidSettingsException e) {
            throw new CliException(ExitCode.CONFIG, e.getMessage(), e);
        }
    }

    /**
     * The sharding settings: {@link ShardingConfig}'s defaults, then sharding.* of --config, then flags;
     * empty with --no-sharding. A bad flag is a usage error naming it, a bad key or variable a configuration error.
     */
    Optional<ShardingConfig> shardingConfig(ShardingSettings settings, SettingsFile file) {
        ShardingSettings.Flags flags = new ShardingSettings.Flags(noSharding, identity, leaseNamespace, shardingGroup, shards,
                leaseDuration, renewDeadline, retryPeriod);
        try {
            return settings.resolve(file, flags);
        } catch (ShardingSettings.Problem p) {
            if (p.flag() != null) {
                throw new ParameterException(spec.commandLine(), p.getMessage());
            }
            throw new CliException(ExitCode.CONFIG, p.getMessage(), p);
        } catch (InvalidSettingsException e) {
            throw new CliException(ExitCode.CONFIG, e.getMessage(), e);
        }
    }

    /** What the startup check asks RBAC for: the controller's needs, then sharding's. */
    static List<ApiPermission> requiredPermissions(Optional<ShardingConfig> sharding) {
        return requiredPermissions(sharding, false);
    }

    static List<ApiPermission> requiredPermissions(Optional<ShardingConfig> sharding, boolean tuner) {
        return requiredPermissions(sharding, Optional.empty(), tuner);
    }

    static List<ApiPermission> requiredPermissions(Optional<ShardingConfig> sharding, Optional<PodReference> pod, boolean tuner) {
        return requiredPermissions(sharding, pod, tuner, WatchedNamespaces.all());
    }

    /** With {@code --namespaces}, the controller's permissions hold in each listed namespace instead of cluster-wide. */
    static List<ApiPermission> requiredPermissions(Optional<ShardingConfig> sharding, Optional<PodReference> pod, boolean tuner,
            WatchedNamespaces watched) {
        return requiredPermissions(sharding, pod, tuner, watched, false);
    }

    /** With {@code secureMetrics}, also the reviews that decide who may read /metrics. */
    static List<ApiPermission> requiredPermissions(Optional<ShardingConfig> sharding, Optional<PodReference> pod, boolean tuner,
            WatchedNamespaces watched, boolean secureMetrics) {
        List<ApiPermission> required = new ArrayList<>(watched instanceof WatchedNamespaces.Listed listed
                ? ApiPermission.inEach(ConfigMapMirror.REQUIRED_PERMISSIONS, listed.names())
                : ConfigMapMirror.REQUIRED_PERMISSIONS);
        sharding.ifPresent(c -> required.addAll(Sharding.requiredPermissions(c.leaseNamespace(), watched)));
        pod.ifPresent(p -> required.addAll(Sharding.restartProofPermissions(p.namespace())));
        if (tuner) {
            required.addAll(ResourceTuner.REQUIRED_PERMISSIONS);
        }
        if (secureMetrics) {
            required.addAll(KubernetesMetricsAuthorizer.REQUIRED_PERMISSIONS);
        }
        return required;
    }

    /**
     * The guard's settings: defaults, then the resilience.* keys of {@code file} (the --config file), then
     * --qps/--burst, which replace the file's values before they are read, so a bad value they override never
     * matters. Any problem is a configuration error on one line naming the key (and the file).
     */
    GuardConfig guardConfig(SettingsFile file) {
        SettingsFile withFlags = file;
        if (qps != null || burst != null) {
            // A problem may now come from the file or from a flag: messages name both.
            withFlags = SettingsFile.of(file.values().isEmpty() ? "--qps/--burst" : file.origin() + " with --qps/--burst",
                    file.values());
        }
        if (qps != null) {
            withFlags = withFlags.with(GuardConfig.KEY_QPS, Double.toString(qps));
        }
        if (burst != null) {
            withFlags = withFlags.with(GuardConfig.KEY_BURST, Integer.toString(burst));
        }
        try {
            return GuardConfig.from(withFlags);
        } catch (IllegalArgumentException e) { // InvalidSettingsException included
            throw new CliException(ExitCode.CONFIG, e.getMessage().replace('\n', ' '), e);
        }
    }

    @Override
    public Integer call() throws Exception {
        main.logging();
        validate();
        WatchedNamespaces watched = watchedNamespaces();
        // Before connecting: a bad certificate or key is a configuration error, and nothing has been started yet.
        Optional<SSLContext> metricsTls = metricsTls();
        SettingsFile settings = settingsFile();
        GuardConfig guard = guardConfig(settings);
        ShardingSettings shardingSettings = new ShardingSettings(System.getenv(), ShardingSettings::hostname);
        Optional<ShardingConfig> shardingConfig = shardingConfig(shardingSettings, settings);
        Optional<PodReference> pod;
        try {
            pod = shardingConfig.flatMap(shardingSettings::pod);
        } catch (ShardingSettings.Problem p) {
            throw new CliException(ExitCode.CONFIG, p.getMessage(), p);
        }
        KubeconfigLoader.Loaded loaded = cluster.load();
        String serverVersion = StartupChecks.verify(loaded.config(), loaded.source(),
                requiredPermissions(shardingConfig, pod, prometheusUrl != null, watched, metricsSecure && metricsPort >= 0));

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RuntimeMetrics.bindTo(registry); // process_* and jvm_*: the one registry of this process
        // Every request the controllers make passes the guard; fabric8's own retry is off.
        RequestGuard requestGuard = RequestGuard.create(guard, registry);
        KubernetesClient client = GuardedClients.newClient(loaded.config(), requestGuard);
        // The group's Leases on a client of their own (same guard): renewals never wait behind the controllers'
        // responses on one event loop (Sharding.withLeaseClient).
        Optional<KubernetesClient> leaseClient;
        try {
            leaseClient = shardingConfig.map(c -> GuardedClients.newClient(loaded.config(), requestGuard));
        } catch (RuntimeException | Error e) {
            client.close();
            throw e;
        }
        try {
            return runManager(loaded, serverVersion, registry, requestGuard, client, leaseClient, shardingConfig, pod, watched,
                    metricsTls);
        } finally {
            try {
                client.close();
            } finally {
                leaseClient.ifPresent(KubernetesClient::close);
            }
        }
    }

    /** Runs the manager on {@code client} (and the group's Leases on {@code leaseClient}); the caller closes both. */
    private int runManager(KubeconfigLoader.Loaded loaded, String serverVersion, PrometheusMeterRegistry registry,
            RequestGuard requestGuard, KubernetesClient client, Optional<KubernetesClient> leaseClient,
            Optional<ShardingConfig> shardingConfig, Optional<PodReference> pod, WatchedNamespaces watched,
            Optional<SSLContext> metricsTls) throws Exception {
        ManagerOptions options = ManagerOptions.defaults().withHealthPort(healthPort)
                .withHealthBindAddress(healthBindAddress).withShutdownTimeout(shutdownTimeout)
                .withMetrics(metricsServing(client, metricsTls));
        String instance = shardingConfig.map(ShardingConfig::identity).orElseGet(RunCommand::instanceName);
        EventRecorder events = new EventRecorder(client, ConfigMapMirror.COMPONENT, instance, Clock.systemUTC());
        Manager manager = new Manager(client, options, KeyGate.admitAll(), registry);
        KillSwitch killSwitch = null;
        Thread hook = null;
        try {
            // Before the manager starts: narrows its informers to the shards held (none yet) and gates its keys.
            // In a pod, a restarted container takes its shards back at once when the Pod proves the old one ended.
            Optional<Sharding> sharding = shardingConfig.map(Sharding::of)
                    .map(s -> pod.map(s::withRestartProof).orElse(s)).map(s -> s.withNamespaces(watched))
                    .map(s -> s.withLeaseClient(leaseClient.orElseThrow()));
            sharding.ifPresent(manager::install);
            if (sharding.isEmpty()) {
                manager.informers().setScope(watched.scope()); // before the start: no informer exists yet
            }
            // Every write is asked for right before it is sent: only while this replica safely holds its shard.
            if (!weakenings.contains(Weakening.WRITE_FENCE_OFF)) {
                sharding.ifPresent(s -> requestGuard.fenceWrites(s.writeFence()));
            }
            ConfigMapMirror.register(manager, workers, events, weakenings.contains(Weakening.DROPS_UPDATES)
                    ? RunCommand::droppingUpdates : UnaryOperator.identity());
            List<String> controllers = new ArrayList<>(List.of(ConfigMapMirror.CONTROLLER_NAME));
            if (prometheusUrl != null) {
                // Its kill switch lives beside the group's Leases; with sharding each replica tunes its shards only.
                // Without sharding: the replica's own namespace, where the tuner component installs the switch.
                String own = System.getenv("POD_NAMESPACE");
                killSwitch = new KillSwitch(client, shardingConfig.map(ShardingConfig::leaseNamespace)
                        .orElse(own == null || own.isBlank() ? "default" : own));
                // Its breaker's and rate limiter's metrics beside the API guard's (resilience4j_*, name="prometheus").
                PrometheusClient prometheus = new PrometheusClient(prometheusUrl, PrometheusSettings.defaults(), registry);
                ResourceTuner.register(manager, prometheus, signalMetrics(), killSwitch, workers, UnaryOperator.identity());
                probeInBackground(prometheus);
                controllers.add(ResourceTuner.CONTROLLER_NAME);
            }
            var starting = log.atInfo().addKeyValue("version", Version.get())
                    .addKeyValue("apiServer", hostOf(loaded.config().getMasterUrl()))
                    .addKeyValue("serverVersion", serverVersion)
                    .addKeyValue("controllers", controllers)
                    .addKeyValue("workers", workers)
                    .addKeyValue("namespaces", watched.toString())
                    .addKeyValue("config", loaded.source());
            if (sharding.isPresent()) {
                ShardingConfig c = sharding.get().config();
                starting = starting.addKeyValue("identity", c.identity()).addKeyValue("leaseNamespace", c.leaseNamespace())
                        .addKeyValue("group", c.group()).addKeyValue("shards", c.shards());
            } else {
                starting = starting.addKeyValue("sharding", "off");
            }
            starting.log("flotilla starting");
            // SIGTERM, even during the start: the manager leaves the group (its shards go to the others at once),
            // then drains; a start in progress is interrupted and cleaned up by the manager itself.
            AtomicBoolean terminated = new AtomicBoolean();
            hook = new Thread(() -> {
                terminated.set(true);
                manager.stop();
            }, "flotilla-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                manager.start();
            } catch (IllegalStateException e) {
                if (terminated.get()) {
                    return ExitCode.OK.code(); // SIGTERM while starting: the manager has cleaned up
                }
                throw e;
            } catch (CacheSyncException e) {
                throw new CliException(ExitCode.FAILURE, e.getMessage(), e);
            } catch (UncheckedIOException e) {
                throw new CliException(ExitCode.CONFIG, e.getMessage(), e);
            } catch (ExtensionStartException e) {
                throw joinFailure(e, shardingConfig.orElseThrow());
            }
            if (manager.healthPort() > 0 || manager.metricsUrl().isPresent()) {
                log.atInfo().addKeyValue("probes", manager.healthPort() > 0
                                ? "http://" + healthBindAddress + ":" + manager.healthPort() + "/readyz" : "off")
                        .addKeyValue("metrics", manager.metricsUrl().orElse("off"))
                        .addKeyValue("metricsAuth", metricsSecure ? "TokenReview+SubjectAccessReview" : "none")
                        .log("serving /healthz, /readyz and /metrics");
            }
            manager.awaitTermination();
            // Another replica took this identity: the manager stopped everything; exit 6 rather than run as a ghost.
            Optional<String> failure = manager.failure();
            if (failure.isPresent()) {
                throw new CliException(ExitCode.SHARDING, "stopped: " + failure.get());
            }
            return ExitCode.OK.code();
        } finally {
            if (hook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // the JVM is shutting down: the hook is running or has run
                }
            }
            events.close();
            if (killSwitch != null) {
                killSwitch.close();
            }
        }
    }

    /**
     * Where /metrics goes: off, plain to anyone ({@code --metrics-secure=false}), or HTTPS behind the API server's
     * reviews, made through the guarded client (reviews are reads to the guard: rate-limited, never fenced).
     */
    private MetricsServing metricsServing(KubernetesClient client, Optional<SSLContext> tls) {
        if (metricsPort < 0) {
            return MetricsServing.off();
        }
        if (!metricsSecure) {
            return MetricsServing.dedicated(metricsBindAddress, metricsPort, Optional.empty(), MetricsAuthorizer.anyone());
        }
        return MetricsServing.dedicated(metricsBindAddress, metricsPort, tls,
                new KubernetesMetricsAuthorizer(client, KubernetesMetricsAuthorizer.DEFAULT_TTL));
    }

    /** The TLS context of secure metrics (empty when off or plain); a certificate that cannot be used exits 3. */
    private Optional<SSLContext> metricsTls() {
        if (metricsPort < 0 || !metricsSecure) {
            return Optional.empty();
        }
        try {
            ServingCertificate certificate = metricsCertDir != null ? ServingCertificate.fromDirectory(metricsCertDir)
                    : ServingCertificate.selfSigned(selfSignedNames());
            return Optional.of(certificate.sslContext());
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCode.CONFIG, e.getMessage(), e);
        }
    }

    /** The names a scraper may use: the pod, the metrics Service of deploy/, localhost. */
    private static List<String> selfSignedNames() {
        List<String> names = new ArrayList<>();
        String namespace = System.getenv("POD_NAMESPACE");
        if (namespace != null && !namespace.isBlank()) {
            names.add(DeployManifests.METRICS_SERVICE + "." + namespace + ".svc");
            names.add(DeployManifests.METRICS_SERVICE + "." + namespace + ".svc.cluster.local");
        }
        String instance = instanceName().toLowerCase(java.util.Locale.ROOT);
        if (DnsNames.isSubdomain(instance, DnsNames.SUBDOMAIN_MAX)) {
            names.add(instance);
        }
        names.add("localhost");
        return names;
    }

    /** {@code --namespaces} as a value; a bad name, a repeated one, or the tuner beside it is a usage error. */
    WatchedNamespaces watchedNamespaces() {
        if (namespaces == null) {
            return WatchedNamespaces.all();
        }
        if (prometheusUrl != null) {
            throw new ParameterException(spec.commandLine(), "--namespaces cannot be used with --prometheus-url: the tuner "
                    + "reads Pods and Nodes across the cluster (node headroom), which a Role-only install cannot grant");
        }
        try {
            return WatchedNamespaces.only(namespaces);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--namespaces': " + e.getMessage());
        }
    }

    /** A refused join as one line: exit 6 for what the group said no to, 1 for anything else. */
    private static CliException joinFailure(ExtensionStartException e, ShardingConfig c) {
        if (e.getCause() instanceof DuplicateIdentityException || e.getCause() instanceof ShardingSetupException) {
            return new CliException(ExitCode.SHARDING, e.getCause().getMessage(), e);
        }
        return new CliException(ExitCode.FAILURE, "cannot join sharding group '" + c.group() + "' in namespace "
                + c.leaseNamespace() + ": " + e.getCause(), e);
    }

    /** The names of {@code --signal-metric}, over the defaults; a bad key or name is a usage error naming it. */
    private SignalMetrics signalMetrics() {
        SignalMetrics names = SignalMetrics.defaults();
        for (Map.Entry<String, String> e : signalMetricFlags.entrySet()) {
            SignalMetric metric = SignalMetric.byKey(e.getKey()).orElseThrow(() -> new ParameterException(spec.commandLine(),
                    "Invalid value for option '--signal-metric': unknown key '" + e.getKey() + "', expected one of "
                            + java.util.Arrays.stream(SignalMetric.values()).map(SignalMetric::key).toList()));
            try {
                names = names.with(metric, e.getValue());
            } catch (IllegalArgumentException bad) {
                throw new ParameterException(spec.commandLine(), "Invalid value for option '--signal-metric': " + bad.getMessage());
            }
        }
        return names;
    }

    private void validate() {
        if (!signalMetricFlags.isEmpty() && prometheusUrl == null) {
            throw new ParameterException(spec.commandLine(), "--signal-metric needs --prometheus-url (it names the tuner's metrics)");
        }
        signalMetrics();
        if (prometheusUrl != null) {
            Optional<String> problem = PrometheusClient.problemWith(prometheusUrl);
            if (problem.isPresent()) {
                throw new ParameterException(spec.commandLine(), "Invalid value for option '--prometheus-url': '"
                        + withoutCredentials(prometheusUrl) + "' " + problem.get());
            }
        }
        if (workers < 1) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--workers': must be at least 1, got " + workers);
        }
        if (healthPort < -1 || healthPort > 65535) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--health-port': must be -1 (off), 0 (any free port) or 1-65535, got " + healthPort);
        }
        if (metricsPort < -1 || metricsPort > 65535) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--metrics-port': must be -1 (off), 0 (any free port) or 1-65535, got " + metricsPort);
        }
        if (metricsBindAddress.isBlank()) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--metrics-bind-address': empty");
        }
        if (metricsCertDir != null && !metricsSecure) {
            throw new ParameterException(spec.commandLine(), "--metrics-cert-dir needs secure metrics; drop --metrics-secure=false");
        }
        if (healthBindAddress.isBlank()) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--health-bind-address': empty");
        }
    }

    /** The URL as the user wrote it, but with any user info masked: an error line must not print a password. */
    static String withoutCredentials(URI url) {
        String raw = url.toString();
        String userInfo = url.getRawUserInfo();
        return userInfo == null ? raw : raw.replace(userInfo + "@", "***@");
    }

    /**
     * Asks Prometheus once, off the start's path (a Prometheus that does not answer costs the start nothing), and
     * logs one line saying whether it answered. Not fatal: Prometheus may well start after the tuner, which then
     * reports SignalsMissing until it answers.
     */
    private static void probeInBackground(PrometheusClient prometheus) {
        Thread.ofVirtual().name("prometheus-probe").start(() -> {
            try {
                PrometheusClient.Probe probe = prometheus.probe();
                if (probe.answered()) {
                    log.atInfo().addKeyValue("prometheus", withoutCredentials(prometheus.base()))
                            .addKeyValue("answer", probe.detail()).log("Prometheus answered");
                } else {
                    log.atWarn().addKeyValue("prometheus", withoutCredentials(prometheus.base()))
                            .addKeyValue("reason", probe.detail())
                            .log("Prometheus did not answer; the tuner reports SignalsMissing until it does");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
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
