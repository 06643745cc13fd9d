package dev.flotilla.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.flotilla.bench.plain.PlainCeiling;
import dev.flotilla.bench.protocol.Message;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpResponse;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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

    /**
     * The server has the write (here: the request arrived) before the writer's client has its answer; until then the
     * census is not quiet, and once it is, the write is in its counts. Without the wait on quiet, a sharded round read
     * 98 of its 100 mirror writes in one CI run.
     */
    @Test
    void aCensusIsQuietOnlyWhenEveryRequestSentHasItsAnswerCounted() throws Exception {
        CountDownLatch arrived = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            arrived.countDown();
            try {
                answer.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(201, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        RequestCensus census = new RequestCensus();
        try (HttpClient client = census.counting(PlainCeiling.jdk()).newBuilder().build()) {
            assertThat(census.quiet()).isTrue();
            URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/api/v1/namespaces/ns-1/configmaps");
            CompletableFuture<HttpResponse<String>> sent = client.sendAsync(
                    client.newHttpRequestBuilder().uri(uri).post("application/json", "{}").build(), String.class);
            assertThat(arrived.await(30, TimeUnit.SECONDS)).as("the request reached the server").isTrue();
            assertThat(census.quiet()).as("sent, not answered").isFalse();
            assertThat(census.fields()).containsEntry(RequestCensus.QUIET_FIELD, "0").doesNotContainKey("req.POST.configmaps.201");
            answer.countDown();
            assertThat(sent.get(30, TimeUnit.SECONDS).code()).isEqualTo(201);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!census.quiet() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            Message report = new Message("report", census.fields());
            assertThat(RequestCensus.quiet(report)).isTrue();
            assertThat(RequestCensus.read(report)).containsExactly(Map.entry("POST.configmaps.201", 1L));
        } finally {
            answer.countDown();
            server.stop(0);
        }
    }
}
