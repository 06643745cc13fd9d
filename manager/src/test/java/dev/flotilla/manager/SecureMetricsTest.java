package dev.flotilla.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flotilla.core.health.ServingCertificate;
import dev.flotilla.sharding.auditlog.AuditedRequest;
import dev.flotilla.testing.TestCluster;
import dev.flotilla.testing.TestNamespace;
import dev.flotilla.testing.WithCluster;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;

/**
 * /metrics as {@code flotilla run} serves it by default, judged on the REAL API server: HTTPS, no token 401, a token
 * the server does not accept 401, an account without the reader ClusterRole 403, with it 200; answers cached (one
 * TokenReview for many scrapes with one token, counted in the audit log); a certificate given with
 * {@code --metrics-cert-dir} is the one served; {@code --metrics-secure=false} serves plain HTTP to anyone.
 */
@WithCluster(auditLog = true)
class SecureMetricsTest {

    @Test
    void onlyAReaderTheApiServerAuthorizesGetsTheMetrics(TestCluster cluster, TestNamespace ns) throws Exception {
        var admin = cluster.client();
        Path dir = Path.of("target", "secure-metrics");
        Files.createDirectories(dir);
        ShippedRbac rbac = DeployRbacAuditTest.deployAccount(admin, ns);
        List<Process> replicas = new ArrayList<>();
        try {
            String reader = MetricsScrape.account(admin, ns, "prometheus", true);
            String stranger = MetricsScrape.account(admin, ns, "stranger", false);
            Path kubeconfig = DeployRbacAuditTest.tokenKubeconfig(cluster, ns, dir.resolve("kubeconfig"));

            // 1. The default: a self-signed certificate, TokenReview + SubjectAccessReview.
            int port = MetricsScrape.freePort();
            replicas.add(DeployRbacAuditTest.start(dir.resolve("default.log"), kubeconfig, ns.name(), "flotilla-0",
                    "--metrics-port", String.valueOf(port)));
            URI url = URI.create("https://127.0.0.1:" + port + "/metrics");
            SSLContext any = MetricsScrape.trustAll();
            HttpResponse<String> allowed = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .ignoreExceptions().until(() -> MetricsScrape.get(url, Optional.of(reader), any), r -> r.statusCode() == 200);
            assertThat(allowed.body()).contains("controller_runtime_reconcile_total");
            HttpResponse<String> anonymous = MetricsScrape.get(url, Optional.empty(), any);
            assertThat(anonymous.statusCode()).as(anonymous.body()).isEqualTo(401);
            assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(MetricsScrape.get(url, Optional.of("not-a-token"), any).statusCode()).isEqualTo(401);
            HttpResponse<String> denied = MetricsScrape.get(url, Optional.of(stranger), any);
            assertThat(denied.statusCode()).as(denied.body()).isEqualTo(403);
            assertThat(denied.body()).contains("system:serviceaccount:" + ns.name() + ":stranger").doesNotContain(stranger);
            for (int i = 0; i < 5; i++) {
                assertThat(MetricsScrape.get(url, Optional.of(reader), any).statusCode()).isEqualTo(200);
            }
            assertThat(Files.readString(dir.resolve("default.log"))).as("no token in the log")
                    .doesNotContain(reader).doesNotContain(stranger);

            // 2. A certificate of one's own: a client that trusts exactly it connects.
            ServingCertificate own = ServingCertificate.selfSigned(List.of("localhost"));
            Path certs = Files.createDirectories(dir.resolve("certs"));
            Files.writeString(certs.resolve(ServingCertificate.CERT_FILE), pem(own.chain().getFirst()));
            Files.writeString(certs.resolve(ServingCertificate.KEY_FILE), "-----BEGIN PRIVATE KEY-----\n"
                    + java.util.Base64.getMimeEncoder().encodeToString(own.key().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
            int ownPort = MetricsScrape.freePort();
            replicas.add(DeployRbacAuditTest.start(dir.resolve("own-cert.log"), kubeconfig, ns.name(), "flotilla-1",
                    "--metrics-port", String.valueOf(ownPort), "--metrics-cert-dir", certs.toAbsolutePath().toString()));
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("own", own.chain().getFirst());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            SSLContext onlyOwn = SSLContext.getInstance("TLS");
            onlyOwn.init(null, tmf.getTrustManagers(), null);
            URI ownUrl = URI.create("https://localhost:" + ownPort + "/metrics");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> MetricsScrape.get(ownUrl, Optional.of(reader), onlyOwn).statusCode() == 200);

            // 3. Local use: plain HTTP, no check.
            int plainPort = MetricsScrape.freePort();
            replicas.add(DeployRbacAuditTest.start(dir.resolve("plain.log"), kubeconfig, ns.name(), "flotilla-2",
                    "--metrics-port", String.valueOf(plainPort), "--metrics-secure=false"));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> MetricsScrape.get(URI.create("http://127.0.0.1:" + plainPort + "/metrics"), Optional.empty(), any)
                            .statusCode() == 200);
        } finally {
            replicas.forEach(Process::destroyForcibly);
            rbac.revoke(admin);
            MetricsScrape.removeReader(admin, ns);
        }

        String replica = "system:serviceaccount:" + ns.name() + ":" + DeployManifests.SERVICE_ACCOUNT;
        List<AuditedRequest> reviews = DeployRbacAuditTest.awaitAudited(cluster, replica).stream()
                .filter(r -> r.resource().equals("tokenreviews")).toList();
        System.out.printf("SECURE-METRICS tokenreviews=%d%n", reviews.size());
        // Default replica: reader (once, then 5 cached scrapes and the first successful one), anonymous (none: no token),
        // bogus, stranger = 3; the own-certificate replica: reader once (the poll may retry before it listens).
        assertThat(reviews.size()).as("TokenReviews: answers are cached per token").isBetween(4, 6);
        assertThat(reviews).allSatisfy(r -> assertThat(r.code()).isEqualTo(201));
    }

    private static String pem(Object o) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }
}
