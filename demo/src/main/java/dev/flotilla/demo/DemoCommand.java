package dev.flotilla.demo;

import dev.flotilla.cli.DurationConverter;
import ch.qos.logback.classic.Level;
import dev.flotilla.core.metrics.RestClientMetrics;
import dev.flotilla.cli.CliException;
import dev.flotilla.core.settings.Durations;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.cli.Logging;
import dev.flotilla.cli.Program;
import dev.flotilla.cli.Version;
import dev.flotilla.testing.ApiServerBinaries;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code flotilla demo}, a program of its own (the {@code ./flotilla} launcher runs its jar): the
 * mirror controller end to end with no cluster at hand. Starts an API server (a real kube-apiserver
 * and etcd, built first if need be, else fabric8's mock; see {@link DemoCluster}), creates namespaces and labelled ConfigMaps, runs
 * the manager, injects transient failures and mid-run updates, shows one live progress line, and
 * prints a summary. Exit 0 only if every mirror converged before the timeout.
 */
@Command(name = "flotilla demo", mixinStandardHelpOptions = true, sortOptions = false, versionProvider = Version.class,
        description = {"Run the configmap-mirror controller against a local API server and report how fast "
                + "every mirror converges: on the real API server as 3 sharded replicas, one of which is killed "
                + "midway, with the handover timed and every reconcile audited for overlaps.",
                "Exits 0 only if all mirrors converged before --timeout (and no namespace was reconciled by two "
                        + "replicas at once), else 1."})
public final class DemoCommand extends Program implements Callable<Integer> {

    /** Seed for which keys fail and which sources are updated; fixed so runs are comparable. */
    static final long SEED = 42;

    public static void main(String[] args) {
        System.exit(execute(args, System.out, System.err));
    }

    /** Runs the demo without exiting the JVM; returns the exit code (tests). */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        return Program.execute(new DemoCommand(), args, out, err);
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--objects", paramLabel = "N", defaultValue = "300",
            description = "Source ConfigMaps to create (1-100000). Default: ${DEFAULT-VALUE}.")
    int objects;

    @Option(names = "--namespaces", paramLabel = "N", defaultValue = "10",
            description = "Namespaces to spread them over (1-10000). Default: ${DEFAULT-VALUE}.")
    int namespaces;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "4",
            description = "Concurrent reconciles (at least 1). Default: ${DEFAULT-VALUE}.")
    int workers;

    @Option(names = "--failure-rate", paramLabel = "FRACTION", defaultValue = "0.05",
            description = "Fraction of first reconcile attempts that fail transiently, to show retries (0-0.9). Default: ${DEFAULT-VALUE}.")
    double failureRate;

    @Option(names = "--updates", paramLabel = "FRACTION", defaultValue = "0.1",
            description = "Fraction of sources changed mid-run, which must converge too (0-1). Default: ${DEFAULT-VALUE}.")
    double updates;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "120s", converter = DurationConverter.class,
            description = "Give up (exit 1) if not converged this long after the manager started; creating the objects "
                    + "is not counted (120s, 2m, PT2M). Default: 120s.")
    Duration timeout;

    @Option(names = "--health-port", paramLabel = "PORT", defaultValue = "0",
            description = "Port of /metrics on 127.0.0.1; 0 picks a free port, -1 turns it off. Default: ${DEFAULT-VALUE}.")
    int healthPort;

    @Option(names = "--replicas", paramLabel = "N", defaultValue = "3",
            description = "Sharded replicas to run in this JVM (1-10); with 2 or more, one is killed without warning "
                    + "midway and the others take its shards over. The mock backend runs 1 unsharded replica. "
                    + "Default: ${DEFAULT-VALUE}.")
    int replicas;

    @Option(names = "--json", description = "Print the summary as one JSON object on stdout, and no progress line.")
    boolean json;

    /** Which API server the demo starts. */
    public enum Backend { AUTO, REAL, MOCK }

    @Option(names = "--backend", paramLabel = "auto|real|mock", defaultValue = "auto",
            converter = BackendConverter.class,
            description = "API server to start: real = kube-apiserver + etcd (built from source by "
                    + "testing/apiserver/build.sh on first use, which needs Go), mock = fabric8's mock server in-process "
                    + "(1 unsharded replica, a quick look), auto = real, or mock when the real one cannot be built (saying why). "
                    + "Default: ${DEFAULT-VALUE}.")
    Backend backend;

    static final class BackendConverter implements picocli.CommandLine.ITypeConverter<Backend> {
        @Override
        public Backend convert(String value) {
            try {
                return Backend.valueOf(value.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("expected auto, real or mock, got '" + value + "'");
            }
        }
    }

    /**
     * Starts the chosen backend. Real (the default) without binaries builds them first; if that is
     * impossible, {@code auto} says why and runs on the mock, {@code real} stops with the reason:
     * never a silent mock.
     */
    private DemoCluster startCluster(PrometheusMeterRegistry registry, PrintStream notes) throws InterruptedException {
        boolean real = backend != Backend.MOCK;
        if (real && !ApiServerBinaries.present()) {
            notes.println("the real API server is not built yet: building kube-apiserver, kubectl v"
                    + ApiServerBinaries.kubernetesVersion() + " and etcd from source with Go (once: "
                    + ApiServerBuild.COLD_BUILD_TIME + "; cached in " + ApiServerBinaries.binaryDir()
                    + "); --backend mock skips this");
            ApiServerBuild.Outcome outcome = new ApiServerBuild(ApiServerBuild.findScript(), notes, BUILD_REMINDER).run();
            switch (outcome) {
                case ApiServerBuild.Built built -> notes.println("built in " + Durations.format(built.took()) + ": " + built.dir());
                case ApiServerBuild.Unavailable unavailable -> {
                    if (backend == Backend.REAL) {
                        throw new CliException(ExitCode.CONFIG, "demo: --backend real needs the kube-apiserver binaries in "
                                + ApiServerBinaries.binaryDir() + ", and " + unavailable.reason());
                    }
                    notes.println("note: no real API server: " + unavailable.reason()
                            + "; running on fabric8's mock API server instead (1 unsharded replica, no kill)");
                    real = false;
                }
            }
        }
        try {
            return real ? RealApiServerCluster.start(b -> RestClientMetrics.install(b, registry))
                    : MockApiServerCluster.start(b -> RestClientMetrics.install(b, registry));
        } catch (RuntimeException e) {
            throw new CliException(ExitCode.FAILURE, "demo: cannot start the " + (real ? "kube-apiserver" : "in-process API server")
                    + ": " + e.getMessage(), e);
        }
    }

    /** How long the binaries' build may be silent before the demo prints the elapsed time. */
    static final Duration BUILD_REMINDER = Duration.ofSeconds(30);

    @Override
    public Integer call() throws Exception {
        Logging logging = logging();
        validate();
        if (!debug()) {
            // Keep the console to the progress line: retries are expected here, and the mock server
            // logs every request.
            logging.set(Logging.FLOTILLA, Level.WARN)
                    .set(Logging.RECONCILE_LOOP, Level.ERROR)
                    .set("io.fabric8", Level.ERROR)
                    // Closing the killed replica's client with requests still in its black hole makes Netty complain.
                    .set("io.netty", Level.OFF)
                    .setJul("io.fabric8.mockwebserver", java.util.logging.Level.WARNING)
                    // The kill is the demo's point: the victim's fencing errors and the proxy's notes are expected.
                    .set("dev.flotilla.sharding", Level.OFF)
                    .set("dev.flotilla.testing", Level.OFF);
        }
        PrintStream out = out();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        DemoRun.Settings settings = new DemoRun.Settings(objects, namespaces, workers, failureRate, updates, timeout,
                healthPort, SEED, replicas);
        ProgressLine progress = new ProgressLine(out, ProgressLine.isTerminal(out), !json);
        DemoSummary summary;
        DemoCluster cluster = startCluster(registry, json ? err() : out);
        try (cluster) {
            if (!json) {
                out.printf(Locale.ROOT, "flotilla demo: %d ConfigMaps in %d namespaces, %d workers, %.0f%% of first attempts fail, %.0f%% updated mid-run%n",
                        objects, namespaces, workers, failureRate * 100, updates * 100);
                out.println("backend: " + cluster.description());
            }
            DemoRun run = new DemoRun(settings, cluster, registry);
            if (!json) {
                if (run.sharded()) {
                    out.printf(Locale.ROOT, "replicas: %d sharded (%d shards, leases %s/%s/%s)%s%n", run.replicaCount(),
                            DemoRun.SHARDS, Durations.format(DemoRun.LEASE_DURATION), Durations.format(DemoRun.RENEW_DEADLINE),
                            Durations.format(DemoRun.RETRY_PERIOD),
                            run.replicaCount() > 1 ? "; one is killed without warning midway" : "");
                } else if (replicas > 1) {
                    out.println("note: the mock API server cannot run sharded replicas (no Lease semantics, shard "
                            + "selectors ignored): running 1 unsharded replica, no kill; use --backend real");
                }
            }
            summary = run.run(new DemoRun.Progress() {
                @Override
                public void show(String line, boolean force) {
                    progress.update(line, force);
                }

                @Override
                public void event(String line) {
                    if (!json) {
                        progress.event(line);
                    }
                }
            }, urls -> {
                if (!json) {
                    progress.finish(); // end the "creating" line first on a terminal
                    out.println("metrics: " + (urls.isEmpty() ? "off" : String.join(" ", urls)));
                }
            });
        } finally {
            progress.finish();
        }
        if (json) {
            out.println(summary.toJson());
        } else {
            out.print(summary.toText());
        }
        out.flush();
        if (!summary.isConverged()) {
            throw new CliException(ExitCode.FAILURE, "demo " + summary.reason());
        }
        return ExitCode.OK.code();
    }

    private void validate() {
        range("--objects", objects, 1, 100_000);
        range("--namespaces", namespaces, 1, 10_000);
        range("--workers", workers, 1, 1_000);
        range("--health-port", healthPort, -1, 65_535);
        range("--replicas", replicas, 1, 10);
        if (healthPort > 0 && healthPort + replicas - 1 > 65_535) {
            throw usage("--health-port", "replica i serves on port " + healthPort + " + i, which passes 65535 with "
                    + replicas + " replicas");
        }
        if (!(failureRate >= 0 && failureRate <= 0.9)) {
            throw usage("--failure-rate", "must be a fraction within 0..0.9, got " + failureRate);
        }
        if (!(updates >= 0 && updates <= 1)) {
            throw usage("--updates", "must be a fraction within 0..1, got " + updates);
        }
    }

    private void range(String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw usage(option, "must be within " + min + ".." + max + ", got " + value);
        }
    }

    private ParameterException usage(String option, String problem) {
        return new ParameterException(spec.commandLine(), "Invalid value for option '" + option + "': " + problem);
    }
}
