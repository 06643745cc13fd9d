package dev.flotilla.sharding;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.sharding.audit.FileAuditTrail;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One sharded replica as its own JVM, for the suites that kill replicas with SIGKILL or freeze
 * them with SIGSTOP. Arguments: kubeconfig file, identity, lease namespace, group, label value of
 * the objects to reconcile, audit file, lease seconds, renew-deadline seconds, retry millis.
 * Prints {@code BASELINE <bytes>} before the manager starts and {@code READY} once joined; on
 * {@code heap} from stdin prints {@code HEAP <bytes> <cached objects> <active shards>}.
 */
public final class ReplicaProcess {

    public static void main(String[] args) throws Exception {
        Config config = Config.fromKubeconfig(Files.readString(Path.of(args[0])));
        String identity = args[1];
        ShardingConfig sharding = ShardingConfig.defaults(identity, args[2]).withGroup(args[3])
                .withTimings(Duration.ofSeconds(Long.parseLong(args[6])), Duration.ofSeconds(Long.parseLong(args[7])),
                        Duration.ofMillis(Long.parseLong(args[8])))
                .withDrainTimeout(Duration.ofSeconds(1));
        String label = args[4];
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
        client.leases().inNamespace(args[2]).list(); // load the client's classes before the baseline
        System.out.println("BASELINE " + retainedHeap());
        FileAuditTrail trail = new FileAuditTrail(Path.of(args[5]));
        Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
        Sharding replica = Sharding.of(sharding, trail);
        manager.install(replica);
        manager.controller(ConfigMap.class).named("work").withLabelSelector(Replica.LABEL + "=" + label).workers(4)
                .complete(replica.audited(request -> {
                    request.cache().get(request.key());
                    Thread.sleep(5);
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
