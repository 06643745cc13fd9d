package dev.flotilla.manager.cluster;

import dev.flotilla.cli.CliException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --kubeconfig} and {@code --context}, shared by every command that talks to a cluster. */
public final class ClusterOptions {

    @Option(names = "--kubeconfig", paramLabel = "FILE",
            description = "Kubeconfig file. Default: $KUBECONFIG, else the in-cluster service account, else ~/.kube/config.")
    Path kubeconfig;

    @Option(names = "--context", paramLabel = "NAME", description = "Kubeconfig context. Default: its current-context.")
    String context;

    @Option(names = KubeconfigLoader.ALLOW_INSECURE_FLAG,
            description = "Allow a plain-HTTP API server or a kubeconfig with insecure-skip-tls-verify (refused otherwise): "
                    + "anyone on the network path could read the credentials and pose as the server. Local test setups only.")
    boolean allowInsecure;

    /**
     * Finds and validates the client configuration, refusing an insecure connection unless allowed (a
     * {@link CliException} of exit 3 on any problem).
     */
    public KubeconfigLoader.Loaded load() {
        return KubeconfigLoader.requireSecure(new KubeconfigLoader().load(kubeconfig, context), allowInsecure);
    }
}
