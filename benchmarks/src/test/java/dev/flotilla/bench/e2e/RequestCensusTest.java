package dev.flotilla.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.bench.protocol.Message;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RequestCensusTest {

    @Test
    void aRequestsKindIsItsVerbAndResourceWithGetsToldApartIntoGetListAndWatch() {
        assertThat(RequestCensus.kind("PATCH", URI.create("https://h:6443/api/v1/namespaces/ns-1/configmaps/settings-mirror")))
                .isEqualTo("PATCH.configmaps");
        assertThat(RequestCensus.kind("POST", URI.create("https://h/api/v1/namespaces/ns-1/configmaps"))).isEqualTo("POST.configmaps");
        assertThat(RequestCensus.kind("PUT", URI.create("https://h/apis/coordination.k8s.io/v1/namespaces/fs/leases/shard-3")))
                .isEqualTo("PUT.leases");
        assertThat(RequestCensus.kind("GET", URI.create("https://h/apis/coordination.k8s.io/v1/namespaces/fs/leases/shard-3")))
                .isEqualTo("GET.leases");
        assertThat(RequestCensus.kind("GET", URI.create("https://h/api/v1/configmaps?labelSelector=a%3Db&limit=500")))
                .isEqualTo("LIST.configmaps");
        assertThat(RequestCensus.kind("GET", URI.create("https://h/api/v1/namespaces/ns-1/configmaps?resourceVersion=5&watch=true")))
                .isEqualTo("WATCH.configmaps");
        assertThat(RequestCensus.kind("GET", URI.create("https://h/api/v1/namespaces"))).isEqualTo("LIST.namespaces");
        assertThat(RequestCensus.kind("GET", URI.create("https://h/api/v1/namespaces/ns-1"))).isEqualTo("GET.namespaces");
        assertThat(RequestCensus.kind("GET", URI.create("https://h/version"))).isEqualTo("GET.version");
        assertThat(RequestCensus.kind("GET", URI.create("https://h/"))).isEqualTo("GET.root");
    }

    @Test
    void aRoundsCensusIsTheReportsCountsLessThoseBeforeItMostFirst() {
        Message before = new Message("report", Map.of("requests", "10", "req.PUT.leases.200", "4", "req.POST.configmaps.201", "6"));
        Message after = new Message("report", Map.of("requests", "31", "req.PUT.leases.200", "9", "req.POST.configmaps.201", "20",
                "req.PATCH.configmaps.409", "2", "active", "8"));
        Map<String, Long> round = RequestCensus.since(RequestCensus.read(before), RequestCensus.read(after));
        assertThat(round).containsExactly(Map.entry("POST.configmaps.201", 14L), Map.entry("PUT.leases.200", 5L),
                Map.entry("PATCH.configmaps.409", 2L));
    }
}
