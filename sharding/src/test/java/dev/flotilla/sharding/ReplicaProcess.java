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
import java.util.HashMap;
import java.util.Map;

/**
 * One sharded replica as its own JVM, for the suites that kill replicas with SIGKILL or freeze
 * them with SIGSTOP. Arguments are {@code key=value}: kubeconfig (file), identity, leaseNamespace,
 * group, label (of the objects to reconcile), audit (file), leaseSeconds, renewSeconds, retryMillis,
 * qps, writes (whether the reconciler writes), fence (default true; false only to show what the
 * audit-log check catches without it), impersonate (default true; false when a fault proxy in
 * front of it impersonates the identity), pod ({@code namespace/name} of the Pod it runs in, for
 * restart proof; none by default).
 *
 * <p>It runs as {@code flotilla run} does: every request through the guard (rate limit at
 * {@code qps}, breaker, retry) with sharding's write fence, as its own user (the admin
 * impersonating {@code identity}, so the API server's audit log attributes each request). Its
 * reconciler writes: each reconcile of {@code <name>} applies {@code <name>-seen} in the same
 * namespace, naming the replica and the source's resourceVersion.
 * Prints {@code BASELINE <bytes>} before the manager starts and {@code READY} once joined; on
 * {@code heap} from stdin prints {@code HEAP <bytes> <cached objects> <active shards>}; {@code UPTIME <ms>} after
 * {@code READY} is how long the JVM took to get there.
 */
public final class ReplicaProcess {

    /** What each reconcile of {@code <name>} writes: {@code <name>-seen}. */
    static final String SEEN_SUFFIX = "-seen";
    /** The groups the replicas act in: the test cluster's RBAC is not what these suites judge. */
    static final String[] IMPERSONATED_GROUPS = {"system:masters"};

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("expected key=value, got '" + a + "'");
            }
            opt.put(a.substring(0, eq), a.substring(eq + 1));
        }
        Config config = Config.fromKubeconfig(Files.readString(Path.of(required(opt, "kubeconfig"))));
        String identity = required(opt, "identity");
        String leaseNamespace = required(opt, "leaseNamespace");
        ShardingConfig sharding = ShardingConfig.defaults(identity, leaseNamespace).withGroup(required(opt, "group"))
                .withTimings(Duration.ofSeconds(Long.parseLong(required(opt, "leaseSeconds"))),
                        Duration.ofSeconds(Long.parseLong(required(opt, "renewSeconds"))),
                        Duration.ofMillis(Long.parseLong(required(opt, "retryMillis"))))
                .withDrainTimeout(Duration.ofSeconds(1));
        String label = required(opt, "label");
        if (Boolean.parseBoolean(opt.getOrDefault("impersonate", "true"))) {
            // Otherwise a fault proxy in front of it impersonates the identity.
            config.setImpersonateUsername(identity);
            config.setImpersonateGroups(IMPERSONATED_GROUPS);
        }
        double qps = Double.parseDouble(required(opt, "qps"));
        boolean writes = Boolean.parseBoolean(required(opt, "writes"));
        // Only a test turns the fence off: to show that the audit-log check catches what it prevents.
        boolean fence = Boolean.parseBoolean(opt.getOrDefault("fence", "true"));
        RequestGuard guard = RequestGuard.create(GuardConfig.builder().qps(qps).burst((int) Math.max(1, qps)).build(),
                new SimpleMeterRegistry());
        KubernetesClient client = GuardedClients.newClient(config, guard);
        client.leases().inNamespace(leaseNamespace).list(); // load the client's classes before the baseline
        // The baseline costs three full collections: only the memory suite asks for it.
        System.out.println("BASELINE " + (Boolean.parseBoolean(opt.getOrDefault("baseline", "true")) ? retainedHeap() : -1));
        FileAuditTrail trail = new FileAuditTrail(Path.of(required(opt, "audit")));
        Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
        Sharding replica = Sharding.of(sharding, trail);
        if (opt.containsKey("pod")) {
            String[] pod = opt.get("pod").split("/", 2);
            replica = replica.withRestartProof(new PodReference(pod[0], pod[1], ""));
        }
        manager.install(replica);
        if (fence) {
            guard.fenceWrites(replica.writeFence());
        }
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
        System.out.println("UPTIME " + ManagementFactory.getRuntimeMXBean().getUptime()); // JVM start to joined, ms
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

    private static String required(Map<String, String> opt, String key) {
        String v = opt.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing " + key + "=...");
        }
        return v;
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
