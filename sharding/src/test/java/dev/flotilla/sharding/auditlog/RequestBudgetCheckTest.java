package dev.flotilla.sharding.auditlog;

import static dev.flotilla.sharding.auditlog.AuditLines.at;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Request budgets per identity over sliding 10 s windows, on hand-written audit events. */
class RequestBudgetCheckTest {

    private static final String REPLICA = "system:serviceaccount:flotilla-system:flotilla";
    private static final String OTHER = "system:serviceaccount:flotilla-system:other";
    /** qps 2, burst 3: 2 x 1.1 x 10 + 3 = 25 requests per 10 s. Lease budget 10. */
    private static final RequestBudgetCheck CHECK = new RequestBudgetCheck(2, 3, 10,
            user -> user.startsWith("system:serviceaccount:flotilla-system:"));

    @TempDir
    Path dir;

    private final AuditLines log = new AuditLines();

    /** {@code n} ConfigMap gets by {@code user}, evenly from {@code millis} over {@code spanMillis}. */
    private void gets(String user, int n, long millis, long spanMillis) {
        for (int i = 0; i < n; i++) {
            log.request(millis + i * spanMillis / n, user, "get", "configmaps", "team-a", "cm", 200);
        }
    }

    private RequestBudgetCheck.Result check(long fromMillis, long toMillis, Optional<Long> recoveryMillis) throws Exception {
        return CHECK.check(log.read(dir), at(fromMillis), at(toMillis), recoveryMillis.map(AuditLines::at));
    }

    @Test
    void theBudgetIsQpsWithTenPercentSlackOverTenSecondsPlusTheBurst() {
        assertThat(CHECK.budget()).isEqualTo(25.0);
        // membership + coordinator renewed every 2 s with 10% slack (11), plus 3 writes of each of 32 shards (96)
        assertThat(RequestBudgetCheck.defaultLeaseBudget(32, Duration.ofSeconds(2))).isEqualTo(107);
        assertThat(RequestBudgetCheck.defaultLeaseBudget(4, Duration.ofSeconds(1))).isEqualTo(22 + 12);
    }

    @Test
    void withinBudgetHoldsAndOnlyJudgedIdentitiesNonLeaseNonSelfReviewRequestsCount() throws Exception {
        gets(REPLICA, 25, 0, 10_000);                      // exactly the budget in the first 10 s
        gets(REPLICA, 25, 10_000, 10_000);                  // and again in the next
        gets("admin", 500, 0, 10_000);                      // not judged
        for (int i = 0; i < 10; i++) {                      // the startup check's reviews: not counted
            log.request(100 + i, REPLICA, "create", "selfsubjectaccessreviews", "", "", 201);
        }
        for (int i = 0; i < 10; i++) {                      // Leases: their own budget, exactly met
            log.request(200 + i * 100, REPLICA, "update", "leases", "flotilla-system", "flotilla-member-a", 200);
        }
        RequestBudgetCheck.Result r = check(0, 30_000, Optional.empty());
        assertThat(r.holds()).as("%s", r.failures()).isTrue();
        assertThat(r.identities()).singleElement().satisfies(i -> {
            assertThat(i.identity()).isEqualTo(REPLICA);
            assertThat(i.peak().requests()).isEqualTo(25);
            assertThat(i.leasePeak().requests()).isEqualTo(10);
            assertThat(i.afterRecoveryPeak()).isEmpty();
        });
    }

    @Test
    void oneRequestOverTheBudgetIsAViolationNamingIdentityPeakAndWhen() throws Exception {
        gets(REPLICA, 25, 0, 10_000);
        log.request(9_999, REPLICA, "list", "configmaps", "", "", 200);
        gets(OTHER, 5, 0, 10_000);
        RequestBudgetCheck.Result r = check(0, 30_000, Optional.empty());
        assertThat(r.holds()).isFalse();
        assertThat(r.failures()).singleElement().asString()
                .isEqualTo(REPLICA + ": 26 requests in the 10 s from " + at(0) + " (budget 25; 1 time over it)");
        assertThat(r.identities()).extracting(RequestBudgetCheck.IdentityResult::identity).containsExactly(REPLICA, OTHER);
    }

    /** 20 requests either side of 10 s: aligned 10 s buckets would see 20 and 20, the sliding window sees 40. */
    @Test
    void aBurstAcrossABucketBoundaryIsFound() throws Exception {
        gets(REPLICA, 20, 9_500, 500);
        gets(REPLICA, 20, 10_000, 500);
        RequestBudgetCheck.Result r = check(0, 30_000, Optional.empty());
        assertThat(r.identities().getFirst().peak()).isEqualTo(new RequestBudgetCheck.Window(at(9_500), 40));
        assertThat(r.identities().getFirst().violations()).hasSize(1);
    }

    @Test
    void leaseRequestsAreJudgedAgainstTheirOwnBudget() throws Exception {
        for (int i = 0; i < 11; i++) {
            log.request(i * 500, REPLICA, "update", "leases", "flotilla-system", "flotilla-shard-" + i, 200);
        }
        RequestBudgetCheck.Result r = check(0, 30_000, Optional.empty());
        assertThat(r.identities().getFirst().violations()).isEmpty();
        assertThat(r.identities().getFirst().leaseViolations()).singleElement()
                .isEqualTo(new RequestBudgetCheck.Window(at(0), 11));
        assertThat(r.failures()).singleElement().asString().contains("11 Lease requests").contains("budget 10");
    }

    /** A storm in the 30 s after recovery is reported apart, even beyond the judged span. */
    @Test
    void aRetryStormAfterRecoveryIsReportedAsSuch() throws Exception {
        gets(REPLICA, 10, 0, 60_000);                       // quiet while the server was down
        gets(REPLICA, 60, 75_000, 5_000);                   // everything queued at once, 15 s after it came back
        RequestBudgetCheck.Result calm = check(0, 60_000, Optional.of(0L));
        assertThat(calm.identities().getFirst().afterRecoveryPeak()).contains(new RequestBudgetCheck.Window(at(0), 2));

        RequestBudgetCheck.Result r = check(0, 60_000, Optional.of(60_000L));
        RequestBudgetCheck.IdentityResult i = r.identities().getFirst();
        assertThat(i.violations()).as("the span before the recovery was calm").isEmpty();
        assertThat(i.afterRecoveryPeak()).contains(new RequestBudgetCheck.Window(at(75_000), 60));
        assertThat(r.failures()).singleElement().asString().contains("60 requests in the 10 s from " + at(75_000))
                .contains("a retry storm");
    }

    @Test
    void identitiesThatSentNothingInTheSpanAreLeftOut() throws Exception {
        gets(REPLICA, 5, 0, 1_000);
        gets(OTHER, 5, 50_000, 1_000);
        assertThat(check(40_000, 60_000, Optional.empty()).identities())
                .extracting(RequestBudgetCheck.IdentityResult::identity).isEqualTo(List.of(OTHER));
    }
}
