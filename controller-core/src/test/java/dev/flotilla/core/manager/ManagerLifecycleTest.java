package dev.flotilla.core.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.reconcile.Result;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ManagerLifecycleTest {

    @Test
    void aFailedStartNamesTheUnsyncedInformerAndLeavesAManagerThatStopsAtOnce() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
                .withMasterUrl("https://127.0.0.1:" + closedPort).withRequestRetryBackoffLimit(0).build()).build()) {
            Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(0)
                    .withHealthBindAddress("127.0.0.1").withCacheSyncTimeout(Duration.ofSeconds(1)), KeyGate.admitAll());
            manager.controller(ConfigMap.class).named("unreachable").complete(r -> Result.done());
            assertThatThrownBy(manager::start).isInstanceOf(CacheSyncException.class)
                    .hasMessageContaining("did not sync within PT1S").hasMessageContaining("ConfigMap");
            long t0 = System.nanoTime();
            assertThat(manager.stop()).isTrue();
            manager.close();
            manager.awaitTermination();
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1000);
            assertThat(manager.healthPort()).as("the health server was closed").isEqualTo(-1);
        }
    }

    @Test
    void stoppingAManagerThatNeverStartedReturnsAtOnce() throws Exception {
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
                .withMasterUrl("https://127.0.0.1:1").build()).build()) {
            Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll());
            assertThat(manager.stop()).isTrue();
            manager.awaitTermination();
        }
    }
}
