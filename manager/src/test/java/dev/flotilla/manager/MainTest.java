package dev.flotilla.manager;

import dev.flotilla.cli.ProgramRun;
import dev.flotilla.cli.Version;
import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.core.manager.ManagerOptions;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewStatusBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The CLI's contract: exit codes, and exactly one line on stderr for every error, without a stack
 * trace unless {@code --debug}.
 */
class MainTest {

    @TempDir
    Path tmp;

    private static void assertOneErrorLine(ProgramRun.Result r, ExitCode code, String... fragments) {
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isEqualTo(code.code());
        assertThat(r.errLines()).as("stderr").hasSize(1);
        String line = r.errLines().get(0);
        assertThat(line).startsWith("flotilla: ").doesNotContain("\tat ").doesNotContain("Exception:");
        for (String f : fragments) {
            assertThat(line).contains(f);
        }
    }

    @Test
    void unknownOptionIsAUsageError() {
        ProgramRun.Result r = Cli.run("run", "--bogus");
        assertOneErrorLine(r, ExitCode.USAGE, "Unknown option: '--bogus'", "try 'flotilla run --help'");
    }

    @Test
    void unknownCommandIsAUsageError() {
        ProgramRun.Result r = Cli.run("deploy");
        assertOneErrorLine(r, ExitCode.USAGE, "unknown command 'deploy'", "run", "shards");
    }

    @Test
    void missingCommandIsAUsageError() {
        assertOneErrorLine(Cli.run(), ExitCode.USAGE, "missing command");
    }

    /** Flag values out of range are usage errors (2), like values of the wrong type. */
    @Test
    void zeroWorkersIsAUsageError() {
        assertOneErrorLine(Cli.run("run", "--workers", "0"), ExitCode.USAGE, "--workers", "at least 1");
        assertOneErrorLine(Cli.run("run", "--workers", "many"), ExitCode.USAGE, "--workers");
    }

    /** A namespace list names real namespaces, each once, and not beside the tuner (it needs the whole cluster). */
    @Test
    void badNamespaceListsAreUsageErrors() {
        assertOneErrorLine(Cli.run("run", "--namespaces", "team-a,Team_B"), ExitCode.USAGE, "--namespaces",
                "'Team_B' is not a namespace name");
        assertOneErrorLine(Cli.run("run", "--namespaces", "team-a,team-a"), ExitCode.USAGE, "--namespaces",
                "'team-a' is listed twice");
        assertOneErrorLine(Cli.run("run", "--namespaces", "team-a", "--prometheus-url", "http://prometheus:9090"),
                ExitCode.USAGE, "--namespaces cannot be used with --prometheus-url");
    }

    /**
     * A Prometheus URL the tuner could never use is a usage error at the start, one line naming the flag and the
     * value (credentials masked), not a SignalsMissing condition on every policy later.
     */
    @Test
    void unusablePrometheusUrlsAreUsageErrors() {
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "ftp://prometheus:9090"), ExitCode.USAGE,
                "Invalid value for option '--prometheus-url': 'ftp://prometheus:9090'", "must be http or https, not 'ftp'");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "prometheus:9090"), ExitCode.USAGE,
                "--prometheus-url", "'prometheus:9090'", "is 'http://' missing?");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "prometheus.monitoring"), ExitCode.USAGE,
                "--prometheus-url", "'prometheus.monitoring'", "needs a scheme");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http:///prometheus"), ExitCode.USAGE,
                "--prometheus-url", "'http:///prometheus'", "has no host");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http://prom_server:9090"), ExitCode.USAGE,
                "--prometheus-url", "'prom_server:9090' is not a host name");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http://prometheus:99999"), ExitCode.USAGE,
                "--prometheus-url", "port 99999 is out of range");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http://prometheus:9090/?timeout=5s"), ExitCode.USAGE,
                "--prometheus-url", "must not have a query ('?timeout=5s')");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http://prometheus:9090/#graph"), ExitCode.USAGE,
                "--prometheus-url", "must not have a fragment");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http://prometheus:9090/api/v1/query"), ExitCode.USAGE,
                "--prometheus-url", "not an API path");
        ProgramRun.Result secret = Cli.run("run", "--prometheus-url", "http://admin:hunter2@prometheus:9090");
        assertOneErrorLine(secret, ExitCode.USAGE, "'http://***@prometheus:9090'", "must not carry credentials");
        assertThat(secret.err()).doesNotContain("hunter2");
    }

    /** The tuner's metric names: a key it does not read, a name Prometheus would refuse, or no tuner at all. */
    @Test
    void unusableSignalMetricsAreUsageErrors() {
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http://prometheus:9090", "--signal-metric", "runqlat=x"),
                ExitCode.USAGE, "Invalid value for option '--signal-metric': unknown key 'runqlat', expected one of [cpuUsage,");
        assertOneErrorLine(Cli.run("run", "--prometheus-url", "http://prometheus:9090", "--signal-metric",
                "ebpfOomKills=oom-kills"), ExitCode.USAGE,
                "Invalid value for option '--signal-metric': metric name for ebpfOomKills must match");
        assertOneErrorLine(Cli.run("run", "--signal-metric", "cpuUsage=cpu_seconds_total"), ExitCode.USAGE,
                "--signal-metric needs --prometheus-url");
        // Every key the tuner reads is named in the flag's help.
        String help = Cli.run("run", "--help").out();
        for (var m : dev.flotilla.tuning.signals.SignalMetric.values()) {
            assertThat(help.replaceAll("\\s+", " ")).contains(m.key());
        }
    }

    /** A certificate that cannot be served is a configuration error, found before anything connects. */
    @Test
    void anUnusableMetricsCertificateIsAConfigurationError() {
        assertOneErrorLine(Cli.run("run", "--metrics-cert-dir", "/nonexistent-flotilla-certs"), ExitCode.CONFIG,
                "metrics certificate /nonexistent-flotilla-certs/tls.crt does not exist");
        assertOneErrorLine(Cli.run("run", "--metrics-cert-dir", "/tmp", "--metrics-secure=false"), ExitCode.USAGE,
                "--metrics-cert-dir needs secure metrics");
    }

    @Test
    void badDurationsAreUsageErrors() {
        assertOneErrorLine(Cli.run("run", "--shutdown-timeout", "3x"), ExitCode.USAGE, "--shutdown-timeout", "'3x'");
        assertOneErrorLine(Cli.run("run", "--shutdown-timeout", "0s"), ExitCode.USAGE, "positive");
        assertOneErrorLine(Cli.run("run", "--health-port", "70000"), ExitCode.USAGE, "--health-port");
    }

    @Test
    void helpAndVersionExitZero() {
        ProgramRun.Result help = Cli.run("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Usage: flotilla").contains("run").contains("shards")
                .contains("The demo is its own program: ./flotilla demo").contains("Exit codes");
        ProgramRun.Result runHelp = Cli.run("run", "--help");
        assertThat(runHelp.code()).isZero();
        assertThat(runHelp.out()).contains("--kubeconfig").contains("--shutdown-timeout")
                .contains("Default: " + ManagerOptions.DEFAULT_HEALTH_PORT);
        ProgramRun.Result version = Cli.run("--version");
        assertThat(version.code()).isZero();
        assertThat(version.out().strip()).isEqualTo("flotilla " + Version.get());
        assertThat(Version.get()).doesNotContain("${").isNotEqualTo("unknown");
    }

    @Test
    void runDefaultsMatchTheCore() {
        RunCommand run = new RunCommand();
        new CommandLine(run).parseArgs();
        assertThat(run.shutdownTimeout).isEqualTo(ManagerOptions.DEFAULT_SHUTDOWN_TIMEOUT);
        assertThat(run.healthPort).isEqualTo(ManagerOptions.DEFAULT_HEALTH_PORT);
        assertThat(run.healthBindAddress).isEqualTo(ManagerOptions.DEFAULT_HEALTH_BIND_ADDRESS);
    }

    @Test
    void malformedKubeconfigIsAConfigError() throws IOException {
        Path file = tmp.resolve("garbage.yaml");
        Files.writeString(file, "apiVersion: v1\nclusters:\n  - name: [unclosed\n    cluster: {server: x\n");
        ProgramRun.Result r = Cli.run("run", "--kubeconfig", file.toString());
        assertOneErrorLine(r, ExitCode.CONFIG, "kubeconfig " + file, "not valid YAML (line ");
    }

    @Test
    void missingKubeconfigIsAConfigError() {
        Path file = tmp.resolve("nope.yaml");
        assertOneErrorLine(Cli.run("run", "--kubeconfig", file.toString()), ExitCode.CONFIG, "kubeconfig " + file, "no such file");
    }

    @Test
    void unknownContextIsAConfigError() throws IOException {
        Path file = kubeconfig("https://127.0.0.1:6443");
        assertOneErrorLine(Cli.run("run", "--kubeconfig", file.toString(), "--context", "prod"), ExitCode.CONFIG,
                "context 'prod' not found", "contexts: test");
    }

    @Test
    void closedPortIsUnreachableWithinSeconds() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path file = kubeconfig("https://127.0.0.1:" + port);
        ProgramRun.Result r = Cli.run("run", "--kubeconfig", file.toString(), "--allow-insecure-api-server", "--health-port", "-1", "--metrics-port", "-1");
        assertOneErrorLine(r, ExitCode.UNREACHABLE, "cannot reach the API server at https://127.0.0.1:" + port, "Connection refused");
        assertThat(r.millis()).isLessThan(10_000);
    }

    @Test
    void missingPermissionIsForbidden() throws IOException {
        KubernetesMockServer server = new KubernetesMockServer(false);
        server.init();
        try {
            KubernetesSerialization json = new KubernetesSerialization();
            server.expect().get().withPath("/version")
                    .andReturn(200, "{\"major\":\"1\",\"minor\":\"33\",\"gitVersion\":\"v1.33.0\"}").always();
            AtomicInteger reviews = new AtomicInteger();
            server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
                    .andReply(201, request -> {
                        reviews.incrementAndGet();
                        SelfSubjectAccessReview review = json.unmarshal(request.getBody().readUtf8(), SelfSubjectAccessReview.class);
                        var attrs = review.getSpec().getResourceAttributes();
                        boolean allowed = !("watch".equals(attrs.getVerb()) && "configmaps".equals(attrs.getResource()));
                        review.setStatus(new SubjectAccessReviewStatusBuilder().withAllowed(allowed).build());
                        return json.asJson(review);
                    }).always();
            Path file = kubeconfig(server.url("/").replaceAll("/$", ""));
            ProgramRun.Result r = Cli.run("run", "--kubeconfig", file.toString(), "--allow-insecure-api-server", "--health-port", "-1", "--metrics-port", "-1");
            assertOneErrorLine(r, ExitCode.FORBIDDEN, "missing permission: watch configmaps (all namespaces)");
            assertThat(r.err().strip()).isEqualTo("flotilla: missing permission: watch configmaps (all namespaces)");
            assertThat(reviews.get()).as("stops at the first missing permission: get, list, then watch").isEqualTo(3);
        } finally {
            server.destroy();
        }
    }

    @Test
    void debugPrintsTheStackTraceAfterTheLine() throws IOException {
        Path file = tmp.resolve("list.yaml");
        Files.writeString(file, "- just\n- a list\n");
        ProgramRun.Result plain = Cli.run("run", "--kubeconfig", file.toString());
        assertOneErrorLine(plain, ExitCode.CONFIG, "not a kubeconfig", "a list");

        ProgramRun.Result debug = Cli.run("run", "--debug", "--kubeconfig", file.toString());
        assertThat(debug.code()).isEqualTo(ExitCode.CONFIG.code());
        assertThat(debug.errLines().get(0)).isEqualTo(plain.errLines().get(0));
        assertThat(debug.errLines()).hasSizeGreaterThan(1);
        assertThat(debug.err()).contains("CliException");

        ProgramRun.Result global = Cli.run("--debug", "run", "--kubeconfig", file.toString());
        assertThat(global.errLines()).hasSizeGreaterThan(1);
    }

    /** A connection anyone on the path could read or answer is refused with one line naming the risk, unless allowed. */
    @Test
    void plainHttpAndUnverifiedCertificatesAreRefusedUnlessAllowed() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertOneErrorLine(Cli.run("run", "--kubeconfig", kubeconfig("http://127.0.0.1:" + port, false).toString()),
                ExitCode.CONFIG, "is plain HTTP", "unencrypted", "refusing (--allow-insecure-api-server allows it");
        assertOneErrorLine(Cli.run("shards", "--kubeconfig", kubeconfig("https://127.0.0.1:" + port, true).toString()),
                ExitCode.CONFIG, "insecure-skip-tls-verify is set", "certificate is not checked", "refusing");
        // Allowed: it goes on to the server (closed here), having said the risk once.
        ProgramRun.Result allowed = Cli.run("run", "--kubeconfig", kubeconfig("http://127.0.0.1:" + port, false).toString(),
                "--allow-insecure-api-server", "--health-port", "-1", "--metrics-port", "-1");
        assertThat(allowed.code()).as(allowed.err()).isEqualTo(ExitCode.UNREACHABLE.code());
    }

    private Path kubeconfig(String server) throws IOException {
        return kubeconfig(server, true);
    }

    private Path kubeconfig(String server, boolean skipVerify) throws IOException {
        Path file = tmp.resolve("kubeconfig-" + System.nanoTime() + ".yaml");
        Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster:
                    server: %s
                    insecure-skip-tls-verify: %s
                contexts:
                - name: test
                  context:
                    cluster: test
                    user: test
                current-context: test
                users:
                - name: test
                  user:
                    token: not-a-real-token
                """.formatted(server, skipVerify));
        return file;
    }
}
