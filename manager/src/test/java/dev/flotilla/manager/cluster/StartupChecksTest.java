package dev.flotilla.manager.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;
import org.junit.jupiter.api.Test;

/** The one-line errors for failed requests, from the exception chains fabric8's HTTP clients produce. */
class StartupChecksTest {

    private static final Config CONFIG = new ConfigBuilder(Config.empty()).withMasterUrl("https://127.0.0.1:1/").build();

    private static CliException classify(Throwable cause) {
        return StartupChecks.classify(new KubernetesClientException("An error has occurred.", cause), "GET /version",
                CONFIG, "the kubeconfig");
    }

    @Test
    void aRefusedConnectionSaysSoOnTheJdkClientWhoseConnectExceptionHasNoMessage() {
        // java.net.http: ConnectException(null) caused by a bare ClosedChannelException (JDK 25, a closed port).
        var jdk = new ConnectException();
        jdk.initCause(new ClosedChannelException());
        CliException e = classify(new IOException(jdk));
        assertThat(e.exitCode()).isEqualTo(ExitCode.UNREACHABLE);
        assertThat(e.getMessage()).isEqualTo("cannot reach the API server at https://127.0.0.1:1: Connection refused");
    }

    @Test
    void aConnectExceptionWithAMessageKeepsIt() {
        // Netty (Vert.x): the socket's own words, with the address.
        CliException e = classify(new ConnectException("Connection refused: /127.0.0.1:1"));
        assertThat(e.getMessage()).isEqualTo("cannot reach the API server at https://127.0.0.1:1: Connection refused: /127.0.0.1:1");
    }

    @Test
    void otherwiseTheDeepestCauseSpeaks() {
        CliException e = classify(new IOException("outer", new IOException("Broken pipe")));
        assertThat(e.exitCode()).isEqualTo(ExitCode.UNREACHABLE);
        assertThat(e.getMessage()).isEqualTo("cannot reach the API server at https://127.0.0.1:1: Broken pipe");
    }
}
