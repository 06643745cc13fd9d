package dev.flotilla.sharding;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.reconcile.Result;
import dev.flotilla.sharding.audit.AuditTrail;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Duration;

/** One sharded replica in the test JVM: its own client (through the fault proxy), manager and sharding. */
final class Replica implements AutoCloseable {

    static final String LABEL = "flotilla.dev/sharding-test";

    final String name;
    final KubernetesClient client;
    final Manager manager;
    final Sharding sharding;

    Replica(String name, Config config, ShardingConfig sharding, AuditTrail trail, String run, Duration reconcileTime) {
        this(name, config, sharding, trail, run, reconcileTime, true);
    }

    /**
     * A replica with sharding alone, no controller: it watches and writes nothing but its group's Leases,
     * for measuring what sharding itself costs the API server.
     */
    static Replica leasesOnly(String name, Config config, ShardingConfig sharding, AuditTrail trail) {
        return new Replica(name, config, sharding, trail, "", Duration.ZERO, false);
    }

    private Replica(String name, Config config, ShardingConfig sharding, AuditTrail trail, String run, Duration reconcileTime,
            boolean controllers) {
        this.name = name;
        config.setRequestTimeout(3_000);
        config.setConnectionTimeout(2_000);
        this.client = new KubernetesClientBuilder().withConfig(config).build();
        this.manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1)
                .withShutdownTimeout(Duration.ofSeconds(5)), KeyGate.admitAll());
        this.sharding = Sharding.of(sharding, trail);
        manager.install(this.sharding);
        if (!controllers) {
            return;
        }
        manager.controller(ConfigMap.class).named("work").withLabelSelector(LABEL + "=" + run).workers(4)
                .complete(this.sharding.audited(request -> {
                    request.cache().get(request.key());
                    Thread.sleep(reconcileTime.toMillis());
                    return Result.done();
                }));
        // Cluster-scoped primaries: reconciled by the coordinator's replica only.
        manager.controller(Namespace.class).named("cluster").withLabelSelector(LABEL + "=" + run).workers(1)
                .complete(this.sharding.audited(request -> Result.done()));
    }

    Replica start() throws Exception {
        manager.start();
        return this;
    }

    int cached() {
        return manager.controllers().getFirst().cache().size();
    }

    @Override
    public void close() {
        manager.stop();
        client.close();
    }
}
