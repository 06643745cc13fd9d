package dev.flotilla.manager;

import dev.flotilla.cli.ProgramRun;
import dev.flotilla.cli.ExitCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.Sharding;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `flotilla shards` and `flotilla run` as a sharded replica, on the real API server, next to
 * replicas started in this JVM the way the sharding module's own tests start them.
 */
@WithCluster
class ShardedCliTest {

    static final Duration LEASE = Duration.ofSeconds(6);
    static final Duration RENEW = Duration.ofSeconds(4);
    static final Duration RETRY = Duration.ofSeconds(1);
    /** The same timings as flags for `flotilla run`. */
    static final List<String> TIMING_FLAGS = List.of("--lease-duration", "6s", "--renew-deadline", "4s", "--retry-period", "1s");

    @TempDir
    Path tmp;

    /** ConfigMaps with this label set to a group's name are the primaries of that group's replicas. */
    static final String LABEL = "flotilla.dev/sharded-cli-test";

    /** A replica in this JVM: its own client, a manager with one controller of its group's labelled ConfigMaps, and its sharding. */
    static final class InJvmReplica implements AutoCloseable {
        final KubernetesClient client;
        final Manager manager;
        final Sharding sharding;

        InJvmReplica(TestCluster cluster, ShardingConfig config) throws Exception {
            client = cluster.newClient();
            manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1)
                    .withShutdownTimeout(Duration.ofSeconds(5)), KeyGate.admitAll());
            sharding = Sharding.of(config);
            manager.install(sharding);
            manager.controller(ConfigMap.class).named("idle-" + config.identity())
                    .withLabelSelector(LABEL + "=" + config.group()).complete(r -> Result.done());
            manager.start();
        }

        @Override
        public void close() {
            manager.stop();
            client.close();
        }
    }

    private static ShardingConfig config(String identity, TestNamespace ns, String group, int shards) {
        return ShardingConfig.defaults(identity, ns.name()).withGroup(group).withShards(shards)
                .withTimings(LEASE, RENEW, RETRY).withDrainTimeout(Duration.ofSeconds(1));
    }

    private Path kubeconfig(TestCluster cluster) throws Exception {
        Path file = tmp.resolve("kubeconfig-" + System.nanoTime());
        Files.writeString(file, cluster.kubeconfigYaml());
        return file;
    }

    @SafeVarargs
    private static String[] args(List<String>... parts) {
        return java.util.Arrays.stream(parts).flatMap(List::stream).toArray(String[]::new);
    }

    /** The one `flotilla: ...` line (run also logs to stderr). */
    private static String errorLine(ProgramRun.Result r) {
        List<String> lines = r.errLines().stream().filter(l -> l.startsWith("flotilla: ")).toList();
        assertThat(lines).as("stderr: %s", r.err()).hasSize(1);
        return lines.getFirst();
    }

    private static void awaitSplit(int shards, InJvmReplica... replicas) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            Set<Integer> union = new HashSet<>();
            int total = 0;
            for (InJvmReplica r : replicas) {
                assertThat(r.sharding.activeShards()).isNotEmpty();
                union.addAll(r.sharding.activeShards());
                total += r.sharding.activeShards().size();
            }
            assertThat(union).hasSize(shards);
            assertThat(total).isEqualTo(shards);
        });
    }

    @Test
    void shardsPrintsTheLiveAssignmentOfTwoReplicas(TestCluster cluster, TestNamespace ns) throws Exception {
        Path kc = kubeconfig(cluster);
        // Twelve namespaces named alike (FNV-1a crowds them into one or two equal-width shards) with 2..13 objects:
        // the ranges are laid out by objects, so the report shows ranges of unequal widths and their objects.
        KubernetesClient admin = cluster.client();
        for (int i = 1; i <= 12; i++) {
            String name = (ns.name() + "-t%02d".formatted(i));
            admin.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata().withName(name)
                    .endMetadata().build()).create();
            for (int j = 0; j <= i; j++) {
                admin.resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata().withName("cm-" + j)
                        .withNamespace(name).addToLabels(LABEL, "pair").endMetadata().build()).create();
            }
        }
        try (InJvmReplica a = new InJvmReplica(cluster, config("alpha", ns, "pair", 8));
                InJvmReplica b = new InJvmReplica(cluster, config("beta", ns, "pair", 8))) {
            awaitSplit(8, a, b);
            String coordinator = a.sharding.isCoordinator() ? "alpha" : "beta";
            // The desired owner is written before the holder takes the Lease, and the ranges move once the objects are
            // counted: wait until the coordinator says its layout is in place.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                ProgramRun.Result r = Cli.run("shards", "--kubeconfig", kc.toString(), "--lease-namespace", ns.name(),
                        "--sharding-group", "pair");
                assertThat(r.code()).as("stderr: %s", r.err()).isZero();
                String out = r.out();
                assertThat(out).startsWith("sharding group 'pair' in namespace '" + ns.name()
                        + "': 8 shards, 2 live members, coordinator " + coordinator + " (renewed ");
                assertThat(out.lines().findFirst().orElseThrow()).endsWith(", layout settled");
                for (int shard = 0; shard < 8; shard++) {
                    String owner = a.sharding.activeShards().contains(shard) ? "alpha" : "beta";
                    assertThat(out).containsPattern("(?m)^" + shard + "\\s+0x[0-9a-f]{16}-0x[0-9a-f]{16}\\s+(-|\\d+)\\s+" + owner
                            + "\\s+" + owner + "\\s+\\d\\.\\ds\\s+\\d+$");
                }
                assertThat(out).containsPattern("(?m)^alpha\\s+\\d\\.\\ds\\s+" + a.sharding.activeShards().size() + "\\s+\\d+$")
                        .containsPattern("(?m)^beta\\s+\\d\\.\\ds\\s+" + b.sharding.activeShards().size() + "\\s+\\d+$")
                        .containsPattern("(?m)^COORDINATOR\\s+AGE\\n" + coordinator + "\\s+\\d\\.\\ds$");
            });

            System.out.println("flotilla shards, as a user sees it:\n" + Cli.run("shards", "--kubeconfig", kc.toString(),
                    "--lease-namespace", ns.name(), "--sharding-group", "pair").out());
            ProgramRun.Result json = Cli.run("shards", "--kubeconfig", kc.toString(), "--lease-namespace", ns.name(),
                    "--sharding-group", "pair", "--json");
            assertThat(json.code()).as("stderr: %s", json.err()).isZero();
            assertThat(json.outLines()).hasSize(1);
            JsonNode root = new ObjectMapper().readTree(json.out());
            assertThat(root.path("shards").asInt()).isEqualTo(8);
            assertThat(root.path("coordinator").path("identity").asText()).isEqualTo(coordinator);
            assertThat(root.path("layout").asText()).isEqualTo("settled");
            assertThat(root.path("assignments")).hasSize(8);
            for (JsonNode row : root.path("assignments")) {
                int shard = row.path("shard").asInt();
                String owner = a.sharding.activeShards().contains(shard) ? "alpha" : "beta";
                assertThat(row.path("holder").asText()).as("shard %d", shard).isEqualTo(owner);
                assertThat(row.path("state").asText()).isEqualTo("held");
                assertThat(row.path("ageMs").asLong()).isBetween(0L, LEASE.toMillis());
                InJvmReplica holder = owner.equals("alpha") ? a : b;
                assertThat(row.path("start").asText()).as("the range the holder works on")
                        .isEqualTo(String.format("0x%016x", holder.sharding.activeRanges().get(shard).start()));
            }
            java.math.BigInteger covered = java.math.BigInteger.ZERO;
            long objects = 0;
            for (JsonNode row : root.path("assignments")) {
                covered = covered.add(new java.math.BigInteger(row.path("end").asText().substring(2), 16)
                        .subtract(new java.math.BigInteger(row.path("start").asText().substring(2), 16)).add(java.math.BigInteger.ONE));
                objects += row.path("objects").asLong();
            }
            assertThat(covered).as("the 8 ranges cover the hash space").isEqualTo(java.math.BigInteger.ONE.shiftLeft(64));
            assertThat(objects).as("objects counted in the ranges: 2 + 3 + ... + 13").isEqualTo(90);
            long perMember = 0;
            for (JsonNode m : root.path("members")) {
                perMember += m.path("objects").asLong();
            }
            assertThat(perMember).isEqualTo(90);
            assertThat(root.path("members")).extracting(m -> m.path("identity").asText()).containsExactly("alpha", "beta");
        }

        ProgramRun.Result none = Cli.run("shards", "--kubeconfig", kc.toString(), "--lease-namespace", ns.name(),
                "--sharding-group", "nope");
        assertThat(none.code()).isEqualTo(ExitCode.FAILURE.code());
        assertThat(none.errLines()).singleElement().satisfies(l -> assertThat(l)
                .startsWith("flotilla: no sharding group 'nope' in namespace '" + ns.name() + "'"));
    }

    @Test
    void runRefusesAnIdentityALiveReplicaHolds(TestCluster cluster, TestNamespace ns)
            throws Exception {
        Path kc = kubeconfig(cluster);
        try (InJvmReplica live = new InJvmReplica(cluster, config("taken", ns, "strict", 8))) {
            awaitSplit(8, live);
            ProgramRun.Result dup = Cli.run(args(List.of("run", "--kubeconfig", kc.toString(), "--health-port", "-1", "--metrics-port", "-1",
                    "--identity", "taken", "--lease-namespace", ns.name(), "--sharding-group", "strict", "--shards", "8"),
                    TIMING_FLAGS));
            assertThat(dup.code()).as("stderr: %s", dup.err()).isEqualTo(ExitCode.SHARDING.code());
            assertThat(errorLine(dup)).contains("another live replica holds identity 'taken'").contains("refusing to start");

            assertThat(live.sharding.activeShards()).as("the live replica kept its shards").hasSize(8);
        }
    }

    @Test
    void runStopsAndExitsSixWhenAnotherReplicaTakesItsIdentity(TestCluster cluster,
            TestNamespace ns) throws Exception {
        Path kc = kubeconfig(cluster);
        KubernetesClient admin = cluster.client();
        LeaseNaming naming = new LeaseNaming("solo");
        // On a thread of its own, never the common fork-join pool: the JDK's HTTP client completes its callers there,
        // and a run blocking a worker of it (parallelism 1 on 2 cores) stalled every client in this JVM.
        CompletableFuture<ProgramRun.Result> run = CompletableFuture.supplyAsync(() -> Cli.run(args(List.of("run",
                "--kubeconfig", kc.toString(), "--health-port", "-1", "--metrics-port", "-1", "--identity", "solo", "--lease-namespace", ns.name(),
                "--sharding-group", "solo", "--shards", "4"), TIMING_FLAGS)), Thread.ofVirtual()::start);
        try {
            await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200))
                    .failFast("flotilla run ended early", run::isDone).untilAsserted(() -> {
                for (int shard = 0; shard < 4; shard++) {
                    Lease lease = admin.leases().inNamespace(ns.name()).withName(naming.shardLease(shard)).get();
                    assertThat(lease).isNotNull();
                    assertThat(lease.getSpec().getHolderIdentity()).startsWith("solo_");
                }
            });
            // Another process claims the identity: it takes the membership Lease.
            admin.leases().inNamespace(ns.name()).withName(naming.memberLease("solo")).edit(l -> new LeaseBuilder(l)
                    .editSpec().withHolderIdentity("solo_intruder").withRenewTime(ZonedDateTime.now(ZoneOffset.UTC))
                    .endSpec().build());
            ProgramRun.Result r = run.get(30, TimeUnit.SECONDS);
            assertThat(r.code()).as("stderr: %s", r.err()).isEqualTo(ExitCode.SHARDING.code());
            assertThat(errorLine(r)).contains("another replica took over the membership lease of identity 'solo'");
        } finally {
            run.cancel(true);
        }
    }
}
