package dev.flotilla.sharding.auditlog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Hand-written audit events in the server's own format (ResponseComplete stage), at milliseconds after {@link #T0}. */
final class AuditLines {

    static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");

    private final List<String> lines = new ArrayList<>();
    private int id;

    static Instant at(long millis) {
        return T0.plusMillis(millis);
    }

    /** A request sent and completed at {@code millis} (one instant, so windows and tenures read alike). */
    AuditLines request(long millis, String user, String verb, String resource, String namespace, String name, int code) {
        return event(millis, user, verb, resource, namespace, name, code, null);
    }

    /** An accepted update of a Lease whose answer names {@code holder}, with these annotations and duration. */
    AuditLines lease(long millis, String user, String namespace, String name, String holder, Map<String, String> annotations,
            int durationSeconds) {
        String a = annotations.entrySet().stream().map(e -> "\"" + e.getKey() + "\":\"" + e.getValue() + "\"")
                .collect(Collectors.joining(","));
        return event(millis, user, "update", "leases", namespace, name, 200, "{\"kind\":\"Lease\",\"metadata\":{\"name\":\""
                + name + "\",\"annotations\":{" + a + "}},\"spec\":{\"holderIdentity\":\"" + holder
                + "\",\"leaseDurationSeconds\":" + durationSeconds + "}}");
    }

    AuditLines event(long millis, String user, String verb, String resource, String namespace, String name, int code,
            String responseObject) {
        lines.add(("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"RequestResponse\",\"auditID\":\"a%d\","
                + "\"stage\":\"ResponseComplete\",\"requestURI\":\"/x\",\"verb\":\"%s\",\"user\":{\"username\":\"%s\"},"
                + "\"objectRef\":{\"resource\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s\"},\"responseStatus\":{\"code\":%d},"
                + "%s\"requestReceivedTimestamp\":\"%s\",\"stageTimestamp\":\"%s\"}")
                .formatted(++id, verb, user, resource, namespace, name, code,
                        responseObject == null ? "" : "\"responseObject\":" + responseObject + ",", at(millis), at(millis)));
        return this;
    }

    List<AuditedRequest> read(Path dir) throws IOException {
        Path log = dir.resolve("audit.log");
        Files.write(log, lines);
        return AuditLog.read(log);
    }
}
