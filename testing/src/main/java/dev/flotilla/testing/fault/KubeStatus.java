package dev.flotilla.testing.fault;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/** The JSON the API server answers with: {@code Status} objects and watch events. */
final class KubeStatus {

    private static final Map<Integer, String> REASONS = Map.ofEntries(
            Map.entry(400, "BadRequest"), Map.entry(401, "Unauthorized"), Map.entry(403, "Forbidden"),
            Map.entry(404, "NotFound"), Map.entry(405, "MethodNotAllowed"), Map.entry(406, "NotAcceptable"),
            Map.entry(409, "Conflict"), Map.entry(410, "Expired"), Map.entry(413, "RequestEntityTooLarge"),
            Map.entry(415, "UnsupportedMediaType"), Map.entry(422, "Invalid"), Map.entry(429, "TooManyRequests"),
            Map.entry(500, "InternalError"), Map.entry(502, "InternalError"), Map.entry(503, "ServiceUnavailable"),
            Map.entry(504, "Timeout"));

    private static final Map<Integer, String> PHRASES = Map.ofEntries(
            Map.entry(200, "OK"), Map.entry(201, "Created"), Map.entry(202, "Accepted"), Map.entry(204, "No Content"),
            Map.entry(400, "Bad Request"), Map.entry(401, "Unauthorized"), Map.entry(403, "Forbidden"),
            Map.entry(404, "Not Found"), Map.entry(405, "Method Not Allowed"), Map.entry(409, "Conflict"),
            Map.entry(410, "Gone"), Map.entry(413, "Request Entity Too Large"), Map.entry(415, "Unsupported Media Type"),
            Map.entry(422, "Unprocessable Entity"), Map.entry(429, "Too Many Requests"),
            Map.entry(500, "Internal Server Error"), Map.entry(502, "Bad Gateway"), Map.entry(503, "Service Unavailable"),
            Map.entry(504, "Gateway Timeout"));

    private KubeStatus() {
    }

    /** metav1.StatusReason for a code, "" when the API server has none. */
    static String reason(int code) {
        return REASONS.getOrDefault(code, "");
    }

    static String phrase(int code) {
        return PHRASES.getOrDefault(code, code < 300 ? "OK" : code < 500 ? "Client Error" : "Server Error");
    }

    /** A failure Status; {@code retryAfterSeconds} goes into details when not null. */
    static byte[] status(int code, String message, Integer retryAfterSeconds) {
        StringBuilder s = new StringBuilder(256);
        s.append("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":");
        quote(s, message);
        s.append(",\"reason\":");
        quote(s, reason(code));
        if (retryAfterSeconds != null) {
            s.append(",\"details\":{\"retryAfterSeconds\":").append(retryAfterSeconds).append('}');
        }
        s.append(",\"code\":").append(code).append('}');
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** One line of a watch stream: the ERROR event for an expired resourceVersion, newline-terminated. */
    static byte[] goneEvent(String resourceVersion) {
        String rv = resourceVersion == null || resourceVersion.isEmpty() ? "0" : resourceVersion;
        StringBuilder s = new StringBuilder(256);
        s.append("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},")
                .append("\"status\":\"Failure\",\"message\":");
        quote(s, "too old resource version: " + rv + " (injected by FaultProxy)");
        s.append(",\"reason\":\"Expired\",\"code\":410}}\n");
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Retry-After as whole seconds when it is one, else null. */
    static Integer retryAfterSeconds(String retryAfter) {
        if (retryAfter == null || !retryAfter.strip().matches("\\d{1,9}")) {
            return null;
        }
        return Integer.parseInt(retryAfter.strip());
    }

    private static void quote(StringBuilder s, String text) {
        s.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                case '\n' -> s.append("\\n");
                case '\r' -> s.append("\\r");
                case '\t' -> s.append("\\t");
                default -> {
                    if (c < 0x20) {
                        s.append(String.format("\\u%04x", (int) c));
                    } else {
                        s.append(c);
                    }
                }
            }
        }
        s.append('"');
    }
}
