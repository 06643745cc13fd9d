package dev.flotilla.manager.shards;

import dev.flotilla.cli.CliException;
import dev.flotilla.manager.cluster.ClusterOptions;
import dev.flotilla.cli.ExitCode;
import dev.flotilla.cli.CommandContext;
import dev.flotilla.sharding.ShardingSettings;
import dev.flotilla.manager.cluster.KubeconfigLoader;
import dev.flotilla.core.rbac.ApiPermission;
import dev.flotilla.manager.cluster.StartupChecks;
import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardingConfig;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code flotilla shards}: the live assignment of a sharding group, read from its Leases: per shard
 * its hash range, the owner the coordinator wants, the holder and how fresh its Lease is; then the
 * members and the coordinator. Read-only; it needs {@code list leases} in the lease namespace.
 */
@Command(name = "shards", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Show which replica holds which shard of a sharding group, read from the group's Leases.",
                "Exit 1 if the group has no Leases in the namespace, 3/4/5 as for run (kubeconfig, unreachable, "
                        + "permission)."})
public final class ShardsCommand implements Callable<Integer> {

    @ParentCommand
    CommandContext main;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--lease-namespace", paramLabel = "NAMESPACE",
            description = "Namespace of the group's Leases. Default: $POD_NAMESPACE, else default.")
    String leaseNamespace;

    @Option(names = "--sharding-group", paramLabel = "NAME", defaultValue = ShardingConfig.DEFAULT_GROUP,
            description = "The group (prefix of its Lease names). Default: ${DEFAULT-VALUE}.")
    String group;

    @Option(names = "--json", description = "Print one JSON object instead of tables.")
    boolean json;

    @Override
    public Integer call() {
        main.logging();
        String namespace = leaseNamespace != null ? leaseNamespace : ShardingSettings.defaultLeaseNamespace(System.getenv());
        KubeconfigLoader.Loaded loaded = cluster.load();
        StartupChecks.verify(loaded.config(), loaded.source(),
                List.of(new ApiPermission("list", "coordination.k8s.io", "leases", namespace)));
        Config quick = new ConfigBuilder(loaded.config())
                .withConnectionTimeout((int) StartupChecks.CONNECT_TIMEOUT.toMillis())
                .withRequestTimeout((int) StartupChecks.REQUEST_TIMEOUT.toMillis() * 2)
                .withRequestRetryBackoffLimit(0)
                .build();
        List<Lease> leases;
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(quick).build()) {
            leases = client.leases().inNamespace(namespace).withLabel(LeaseNaming.LABEL_GROUP, group).list().getItems();
        } catch (KubernetesClientException e) {
            throw StartupChecks.classify(e, "LIST leases in namespace " + namespace, loaded.config(), loaded.source());
        }
        if (leases.isEmpty()) {
            throw new CliException(ExitCode.FAILURE, "no sharding group '" + group + "' in namespace '" + namespace
                    + "' (no Leases labelled " + LeaseNaming.LABEL_GROUP + "=" + group + ")");
        }
        ShardReport report = ShardReport.of(group, namespace, leases, Instant.now());
        PrintStream out = main.out();
        out.print(json ? report.toJson() + "\n" : report.toText());
        out.flush();
        return ExitCode.OK.code();
    }
}
