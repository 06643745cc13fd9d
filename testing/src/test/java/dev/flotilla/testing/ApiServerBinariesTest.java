package dev.flotilla.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ApiServerBinariesTest {

    @Test
    void platformIsNamedAsKubeApiTestAndTheBuildScriptNameIt() {
        assertThat(ApiServerBinaries.platform("Linux", "amd64")).isEqualTo("linux-amd64");
        assertThat(ApiServerBinaries.platform("Linux", "aarch64")).isEqualTo("linux-arm64");
        assertThat(ApiServerBinaries.platform("Linux", "ppc64le")).isEqualTo("linux-ppc64le");
        assertThat(ApiServerBinaries.platform("Mac OS X", "aarch64")).isEqualTo("darwin-arm64");
    }

    @Test
    void binaryDirIsTheVersionAndThisMachinesPlatform() {
        assertThat(ApiServerBinaries.binaryDir().getFileName().toString())
                .isEqualTo(ApiServerBinaries.kubernetesVersion() + "-" + ApiServerBinaries.platform());
        assertThat(ApiServerBinaries.binaryDir().getParent().getParent()).isEqualTo(ApiServerBinaries.baseDir());
    }
}
