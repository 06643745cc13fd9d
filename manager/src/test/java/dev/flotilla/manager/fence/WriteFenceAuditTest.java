package dev.flotilla.manager.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.fence.WriteFence;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.resilience.fabric8.GuardedClients;
import dev.flotilla.resilience.fabric8.WriteFencedException;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.GuardMetricNames;
import dev.flotilla.resilience.guard.RequestGuard;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.Sharding;
import dev.flotilla.sharding.ShardingConfig;
import dev.flotilla.sharding.auditlog.AuditLog;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.sharding.auditlog.SingleWriterCheck;
import dev.flotilla.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The write fence judged from the API server's audit log. A replica holding the only shard has
 * writes queued behind its rate limit (1 request/s) when another replica takes the shard's Lease;
 * every write the server accepts from the first replica after that is a second writer. With the
 * fence, none is; without it (the same scenario, the fence switched off), the queued writes land.
 */
class WriteFenceAuditTest {

    private static final String LEASES = "fence-leases";
    private static final String WORK = "fence-work";
    private static final String GROUP = "fencing";
    private static final int WRITES = 8;

    private static RealApiServer server;

    @BeforeAll
    static void startServer() {
        server = RealApiServer.start(true, true);
        for (String ns : List.of(LEASES, WORK)) {
            server.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
                    .create();
        }
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    /** The admin's config, acting as {@code user} (impersonation): the audit log attributes each request to it. */
    private static Config as(String user) {
        return new ConfigBuilder(server.config()).withImpersonateUsername(user).withImpersonateGroups("system:masters").build();
    }

    /** Runs the scenario for one group; returns the violations the audit log shows and how many writes were fenced. */
    private record Outcome(List<SingleWriterCheck.Violation> violations, int fenced, int accepted) {
    }

    private Outcome takeOverWithWritesQueued(String group, boolean fenced) throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // One write a second, bursts of one: the writes below queue for their permits.
        RequestGuard guard = RequestGuard.create(GuardConfig.builder().qps(1).burst(1).maxPermitWait(Duration.ofSeconds(30))
                .build(), registry);
        String a = group + "-a";
        ShardingConfig config = ShardingConfig.defaults(a, LEASES).withGroup(group).withShards(1)
                .withTimings(Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1));
        Sharding sharding = Sharding.of(config);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        try (KubernetesClient clientA = GuardedClients.newClient(as(a), guard);
                KubernetesClient clientB = new KubernetesClientBuilder().withConfig(as(group + "-b")).build();
                Manager manager = new Manager(clientA, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll(), registry)) {
            manager.install(sharding);
            guard.fenceWrites(fenced ? sharding.writeFence() : WriteFence.OPEN);
            manager.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> sharding.activeShards().contains(0));

            for (int i = 0; i < WRITES; i++) {
                String name = group + "-" + i;
                // Each on a thread of its own, never the common pool (see ShardedCliTest).
                writes.add(CompletableFuture.runAsync(() -> clientA.configMaps().inNamespace(WORK).resource(new ConfigMapBuilder()
                        .withNewMetadata().withName(name).endMetadata().addToData("k", "v").build()).create(), Thread.ofVirtual()::start));
            }
            // Two have gone out; the others wait for permits. B takes the shard's Lease as a replica would once A's expired.
            await().atMost(Duration.ofSeconds(30)).until(() -> server.client().configMaps().inNamespace(WORK).list().getItems()
                    .stream().filter(c -> c.getMetadata().getName().startsWith(group + "-")).count() >= 2);
            String lease = new LeaseNaming(group).shardLease(0);
            // A renews every second: an edit that loses the race (409) is read again and retried.
            await().atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(KubernetesClientException.class).until(() -> {
                clientB.leases().inNamespace(LEASES).withName(lease).edit(l -> new LeaseBuilder(l).editSpec()
                        .withHolderIdentity(LeaseNaming.holder(group + "-b", "1")).withRenewTime(ZonedDateTime.now()).endSpec()
                        .build());
                return true;
            });

            int refused = 0;
            for (CompletableFuture<Void> w : writes) {
                try {
                    w.get(60, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    assertThat(e.getCause()).as("a queued write fails only by the fence").isInstanceOf(WriteFencedException.class);
                    refused++;
                }
            }
            double counted = registry.find(GuardMetricNames.FENCED_WRITES_TOTAL).counters().stream()
                    .mapToDouble(c -> c.count()).sum();
            assertThat(counted).isEqualTo(refused);
            manager.stop();
            List<AuditedRequest> log = AuditLog.read(server.auditLog().orElseThrow());
            int accepted = (int) log.stream().filter(r -> r.isAcceptedWrite() && r.user().equals(a) && r.resource().equals("configmaps")
                    && r.name().startsWith(group + "-")).count();
            Outcome outcome = new Outcome(new SingleWriterCheck(config.space(), new LeaseNaming(group), LEASES).violations(log),
                    refused, accepted);
            System.out.printf("write fence audit: group=%s fence=%s writes=%d accepted=%d fenced=%d violations=%d%n", group,
                    fenced ? "on" : "off", WRITES, accepted, refused, outcome.violations().size());
            outcome.violations().forEach(v -> System.out.println("  violation: " + v));
            return outcome;
        }
    }

    @Test
    void withTheFenceNoWriteOfTheOldHolderLandsAfterTheTakeover() throws Exception {
        Outcome o = takeOverWithWritesQueued("fenced", true);
        assertThat(o.violations()).as("second writers in the audit log").isEmpty();
        assertThat(o.fenced()).as("queued writes refused by the fence").isGreaterThanOrEqualTo(1);
        assertThat(o.accepted() + o.fenced()).isEqualTo(WRITES);
    }

    @Test
    void withoutTheFenceTheQueuedWritesLandAfterTheTakeoverAndTheAuditLogShowsIt() throws Exception {
        Outcome o = takeOverWithWritesQueued("open", false);
        assertThat(o.fenced()).isZero();
        assertThat(o.violations()).as("the check can fail: the same scenario without the fence").isNotEmpty()
                .allSatisfy(v -> assertThat(v.holder()).isEqualTo("open-b"));
    }
}
