package dev.flotilla.manager.cluster;

import dev.flotilla.core.rbac.ApiPermission;
import dev.flotilla.cli.CliException;
import dev.flotilla.cli.ExitCode;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.VersionInfo;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;

/**
 * What {@code flotilla run} verifies before it starts informers, so that a broken setup fails in
 * seconds with one precise line instead of a stream of watch errors:
 *
 * <ol>
 *   <li>the API server answers {@code GET /version} within {@link #REQUEST_TIMEOUT} (else
 *       {@link ExitCode#UNREACHABLE}; rejected credentials or a TLS mismatch are
 *       {@link ExitCode#CONFIG});</li>
 *   <li>a SelfSubjectAccessReview allows each required permission, checked in order (else
 *       {@link ExitCode#FORBIDDEN} naming the first missing one).</li>
 * </ol>
 *
 * The checks use their own short-timeout client without fabric8's request retries.
 */
public final class StartupChecks {

    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private final KubernetesClient client;
    private final String url;
    private final String credentialsSource;

    private StartupChecks(KubernetesClient client, String url, String credentialsSource) {
        this.client = client;
        this.url = url;
        this.credentialsSource = credentialsSource;
    }

    /**
     * Runs both checks against the server {@code config} points at.
     *
     * @param source where the configuration came from, for messages
     * @return the server's version, e.g. {@code v1.33.1}
     */
    public static String verify(Config config, String source, List<ApiPermission> required) {
        Objects.requireNonNull(config, "config");
        Config quick = new ConfigBuilder(config)
                .withConnectionTimeout((int) CONNECT_TIMEOUT.toMillis())
                .withRequestTimeout((int) REQUEST_TIMEOUT.toMillis())
                .withRequestRetryBackoffLimit(0)
                .build();
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(quick).build()) {
            StartupChecks checks = new StartupChecks(client, trimSlash(config.getMasterUrl()), source);
            String version = checks.reachable();
            checks.permitted(required);
            return version;
        }
    }

    /** GET /version. */
    String reachable() {
        try {
            VersionInfo info = client.getKubernetesVersion();
            return info == null || info.getGitVersion() == null ? "unknown" : info.getGitVersion();
        } catch (KubernetesClientException e) {
            throw classify(e, "GET /version");
        } catch (RuntimeException e) {
            throw classify(new KubernetesClientException(e.getMessage(), e), "GET /version");
        }
    }

    /** One SelfSubjectAccessReview per permission, in order; fails on the first one denied. */
    void permitted(List<ApiPermission> required) {
        for (ApiPermission p : required) {
            SelfSubjectAccessReview review = new SelfSubjectAccessReviewBuilder()
                    .withNewMetadata().endMetadata()
                    .withNewSpec().withNewResourceAttributes()
                    .withVerb(p.verb()).withGroup(p.group())
                    // "pods/resize" is resource pods, subresource resize, as RBAC rules write it.
                    .withResource(p.resource().contains("/") ? p.resource().substring(0, p.resource().indexOf('/')) : p.resource())
                    .withSubresource(p.resource().contains("/") ? p.resource().substring(p.resource().indexOf('/') + 1) : null)
                    .withNamespace(p.namespace().isEmpty() ? null : p.namespace())
                    .endResourceAttributes().endSpec().build();
            SelfSubjectAccessReview result;
            try {
                result = client.authorization().v1().selfSubjectAccessReview().create(review);
            } catch (KubernetesClientException e) {
                if (e.getCode() == 403) {
                    throw new CliException(ExitCode.FORBIDDEN,
                            "missing permission: create selfsubjectaccessreviews.authorization.k8s.io"
                                    + " (needed to check the controller's permissions)", e);
                }
                throw classify(e, "POST selfsubjectaccessreviews");
            }
            boolean allowed = result != null && result.getStatus() != null && Boolean.TRUE.equals(result.getStatus().getAllowed());
            if (!allowed) {
                String why = result == null || result.getStatus() == null ? null : result.getStatus().getEvaluationError();
                throw new CliException(ExitCode.FORBIDDEN, "missing permission: " + p
                        + (why == null || why.isBlank() ? "" : " (" + why.strip() + ")"));
            }
        }
    }

    private CliException classify(KubernetesClientException e, String what) {
        return classify(e, what, url, credentialsSource);
    }

    /**
     * The one-line error for a failed request to the API server at {@code config}'s URL: 401 and TLS
     * problems are configuration errors, 403 a missing permission, everything else unreachable.
     *
     * @param what   the request, e.g. {@code LIST leases}
     * @param source where the configuration came from, for messages
     */
    public static CliException classify(KubernetesClientException e, String what, Config config, String source) {
        return classify(e, what, trimSlash(config.getMasterUrl()), source);
    }

    private static CliException classify(KubernetesClientException e, String what, String url, String credentialsSource) {
        int code = e.getCode();
        if (code == 401) {
            return new CliException(ExitCode.CONFIG, "the API server at " + url + " rejected the credentials from "
                    + credentialsSource + " (401 Unauthorized)", e);
        }
        if (code == 403) {
            return new CliException(ExitCode.FORBIDDEN, "the API server at " + url + " refused " + what
                    + " (403 Forbidden)", e);
        }
        if (code > 0) {
            return new CliException(ExitCode.UNREACHABLE, "the API server at " + url + " answered " + what
                    + " with HTTP " + code + statusMessage(e), e);
        }
        Throwable root = e;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SSLException || t instanceof GeneralSecurityException) {
                return new CliException(ExitCode.CONFIG, "TLS with the API server at " + url + " failed: "
                        + message(t) + " (check certificate-authority in " + credentialsSource + ")", e);
            }
            if (t instanceof UnknownHostException) {
                return new CliException(ExitCode.UNREACHABLE, "cannot reach the API server at " + url
                        + ": unknown host " + message(t), e);
            }
            if (t instanceof SocketTimeoutException || t instanceof TimeoutException
                    || t.getClass().getSimpleName().contains("Timeout")) {
                return new CliException(ExitCode.UNREACHABLE, "cannot reach the API server at " + url
                        + ": no answer within " + REQUEST_TIMEOUT.toSeconds() + "s", e);
            }
            if (t instanceof ConnectException) {
                // The JDK's HTTP client drops the socket's "Connection refused" (its ConnectException has no message,
                // and its cause is a bare ClosedChannelException); a ConnectException is a refused connection.
                return new CliException(ExitCode.UNREACHABLE, "cannot reach the API server at " + url + ": "
                        + (t.getMessage() == null || t.getMessage().isBlank() ? "Connection refused" : message(t)), e);
            }
            root = t; // the deepest cause says it best: "Connection refused", not "An error has occurred."
        }
        return new CliException(ExitCode.UNREACHABLE, "cannot reach the API server at " + url + ": " + message(root), e);
    }

    private static String statusMessage(KubernetesClientException e) {
        String m = e.getStatus() != null ? e.getStatus().getMessage() : null;
        return m == null || m.isBlank() ? "" : ": " + m.strip().lines().findFirst().orElse("");
    }

    private static String message(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        return m.strip().lines().findFirst().orElse(t.getClass().getSimpleName());
    }

    private static String trimSlash(String url) {
        return url != null && url.endsWith("/") ? url.substring(0, url.length() - 1) : String.valueOf(url);
    }
}
