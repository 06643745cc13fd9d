package dev.flotilla.chaos.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Two topologies in one process (LocalChaosTest's two clusters) keep their pod cgroups apart: a topology counts as its
 * own every group whose name starts with its parent and a dash, so neither parent may be a prefix of the other's.
 */
class CgroupParentTest {

    @Test
    void twoWorkDirectoriesInOneProcessGetParentsThatDoNotCountEachOthersGroups() {
        String one = LocalTopology.cgroupParent(Path.of("target/chaos-work/1/cluster-1"));
        String two = LocalTopology.cgroupParent(Path.of("target/chaos-work/1/cluster-2"));
        assertThat(one).isNotEqualTo(two).startsWith("flotilla-chaos-" + ProcessHandle.current().pid() + "-");
        String podOfTwo = two + "-flotilla-7c9f4-bx2k8";
        String podOfOne = one + "-flotilla-7c9f4-bx2k8";
        assertThat(podOfTwo).doesNotStartWith(one + "-");
        assertThat(podOfOne).doesNotStartWith(two + "-");
        assertThat(LocalTopology.cgroupParent(Path.of("target/chaos-work/1/../1/cluster-1"))).as("one directory, one parent")
                .isEqualTo(one);
    }
}
