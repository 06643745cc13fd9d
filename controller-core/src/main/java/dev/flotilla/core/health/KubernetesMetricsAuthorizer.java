package dev.flotilla.core.health;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.rbac.ApiPermission;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /metrics} behind the API server's authentication and authorization, as controller-runtime's
 * {@code filters.WithAuthenticationAndAuthorization}: the request's bearer token goes into a TokenReview, the user it
 * names into a SubjectAccessReview for {@code get} on the non-resource URL {@link #PATH}. Answers are cached for
 * {@code ttl} by a hash of the token (never the token itself), so a scrape every few seconds costs two reviews a
 * minute; a failed review is not cached. Give a reader access with the {@code metrics-reader} ClusterRole.
 *
 * <pre>{@code
 * MetricsAuthorizer authorizer = new KubernetesMetricsAuthorizer(client, Duration.ofMinutes(1));
 * }</pre>
 */
public final class KubernetesMetricsAuthorizer implements MetricsAuthorizer {

    /** The non-resource URL a reader needs {@code get} on. */
    public static final String PATH = "/metrics";
    /** The verb a reader needs on {@link #PATH}. */
    public static final String VERB = "get";
    /** What the replica itself needs to make the reviews (cluster-wide: reviews are not namespaced). */
    public static final List<ApiPermission> REQUIRED_PERMISSIONS = List.of(
            new ApiPermission("create", "authentication.k8s.io", "tokenreviews"),
            new ApiPermission("create", "authorization.k8s.io", "subjectaccessreviews"));
    /** How long an answer is reused. */
    public static final Duration DEFAULT_TTL = Duration.ofMinutes(1);

    private static final Logger log = LoggerFactory.getLogger(KubernetesMetricsAuthorizer.class);
    /** Bounds the cache: a flood of distinct tokens cannot grow it without limit. */
    private static final int MAX_ENTRIES = 256;
    private static final long WARN_EVERY_NANOS = Duration.ofMinutes(1).toNanos();

    private record Cached(Decision decision, long expiresAt) {
    }

    private final KubernetesClient client;
    private final long ttlNanos;
    private final LongSupplier nanoTime;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final AtomicLong lastWarning = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong unavailableSinceWarning = new AtomicLong();

    public KubernetesMetricsAuthorizer(KubernetesClient client, Duration ttl) {
        this(client, ttl, System::nanoTime);
    }

    KubernetesMetricsAuthorizer(KubernetesClient client, Duration ttl, LongSupplier nanoTime) {
        this.client = Objects.requireNonNull(client, "client");
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative()) {
            throw new IllegalArgumentException("ttl must not be negative, got " + ttl);
        }
        this.ttlNanos = ttl.toNanos();
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    }

    @Override
    public Decision authorize(Optional<String> bearerToken) {
        if (bearerToken.isEmpty() || bearerToken.get().isBlank()) {
            return new Decision.Unauthenticated("no bearer token");
        }
        String key = sha256(bearerToken.get());
        long now = nanoTime.getAsLong();
        Cached hit = cache.get(key);
        if (hit != null && hit.expiresAt() - now > 0) {
            return hit.decision();
        }
        Decision decision = review(bearerToken.get());
        if (!(decision instanceof Decision.Unavailable)) {
            if (cache.size() >= MAX_ENTRIES) {
                cache.values().removeIf(c -> c.expiresAt() - now <= 0);
                if (cache.size() >= MAX_ENTRIES) {
                    cache.clear();
                }
            }
            cache.put(key, new Cached(decision, now + ttlNanos));
        }
        return decision;
    }

    private Decision review(String token) {
        UserInfo user;
        try {
            TokenReview review = client.authentication().v1().tokenReviews().create(new TokenReviewBuilder().withNewSpec()
                    .withToken(token).endSpec().build());
            if (review.getStatus() == null || !Boolean.TRUE.equals(review.getStatus().getAuthenticated())
                    || review.getStatus().getUser() == null) {
                String error = review.getStatus() == null ? null : review.getStatus().getError();
                return new Decision.Unauthenticated(error == null || error.isBlank() ? "token not accepted" : error);
            }
            user = review.getStatus().getUser();
            SubjectAccessReview access = client.authorization().v1().subjectAccessReview().create(new SubjectAccessReviewBuilder()
                    .withNewSpec().withUser(user.getUsername()).withGroups(user.getGroups()).withUid(user.getUid())
                    .withExtra(user.getExtra()).withNewNonResourceAttributes().withPath(PATH).withVerb(VERB)
                    .endNonResourceAttributes().endSpec().build());
            if (access.getStatus() != null && Boolean.TRUE.equals(access.getStatus().getAllowed())) {
                return new Decision.Allowed(user.getUsername());
            }
            String reason = access.getStatus() == null ? null : access.getStatus().getReason();
            return new Decision.Denied(user.getUsername(), reason == null || reason.isBlank()
                    ? "no RBAC rule allows " + VERB + " on " + PATH : reason);
        } catch (RuntimeException e) {
            unavailable(e);
            return new Decision.Unavailable("cannot review the request's token: " + FailureText.of(e));
        }
    }

    /** One WARN line a minute at most, with how many reviews failed since the last one. */
    private void unavailable(RuntimeException e) {
        long count = unavailableSinceWarning.incrementAndGet();
        long now = nanoTime.getAsLong();
        long last = lastWarning.get();
        if ((last == Long.MIN_VALUE || now - last >= WARN_EVERY_NANOS) && lastWarning.compareAndSet(last, now)) {
            unavailableSinceWarning.set(0);
            log.atWarn().addKeyValue("failed", count).addKeyValue("error", FailureText.of(e))
                    .log("metrics requests refused: their token cannot be reviewed");
        }
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
