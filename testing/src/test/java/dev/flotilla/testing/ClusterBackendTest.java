package dev.flotilla.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

class ClusterBackendTest {

    @Test
    void theBackendIsRealUnlessChosenAndAMisspeltOneIsAClearError() {
        assertThat(ClusterBackend.parse("")).isEqualTo(ClusterBackend.REAL);
        assertThat(ClusterBackend.parse(" K3s ")).isEqualTo(ClusterBackend.K3S);
        assertThat(ClusterBackend.parse("mock")).isEqualTo(ClusterBackend.MOCK);
        assertThatThrownBy(() -> ClusterBackend.parse("kind"))
                .hasMessage("-Dflotilla.cluster=kind is not a cluster backend; use one of real, k3s, mock");
    }

    @Test
    void k3sWithoutADockerEngineSkipsWithTheReasonInsteadOfFailing() {
        String reason = K3sCluster.dockerUnavailableReason();
        Assumptions.assumeTrue(reason != null, "a Docker engine is available here; the skip path cannot be shown");
        assertThatThrownBy(K3sCluster::start).isInstanceOf(TestAbortedException.class)
                .hasMessageContaining("K3S backend skipped: no Docker engine is reachable")
                .hasMessageContaining("-Dflotilla.cluster=real");
    }

    @Test
    void missingBinariesNameTheDirectoryAndTheBuildCommand() {
        String before = System.getProperty(ApiServerBinaries.DIR_PROPERTY);
        System.setProperty(ApiServerBinaries.DIR_PROPERTY, "/nonexistent/flotilla");
        try {
            assertThat(ApiServerBinaries.present()).isFalse();
            assertThatThrownBy(ApiServerBinaries::require).hasMessageContaining("/nonexistent/flotilla/k8s/")
                    .hasMessageContaining("bash testing/apiserver/build.sh");
        } finally {
            if (before == null) {
                System.clearProperty(ApiServerBinaries.DIR_PROPERTY);
            } else {
                System.setProperty(ApiServerBinaries.DIR_PROPERTY, before);
            }
        }
    }
}
