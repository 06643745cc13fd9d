package dev.flotilla.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.core.rbac.ApiPermission;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.util.List;
import org.junit.jupiter.api.Test;

class WatchedNamespacesTest {

    @Test
    void aListIsWatchedNamespaceByNamespaceAndNothingElse() {
        WatchedNamespaces teams = WatchedNamespaces.only(List.of("team-b", "team-a"));
        assertThat(teams.scope().partitionsFor(InformerKey.all(ConfigMap.class)))
                .containsExactly(Partition.namespace("team-a"), Partition.namespace("team-b"));
        assertThat(teams.contains("team-a")).isTrue();
        assertThat(teams.contains("kube-system")).isFalse();
        assertThat(teams).hasToString("team-a,team-b");
        assertThat(WatchedNamespaces.all().scope().partitionsFor(InformerKey.all(ConfigMap.class))).containsExactly(Partition.ALL);
    }

    @Test
    void aBadListIsRefusedNamingTheEntry() {
        assertThatThrownBy(() -> WatchedNamespaces.only(List.of())).hasMessageContaining("empty");
        assertThatThrownBy(() -> WatchedNamespaces.only(List.of("a", "B"))).hasMessageStartingWith("'B' is not a namespace name");
        assertThatThrownBy(() -> WatchedNamespaces.only(List.of("a", "a"))).hasMessage("namespace 'a' is listed twice");
        assertThatThrownBy(() -> WatchedNamespaces.only(List.of("x".repeat(64)))).hasMessageContaining("at most 63");
    }

    @Test
    void clusterWidePermissionsBecomeOnePerListedNamespace() {
        List<ApiPermission> perms = List.of(ApiPermission.core("get", "configmaps"), new ApiPermission("get", "", "pods", "home"));
        assertThat(ApiPermission.inEach(perms, List.of("a", "b"))).containsExactly(
                new ApiPermission("get", "", "configmaps", "a"), new ApiPermission("get", "", "configmaps", "b"),
                new ApiPermission("get", "", "pods", "home"));
        assertThat(ApiPermission.inEach(perms, List.of())).containsExactly(new ApiPermission("get", "", "pods", "home"));
    }
}
