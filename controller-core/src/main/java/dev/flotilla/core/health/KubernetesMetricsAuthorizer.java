package dev.flotilla.core.health;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.ratelimit.TokenBucket;
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
 * minute; a token the server did not accept is remembered 10 s apart from the others, a failed review not at all.
 * Reviews of unknown tokens are limited to {@link #REVIEWS_PER_SECOND} (503 beyond), so nobody can spend the
 * controllers' API budget by sending fresh tokens. Give a reader access with the {@code flotilla-metrics-reader}
 * ClusterRole.
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

    /**
     * Reviews made per second at most, and in a burst: unknown tokens cost API calls, and a caller who sends fresh
     * ones must not spend the controllers' request budget (a scraper's token is cached, so it needs one a minute).
     */
    public static final double REVIEWS_PER_SECOND = 1;
    public static final int REVIEW_BURST = 5;

    private static final Logger log = LoggerFactory.getLogger(KubernetesMetricsAuthorizer.class);
    /** Bounds the caches: a flood of distinct tokens cannot grow them without limit. */
    private static final int MAX_ENTRIES = 256;
    /** Tokens the API server did not accept are remembered apart, briefly, so they never push out a reader's. */
    private static final int MAX_REJECTED = 64;
    private static final Duration REJECTED_TTL = Duration.ofSeconds(10);
    private static final long WARN_EVERY_NANOS = Duration.ofMinutes(1).toNanos();

    private record Cached(Decision decision, long expiresAt) {
    }

    private final KubernetesClient client;
    private final long ttlNanos;
    private final LongSupplier nanoTime;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final Map<String, Cached> rejected = new ConcurrentHashMap<>();
    private final TokenBucket reviews;
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
        this.reviews = new TokenBucket(REVIEWS_PER_SECOND, REVIEW_BURST, nanoTime);
    }

    @Override
    public Decision authorize(Optional<String> bearerToken) {
        if (bearerToken.isEmpty() || bearerToken.get().isBlank()) {
            return new Decision.Unauthenticated("no bearer token");
        }
        String key = sha256(bearerToken.get());
        long now = nanoTime.getAsLong();
        for (Map<String, Cached> c : List.of(cache, rejected)) {
            Cached hit = c.get(key);
            if (hit != null && hit.expiresAt() - now > 0) {
                return hit.decision();
            }
        }
        if (!reviews.tryAcquire()) {
            return new Decision.Unavailable("more unknown tokens than " + REVIEWS_PER_SECOND + " reviews a second");
        }
        Decision decision = review(bearerToken.get());
        switch (decision) {
            case Decision.Unavailable u -> {
                // not remembered: the next request tries again
            }
            case Decision.Unauthenticated u -> remember(rejected, MAX_REJECTED, key, decision, now + REJECTED_TTL.toNanos(), now);
            default -> remember(cache, MAX_ENTRIES, key, decision, now + ttlNanos, now);
        }
        return decision;
    }

    /** Puts an answer; a full map drops its expired answers first, then any one. */
    private static void remember(Map<String, Cached> map, int max, String key, Decision decision, long expiresAt, long now) {
        if (map.size() >= max) {
            map.values().removeIf(c -> c.expiresAt() - now <= 0);
            var it = map.keySet().iterator();
            while (map.size() >= max && it.hasNext()) {
                it.next();
                it.remove();
            }
        }
        map.put(key, new Cached(decision, expiresAt));
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
