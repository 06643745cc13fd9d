package dev.flotilla.sharding;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.sharding.audit.FileAuditTrail;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import dev.flotilla.resilience.fabric8.GuardedClients;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One sharded replica as its own JVM, for the suites that kill replicas with SIGKILL or freeze
 * them with SIGSTOP. Arguments: kubeconfig file, identity, lease namespace, group, label value of
 * the objects to reconcile, audit file, lease seconds, renew-deadline seconds, retry millis, qps,
 * whether the reconciler writes.
 *
 * <p>It runs as {@code flotilla run} does: every request through the guard (rate limit at
 * {@code qps}, breaker, retry) with sharding's write fence, as its own user (the admin
 * impersonating {@code identity}, so the API server's audit log attributes each request). Its
 * reconciler writes: each reconcile of {@code <name>} applies {@code <name>-seen} in the same
 * namespace, naming the replica and the source's resourceVersion.
 * Prints {@code BASELINE <bytes>} before the manager starts and {@code READY} once joined; on
 * {@code heap} from stdin prints {@code HEAP <bytes> <cached objects> <active shards>}.
 */
public final class ReplicaProcess {

    /** What each reconcile of {@code <name>} writes: {@code <name>-seen}. */
    static final String SEEN_SUFFIX = "-seen";
    /** The groups the replicas act in: the test cluster's RBAC is not what these suites judge. */
    static final String[] IMPERSONATED_GROUPS = {"system:masters"};

    public static void main(String[] args) throws Exception {
        Config config = Config.fromKubeconfig(Files.readString(Path.of(args[0])));
        String identity = args[1];
        ShardingConfig sharding = ShardingConfig.defaults(identity, args[2]).withGroup(args[3])
                .withTimings(Duration.ofSeconds(Long.parseLong(args[6])), Duration.ofSeconds(Long.parseLong(args[7])),
                        Duration.ofMillis(Long.parseLong(args[8])))
                .withDrainTimeout(Duration.ofSeconds(1));
        String label = args[4];
        config.setImpersonateUsername(identity);
        config.setImpersonateGroups(IMPERSONATED_GROUPS);
        double qps = Double.parseDouble(args[9]);
        boolean writes = Boolean.parseBoolean(args[10]);
        RequestGuard guard = RequestGuard.create(GuardConfig.builder().qps(qps).burst((int) Math.max(1, qps)).build(),
                new SimpleMeterRegistry());
        KubernetesClient client = GuardedClients.newClient(config, guard);
        client.leases().inNamespace(args[2]).list(); // load the client's classes before the baseline
        System.out.println("BASELINE " + retainedHeap());
        FileAuditTrail trail = new FileAuditTrail(Path.of(args[5]));
        Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
        Sharding replica = Sharding.of(sharding, trail);
        manager.install(replica);
        guard.fenceWrites(replica.writeFence());
        manager.controller(ConfigMap.class).named("work").withLabelSelector(Replica.LABEL + "=" + label).workers(4)
                .complete(replica.audited(request -> {
                    var source = request.cache().get(request.key());
                    if (writes && source.isPresent()) {
                        ConfigMap seen = new ConfigMapBuilder().withNewMetadata().withName(request.key().name() + SEEN_SUFFIX)
                                .withNamespace(request.key().namespace()).endMetadata()
                                .addToData("replica", identity)
                                .addToData("resourceVersion", source.get().getMetadata().getResourceVersion()).build();
                        client.resource(seen).fieldManager("replica").forceConflicts().serverSideApply();
                    }
                    return Result.done();
                }));
        manager.installShutdownHook();
        manager.start();
        System.out.println("READY " + ProcessHandle.current().pid());
        // This process's wall clock, for a test that skews it (faketime).
        System.out.println("CLOCK " + java.time.Instant.now().getEpochSecond());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("heap")) {
                long heap = retainedHeap();
                System.out.println("HEAP " + heap + " " + manager.controllers().getFirst().cache().size() + " "
                        + replica.activeShards().size());
            } else if (line.equals("stop")) {
                break;
            }
        }
        System.exit(0);
    }

    /** Heap in use after full collections: what the process retains. */
    static long retainedHeap() throws InterruptedException {
        var memory = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
