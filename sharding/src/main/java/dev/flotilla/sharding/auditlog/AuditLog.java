package dev.flotilla.sharding.auditlog;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a kube-apiserver audit log (the JSON-lines file of {@code --audit-log-path}, events of
 * {@code audit.k8s.io/v1}) into {@link AuditedRequest}s: one per request that reached its
 * {@code ResponseComplete} stage, in the file's order. Other stages (RequestReceived,
 * ResponseStarted of a watch, Panic) are skipped. Lease holders are read from the response
 * object, so the policy must log Leases at level {@code RequestResponse}.
 *
 * <pre>{@code
 * List<AuditedRequest> requests = AuditLog.read(Path.of("/var/log/kube-apiserver/audit.log"));
 * long writes = requests.stream().filter(AuditedRequest::isAcceptedWrite).count();
 * }</pre>
 */
public final class AuditLog {

    private static final KubernetesSerialization JSON = new KubernetesSerialization();

    private AuditLog() {
    }

    /**
     * @throws MalformedAuditLogException naming the file and line of a line that is not an audit event
     * @throws UncheckedIOException       if the file cannot be read
     */
    public static List<AuditedRequest> read(Path file) {
        List<AuditedRequest> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                parse(line, file + ":" + number).ifPresent(out::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the audit log " + file, e);
        }
        return out;
    }

    /** One line of the log: a request at ResponseComplete, or empty for another stage. */
    static Optional<AuditedRequest> parse(String line, String where) {
        Map<?, ?> e;
        try {
            e = JSON.unmarshal(line, Map.class);
        } catch (RuntimeException ex) {
            throw new MalformedAuditLogException(where + ": not JSON: " + ex.getMessage());
        }
        if (e == null || !"Event".equals(text(e, "kind"))) {
            throw new MalformedAuditLogException(where + ": not an audit Event (kind " + (e == null ? "none" : text(e, "kind")) + ")");
        }
        if (!"ResponseComplete".equals(text(e, "stage"))) {
            return Optional.empty();
        }
        String user = text(e, "impersonatedUser", "username");
        if (user.isEmpty()) {
            user = text(e, "user", "username");
        }
        Optional<String> holder = Optional.empty();
        Map<String, String> annotations = Map.of();
        Optional<java.time.Duration> duration = Optional.empty();
        if ("leases".equals(text(e, "objectRef", "resource")) && "Lease".equals(text(e, "responseObject", "kind"))) {
            holder = Optional.of(text(e, "responseObject", "spec", "holderIdentity"));
            if (field(e, "responseObject", "metadata", "annotations") instanceof Map<?, ?> m) {
                Map<String, String> a = new java.util.HashMap<>();
                m.forEach((k, v) -> {
                    if (k instanceof String key && v instanceof String value) {
                        a.put(key, value);
                    }
                });
                annotations = a;
            }
            if (field(e, "responseObject", "spec", "leaseDurationSeconds") instanceof Number seconds) {
                duration = Optional.of(java.time.Duration.ofSeconds(seconds.longValue()));
            }
        }
        String name = text(e, "objectRef", "name");
        if (name.isEmpty()) {
            // A create's objectRef may carry no name: the object the server answered with has it.
            name = text(e, "responseObject", "metadata", "name");
        }
        if (name.isEmpty()) {
            name = text(e, "requestObject", "metadata", "name");
        }
        Object code = field(e, "responseStatus", "code");
        return Optional.of(new AuditedRequest(text(e, "auditID"), user, text(e, "verb"), text(e, "objectRef", "resource"),
                text(e, "objectRef", "subresource"), text(e, "objectRef", "namespace"), name,
                instant(e, "requestReceivedTimestamp", where), instant(e, "stageTimestamp", where),
                code instanceof Number n ? n.intValue() : 0, text(e, "requestURI").contains("dryRun=All"), holder,
                annotations, duration));
    }

    /** The value at {@code path}, or null if any step is missing. */
    private static Object field(Map<?, ?> e, String... path) {
        Object at = e;
        for (String step : path) {
            if (!(at instanceof Map<?, ?> m)) {
                return null;
            }
            at = m.get(step);
        }
        return at;
    }

    /** The text at {@code path}, "" if missing. */
    private static String text(Map<?, ?> e, String... path) {
        Object v = field(e, path);
        return v == null ? "" : v.toString();
    }

    private static Instant instant(Map<?, ?> e, String field, String where) {
        String text = text(e, field);
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException ex) {
            throw new MalformedAuditLogException(where + ": " + field + " '" + text + "' is not an RFC 3339 time");
        }
    }

    /** A line of the file that is not an audit event; the message names file, line and what is wrong. */
    public static final class MalformedAuditLogException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public MalformedAuditLogException(String message) {
            super(message);
        }
    }
}
