package dev.flotilla.sharding.auditlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.sharding.LeaseNaming;
import dev.flotilla.sharding.ShardSpace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit-log reader and the single-writer check on hand-written audit events, in the server's own format. */
class SingleWriterCheckTest {

    private static final LeaseNaming NAMING = new LeaseNaming("g");
    private static final ShardSpace SPACE = new ShardSpace(4);
    private static final String LEASES = "ops";
    private static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");

    private final List<String> lines = new ArrayList<>();
    private int id;

    private static String at(long millis) {
        return T0.plusMillis(millis).toString();
    }

    /** A ResponseComplete event. */
    private void event(long millis, String user, String verb, String resource, String namespace, String name, int code,
            String responseObject) {
        lines.add(("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"RequestResponse\",\"auditID\":\"a%d\","
                + "\"stage\":\"ResponseComplete\",\"requestURI\":\"/x\",\"verb\":\"%s\",\"user\":{\"username\":\"%s\"},"
                + "\"objectRef\":{\"resource\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s\"},\"responseStatus\":{\"code\":%d},"
                + "%s\"requestReceivedTimestamp\":\"%s\",\"stageTimestamp\":\"%s\"}")
                .formatted(++id, verb, user, resource, namespace, name, code,
                        responseObject == null ? "" : "\"responseObject\":" + responseObject + ",", at(millis - 3), at(millis)));
    }

    private void leaseWrite(long millis, String user, String lease, String holder) {
        event(millis, user, "update", "leases", LEASES, lease, 200,
                "{\"kind\":\"Lease\",\"metadata\":{\"name\":\"" + lease + "\"},\"spec\":{\"holderIdentity\":\"" + holder + "\"}}");
    }

    private void write(long millis, String user, String namespace) {
        event(millis, user, "update", "configmaps", namespace, "cm", 200, null);
    }

    /** A namespace in shard {@code shard}. */
    private static String nsIn(int shard) {
        for (int i = 0; ; i++) {
            if (SPACE.shardOf("ns-" + i) == shard) {
                return "ns-" + i;
            }
        }
    }

    private List<SingleWriterCheck.Violation> check(Path dir) throws Exception {
        Path log = dir.resolve("audit.log");
        Files.write(log, lines);
        return new SingleWriterCheck(SPACE, NAMING, LEASES).violations(AuditLog.read(log));
    }

    @Test
    void aWriteOfTheOldHolderAcceptedAfterTheNewOneAcquiredIsAViolation(@TempDir Path dir) throws Exception {
        String ns = nsIn(1);
        leaseWrite(0, "r0", NAMING.shardLease(1), "r0_a");
        write(100, "r0", ns);                                   // r0's own shard: fine
        leaseWrite(200, "r0", NAMING.shardLease(1), "r0_a");     // a renewal is no acquisition
        leaseWrite(7_000, "r1", NAMING.shardLease(1), "r1_b");   // r0's lease expired, r1 takes it
        write(7_022, "r0", ns);                                 // 22 ms late: two writers
        write(7_100, "r1", ns);                                 // the new holder: fine
        write(7_100, "driver", ns);                             // the workload driver holds nothing: not judged

        List<SingleWriterCheck.Violation> v = check(dir);
        assertThat(v).singleElement().satisfies(x -> {
            assertThat(x.write().user()).isEqualTo("r0");
            assertThat(x.shard()).isEqualTo(1);
            assertThat(x.holder()).isEqualTo("r1");
            assertThat(x.toString()).contains("accepted 22 ms after r1 acquired shard 1");
        });
    }

    @Test
    void writesBeforeAHandoverAfterTakingItBackAndToOtherShardsAreFine(@TempDir Path dir) throws Exception {
        leaseWrite(0, "r0", NAMING.shardLease(1), "r0_a");
        leaseWrite(0, "r1", NAMING.shardLease(2), "r1_b");
        write(50, "r0", nsIn(1));
        write(60, "r1", nsIn(2));
        leaseWrite(100, "r0", NAMING.shardLease(1), "");          // released
        write(150, "r0", nsIn(1));                               // nobody else holds it: no second writer
        leaseWrite(200, "r1", NAMING.shardLease(1), "r1_b");
        leaseWrite(300, "r1", NAMING.shardLease(1), "");
        leaseWrite(400, "r0", NAMING.shardLease(1), "r0_c");      // back to r0 (a new incarnation)
        write(450, "r0", nsIn(1));
        assertThat(check(dir)).isEmpty();
    }

    @Test
    void theCoordinatorsAnnotationWriteIsNoAcquisitionAndClusterScopedWritesFollowTheCoordinatorLease(@TempDir Path dir)
            throws Exception {
        leaseWrite(0, "r0", NAMING.shardLease(1), "r0_a");
        leaseWrite(0, "r1", NAMING.coordinatorLease(), "r1_b");
        leaseWrite(10, "r1", NAMING.shardLease(1), "r0_a");       // r1 sets the desired owner; r0 still holds it
        write(20, "r0", nsIn(1));
        event(30, "r1", "create", "clusterroles", "", "x", 201, null);
        event(40, "r0", "create", "selfsubjectaccessreviews", "", "", 201, null); // a question, not a write
        event(50, "r0", "patch", "clusterroles", "", "x", 409, null);              // refused: nothing stored
        assertThat(check(dir)).isEmpty();

        event(60, "r0", "patch", "clusterroles", "", "x", 200, null);
        assertThat(check(dir)).singleElement().satisfies(x -> {
            assertThat(x.shard()).isEqualTo(-1);
            assertThat(x.toString()).contains("r1 acquired the coordinator lease");
        });
    }

    @Test
    void otherStagesAreSkippedAndAMalformedLineIsNamed(@TempDir Path dir) throws Exception {
        lines.add("{\"kind\":\"Event\",\"stage\":\"RequestReceived\",\"verb\":\"get\"}");
        leaseWrite(0, "r0", NAMING.shardLease(1), "r0_a");
        Path log = dir.resolve("audit.log");
        Files.write(log, lines);
        assertThat(AuditLog.read(log)).singleElement().satisfies(r -> {
            assertThat(r.leaseHolder()).contains("r0_a");
            assertThat(r.completed()).isEqualTo(T0);
            assertThat(r.received()).isEqualTo(T0.minusMillis(3));
        });
        lines.add("this is not json");
        Files.write(log, lines);
        assertThatThrownBy(() -> AuditLog.read(log)).isInstanceOf(AuditLog.MalformedAuditLogException.class)
                .hasMessageStartingWith(log + ":3: not JSON");
    }

    @Test
    void aLogWithoutTheLeasesInItsAnswersIsRefusedRatherThanPassed(@TempDir Path dir) throws Exception {
        // Logged at Metadata only: nobody would ever seem to hold anything, and every write would pass.
        event(0, "r0", "update", "leases", LEASES, NAMING.shardLease(1), 200, null);
        event(7_000, "r1", "update", "leases", LEASES, NAMING.shardLease(1), 200, null);
        write(7_022, "r0", nsIn(1));
        assertThatThrownBy(() -> check(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2 of 2 accepted writes of the group's Leases").hasMessageContaining("RequestResponse");
    }
}
