package dev.flotilla.manager;

import dev.flotilla.testing.TestNamespace;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/** Reading a replica's /metrics as a scraper would: over HTTPS, with or without a bearer token. */
final class MetricsScrape {

    private MetricsScrape() {
    }

    /** GET {@code url}, with {@code token} as the bearer token if present, trusting what {@code tls} trusts. */
    static HttpResponse<String> get(URI url, Optional<String> token, SSLContext tls) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(20)).GET();
            token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    /**
     * Trusts any certificate for any host: a scraper of the self-signed default, as a ServiceMonitor's
     * insecureSkipVerify does. An extended trust manager, or the JDK would still check the host name.
     */
    static SSLContext trustAll() throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new X509ExtendedTrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, new SecureRandom());
        return context;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * A token of a new ServiceAccount {@code name} in {@code ns}, bound (when {@code reader}) to the metrics reader
     * ClusterRole deploy/base ships, created under a name unique to {@code ns}.
     */
    static String account(KubernetesClient admin, TestNamespace ns, String name, boolean reader) {
        admin.serviceAccounts().inNamespace(ns.name()).resource(new ServiceAccountBuilder().withNewMetadata().withName(name)
                .endMetadata().build()).create();
        if (reader) {
            ClusterRole role = (ClusterRole) DeployManifestsTest.documents(DeployManifests.files()
                    .get(DeployManifests.METRICS_READER_ROLE)).getFirst();
            String unique = role.getMetadata().getName() + "-" + ns.name();
            role.getMetadata().setName(unique);
            admin.resource(role).create();
            admin.resource(new ClusterRoleBindingBuilder().withNewMetadata().withName(unique).endMetadata().withNewRoleRef()
                    .withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName(unique).endRoleRef()
                    .addNewSubject().withKind("ServiceAccount").withName(name).withNamespace(ns.name()).endSubject().build())
                    .create();
        }
        return admin.serviceAccounts().inNamespace(ns.name()).withName(name).tokenRequest(new TokenRequestBuilder()
                .withNewSpec().withExpirationSeconds(3600L).endSpec().build()).getStatus().getToken();
    }

    /** Deletes what {@link #account} made cluster-wide. */
    static void removeReader(KubernetesClient admin, TestNamespace ns) {
        String unique = DeployManifests.METRICS_READER + "-" + ns.name();
        admin.rbac().clusterRoleBindings().withName(unique).delete();
        admin.rbac().clusterRoles().withName(unique).delete();
    }
}
