package dev.flotilla.manager;

import dev.flotilla.cli.ProgramRun;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.core.settings.Durations;
import dev.flotilla.core.settings.SettingsFile;
import dev.flotilla.sharding.ShardingSettings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.rbac.ApiPermission;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewStatusBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import dev.flotilla.sharding.ShardSpace;
import dev.flotilla.sharding.ShardingConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How `flotilla run` turns flags, the --config file and the environment into a ShardingConfig, and how it says no. */
class ShardingSettingsTest {

    private static final ShardingSettings.Flags NONE = ShardingSettings.Flags.none();

    private static ShardingSettings settings(Map<String, String> env, String hostname) {
        return new ShardingSettings(env, () -> hostname);
    }

    private static ShardingConfig resolve(ShardingSettings s, Map<String, String> file, ShardingSettings.Flags flags) {
        return s.resolve(SettingsFile.of("config f.properties", file), flags).orElseThrow();
    }

    private static void assertOneErrorLine(ProgramRun.Result r, ExitCode code, String... fragments) {
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isEqualTo(code.code());
        assertThat(r.errLines()).as("stderr").hasSize(1);
        assertThat(r.errLines().getFirst()).startsWith("flotilla: ").contains(fragments);
    }

    @Test
    void defaultsAreShardingConfigsWithThePodsNameAndNamespace() {
        ShardingConfig c = resolve(settings(Map.of("POD_NAME", "flotilla-7d9f-x2k", "POD_NAMESPACE", "ops"), "node-1"),
                Map.of(), NONE);
        assertThat(c).isEqualTo(ShardingConfig.defaults("flotilla-7d9f-x2k", "ops"));
        assertThat(c.shards()).isEqualTo(ShardSpace.DEFAULT_SHARDS);
        assertThat(c.group()).isEqualTo(ShardingConfig.DEFAULT_GROUP);
        assertThat(c.leaseDuration()).isEqualTo(ShardingConfig.DEFAULT_LEASE_DURATION);
    }

    @Test
    void withoutThePodItIsTheHostnamesFirstLabelInLowerCaseAndTheDefaultNamespace() {
        ShardingConfig c = resolve(settings(Map.of(), "Build-07.example.com"), Map.of(), NONE);
        assertThat(c.identity()).isEqualTo("build-07");
        assertThat(c.leaseNamespace()).isEqualTo("default");
    }

    @Test
    void anUnusableHostnameAsksForAnIdentity() {
        assertThatThrownBy(() -> resolve(settings(Map.of(), "my_laptop"), Map.of(), NONE))
                .isInstanceOf(ShardingSettings.Problem.class)
                .hasMessageContaining("the hostname 'my_laptop'").hasMessageContaining("pass --identity")
                .satisfies(e -> assertThat(((ShardingSettings.Problem) e).flag()).isNull());
    }

    @Test
    void flagsOverrideTheFileWhichOverridesTheDefaults() {
        Map<String, String> file = Map.of("sharding.shards", "64", "sharding.group", "team-a",
                "sharding.lease-namespace", "from-file", "sharding.lease-duration", "20s", "resilience.qps", "5");
        ShardingSettings s = settings(Map.of("POD_NAME", "p", "POD_NAMESPACE", "from-env"), "h");
        ShardingConfig fromFile = resolve(s, file, NONE);
        assertThat(fromFile.shards()).isEqualTo(64);
        assertThat(fromFile.group()).isEqualTo("team-a");
        assertThat(fromFile.leaseNamespace()).isEqualTo("from-file");
        assertThat(fromFile.leaseDuration()).isEqualTo(Duration.ofSeconds(20));
        assertThat(fromFile.renewDeadline()).isEqualTo(ShardingConfig.DEFAULT_RENEW_DEADLINE);

        ShardingConfig flagged = resolve(s, file, new ShardingSettings.Flags(false, "me", "ns-flag", "g", 8,
                Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1)));
        assertThat(flagged).isEqualTo(new ShardingConfig("me", "ns-flag", "g", 8, Duration.ofSeconds(6),
                Duration.ofSeconds(4), Duration.ofSeconds(1), ShardingConfig.DEFAULT_DRAIN_TIMEOUT));
    }

    @Test
    void aFlagReplacesTheFilesValueWithoutReadingIt() {
        // The guard's settings work the same way: what a flag replaces is not parsed, so it cannot fail the start.
        ShardingSettings s = settings(Map.of("POD_NAME", "p"), "h");
        Map<String, String> broken = Map.of("sharding.shards", "many", "sharding.lease-duration", "soon");
        ShardingConfig c = resolve(s, broken, new ShardingSettings.Flags(false, null, null, null, 8,
                Duration.ofSeconds(30), null, null));
        assertThat(c.shards()).isEqualTo(8);
        assertThat(c.leaseDuration()).isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> resolve(s, broken, NONE)).hasMessageContaining("sharding.");
    }

    @Test
    void noShardingOrEnabledFalseTurnsItOff() {
        ShardingSettings s = settings(Map.of(), "h");
        assertThat(s.resolve(SettingsFile.empty(), new ShardingSettings.Flags(true, null, null, null, 0, null, null, null)))
                .as("--no-sharding: the other sharding flags are not even checked").isEmpty();
        assertThat(s.resolve(SettingsFile.of("c", Map.of("sharding.enabled", "false")), NONE)).isEmpty();
        assertThat(s.resolve(SettingsFile.of("c", Map.of("sharding.enabled", "true")), NONE)).isPresent();
        assertThatThrownBy(() -> s.resolve(SettingsFile.of("config c", Map.of("sharding.enabled", "yes")), NONE))
                .hasMessage("config c: sharding.enabled=yes: expected true or false");
    }

    @Test
    void badFileValuesNameTheKey() {
        ShardingSettings s = settings(Map.of("POD_NAME", "p"), "h");
        assertThatThrownBy(() -> resolve(s, Map.of("sharding.shards", "0"), NONE))
                .hasMessage("config f.properties: sharding.shards: shard count must be between 1 and 4096, got 0");
        assertThatThrownBy(() -> resolve(s, Map.of("sharding.shards", "many"), NONE))
                .hasMessage("config f.properties: sharding.shards=many: not a whole number");
        assertThatThrownBy(() -> resolve(s, Map.of("sharding.renew-deadline", "20s"), NONE))
                .hasMessageContaining("config f.properties: sharding.renew-deadline")
                .hasMessageContaining("must be longer than the renew deadline");
    }

    @Test
    void badFlagsAreUsageErrorsNamingTheFlag() {
        // --identity a: the test machine's hostname need not be a valid identity.
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--shards", "0"), ExitCode.USAGE, "'--shards'", "between 1 and 4096, got 0");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--shards", "5000"), ExitCode.USAGE, "'--shards'", "got 5000");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--shards", "lots"), ExitCode.USAGE, "--shards");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--renew-deadline", "15s"), ExitCode.USAGE, "'--renew-deadline'",
                "lease duration (15s) must be longer than the renew deadline (15s) by at least 2s");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--lease-duration", "6s", "--renew-deadline", "8s"), ExitCode.USAGE,
                "options '--lease-duration', '--renew-deadline'");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--lease-duration", "7500ms", "--renew-deadline", "5s"), ExitCode.USAGE,
                "'--lease-duration'", "whole seconds");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--retry-period", "10s"), ExitCode.USAGE, "'--retry-period'",
                "longer than the retry period");
        assertOneErrorLine(Cli.run("run", "--identity", "Replica_1"), ExitCode.USAGE, "'--identity'", "'Replica_1'");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--lease-namespace", "Ops"), ExitCode.USAGE, "'--lease-namespace'");
        assertOneErrorLine(Cli.run("run", "--identity", "a", "--sharding-group", "Team"), ExitCode.USAGE, "'--sharding-group'");
    }

    @Test
    void aBadFileValueIsAConfigurationError(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("flotilla.properties");
        Files.writeString(config, "sharding.shards=9999\n");
        assertOneErrorLine(Cli.run("run", "--config", config.toString(), "--identity", "a"), ExitCode.CONFIG,
                config.toString(), "sharding.shards", "got 9999");
        // The flag wins over the file, so the file's bad value never matters.
        ProgramRun.Result overridden = Cli.run("run", "--config", config.toString(), "--identity", "a", "--shards", "8",
                "--kubeconfig", dir.resolve("absent").toString());
        assertOneErrorLine(overridden, ExitCode.CONFIG, "kubeconfig", "no such file");
    }

    @Test
    void theHelpStatesShardingConfigsDefaults() {
        String help = Cli.run("run", "--help").out().replaceAll("\\s+", " ");
        assertThat(help).contains("--no-sharding").contains("--identity").contains("--lease-namespace")
                .contains("$POD_NAME").contains("$POD_NAMESPACE")
                .contains("Default: " + ShardSpace.DEFAULT_SHARDS + ".")
                .contains("Default: " + ShardingConfig.DEFAULT_GROUP + ".")
                .contains("Default: " + Durations.format(ShardingConfig.DEFAULT_LEASE_DURATION) + ".")
                .contains("Default: " + Durations.format(ShardingConfig.DEFAULT_RENEW_DEADLINE) + ".")
                .contains("Default: " + Durations.format(ShardingConfig.DEFAULT_RETRY_PERIOD) + ".");
    }

    @Test
    void shardingAddsLeasesInTheLeaseNamespaceAndNamespacesToTheRbacCheck() {
        List<ApiPermission> unsharded = RunCommand.requiredPermissions(Optional.empty());
        List<ApiPermission> sharded = RunCommand.requiredPermissions(Optional.of(ShardingConfig.defaults("a", "ops")));
        assertThat(sharded).startsWith(unsharded.toArray(ApiPermission[]::new));
        assertThat(sharded.subList(unsharded.size(), sharded.size())).extracting(Object::toString).containsExactly(
                "get leases.coordination.k8s.io (namespace ops)", "list leases.coordination.k8s.io (namespace ops)",
                "watch leases.coordination.k8s.io (namespace ops)", "create leases.coordination.k8s.io (namespace ops)",
                "update leases.coordination.k8s.io (namespace ops)", "delete leases.coordination.k8s.io (namespace ops)",
                "list namespaces (all namespaces)", "watch namespaces (all namespaces)");
    }

    @Test
    void aMissingLeasePermissionIsNamedWithItsNamespace(@TempDir Path dir) throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(false);
        server.init();
        try {
            KubernetesSerialization json = new KubernetesSerialization();
            server.expect().get().withPath("/version")
                    .andReturn(200, "{\"major\":\"1\",\"minor\":\"37\",\"gitVersion\":\"v1.37.2\"}").always();
            List<String> asked = new CopyOnWriteArrayList<>();
            server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
                    .andReply(201, request -> {
                        SelfSubjectAccessReview review = json.unmarshal(request.getBody().readUtf8(), SelfSubjectAccessReview.class);
                        var attrs = review.getSpec().getResourceAttributes();
                        asked.add(attrs.getVerb() + " " + attrs.getResource() + " in " + attrs.getNamespace());
                        boolean allowed = !("update".equals(attrs.getVerb()) && "leases".equals(attrs.getResource()));
                        review.setStatus(new SubjectAccessReviewStatusBuilder().withAllowed(allowed).build());
                        return json.asJson(review);
                    }).always();
            Path kubeconfig = dir.resolve("kubeconfig");
            Files.writeString(kubeconfig, """
                    apiVersion: v1
                    kind: Config
                    clusters:
                    - name: mock
                      cluster: {server: %s}
                    contexts:
                    - name: mock
                      context: {cluster: mock, user: u}
                    current-context: mock
                    users:
                    - name: u
                      user: {token: t}
                    """.formatted(server.url("/").replaceAll("/$", "")));
            ProgramRun.Result r = Cli.run("run", "--kubeconfig", kubeconfig.toString(), "--allow-insecure-api-server",
                    "--health-port", "-1", "--metrics-port", "-1", "--identity", "a", "--lease-namespace", "ops");
            assertOneErrorLine(r, ExitCode.FORBIDDEN, "missing permission: update leases.coordination.k8s.io (namespace ops)");
            assertThat(asked).contains("get leases in ops", "create leases in ops").last().isEqualTo("update leases in ops");
            assertThat(asked.getFirst()).isEqualTo("get configmaps in null");
        } finally {
            server.destroy();
        }
    }

    @Test
    void defaultLeaseNamespaceIsThePods() {
        Map<String, String> env = new HashMap<>();
        assertThat(ShardingSettings.defaultLeaseNamespace(env)).isEqualTo("default");
        env.put("POD_NAMESPACE", "flotilla-system");
        assertThat(ShardingSettings.defaultLeaseNamespace(env)).isEqualTo("flotilla-system");
    }
}
