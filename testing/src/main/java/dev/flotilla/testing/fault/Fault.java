package dev.flotilla.testing.fault;

import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link FaultRule} does. Request faults act on each new request the rule matches, in the
 * order the rules were added: any number of {@link Delay}s, then the first terminal fault
 * ({@link Respond}, {@link Reset}, {@link BlackHole}, {@link WatchGone}) ends the request without
 * contacting the API server; with none, the request is forwarded. {@link RefuseConnections} acts
 * on new TCP connections and {@link CutWatchesEvery} on watch streams that are already open.
 */
public sealed interface Fault {

    /** Waits this long, then goes on with the next matching rule or forwards the request. */
    record Delay(Duration delay) implements Fault {
        public Delay {
            Objects.requireNonNull(delay, "delay");
            if (delay.isNegative()) {
                throw new IllegalArgumentException("negative delay " + delay);
            }
        }

        @Override
        public String describe() {
            return "delay " + delay.toMillis() + "ms";
        }
    }

    /**
     * Answers with this status and a Kubernetes {@code Status} JSON body, without contacting the
     * server. {@code retryAfter} is written verbatim as the {@code Retry-After} header when not null
     * (any text, so that malformed values can be tested); when it is a whole number of seconds it is
     * also put in the body's {@code details.retryAfterSeconds}, as the API server does.
     */
    record Respond(int status, String retryAfter, String message) implements Fault {
        public Respond {
            if (status < 200 || status > 599) {
                throw new IllegalArgumentException("status must be a final HTTP status (200-599): " + status);
            }
            if (retryAfter != null && (retryAfter.indexOf('\r') >= 0 || retryAfter.indexOf('\n') >= 0)) {
                throw new IllegalArgumentException("a header value cannot hold a line break");
            }
            Objects.requireNonNull(message, "message");
        }

        public Respond withRetryAfter(String value) {
            return new Respond(status, value, message);
        }

        public Respond withMessage(String text) {
            return new Respond(status, retryAfter, text);
        }

        @Override
        public String describe() {
            return "status " + status + (retryAfter == null ? "" : " retry-after=" + retryAfter);
        }
    }

    /** Closes the client's connection abruptly (SO_LINGER 0, so a TCP RST) without a response. */
    record Reset() implements Fault {
        @Override
        public String describe() {
            return "reset";
        }
    }

    /**
     * Reads the request and never answers: the connection is held open until the rule is removed
     * or expires, the client gives up, or the proxy closes; then it is closed without a response.
     */
    record BlackHole() implements Fault {
        @Override
        public String describe() {
            return "black-hole";
        }
    }

    /**
     * Answers a new watch request (and only watch requests) with a stream holding one watch event
     * {@code {"type":"ERROR","object":{"kind":"Status",...,"reason":"Expired","code":410}}} and
     * ends it, as the API server does when a watch's resourceVersion is too old. Works for HTTP
     * (chunked) and WebSocket watches alike.
     */
    record WatchGone() implements Fault {
        @Override
        public String describe() {
            return "watch-gone";
        }
    }

    /**
     * Accepts new TCP connections and resets them at once, before any byte is read, so the client's
     * first request on them fails with a connection error. Matched by identity only: a connection
     * has no method or path yet. Connections that are already open are not touched (combine with
     * {@link FaultProxy#cutConnections(String)} for a full outage).
     */
    record RefuseConnections() implements Fault {
        @Override
        public String describe() {
            return "refuse-connection";
        }
    }

    /**
     * Every {@code period}, ends each open watch stream the rule matches: cut (the connection is
     * closed mid-stream) or, with {@code injectGone}, a 410 {@code ERROR} event is written into the
     * stream first. Each tick counts as one application against the rule's {@code times}.
     */
    record CutWatchesEvery(Duration period, boolean injectGone) implements Fault {
        public CutWatchesEvery {
            Objects.requireNonNull(period, "period");
            if (period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("period must be positive: " + period);
            }
        }

        @Override
        public String describe() {
            return (injectGone ? "watch-gone" : "watch-cut") + " every " + period.toMillis() + "ms";
        }
    }

    /** One short line for logs and the request log's {@code faults}. */
    String describe();

    static Delay delay(Duration delay) {
        return new Delay(delay);
    }

    /** A status answer with the API server's reason for {@code status} and no Retry-After. */
    static Respond status(int status) {
        return new Respond(status, null, "injected by FaultProxy");
    }

    static Respond internalError() {
        return status(500);
    }

    /** 503 with this Retry-After header (null for none). */
    static Respond serviceUnavailable(String retryAfter) {
        return status(503).withRetryAfter(retryAfter);
    }

    /** 429 with this Retry-After header (null for none). */
    static Respond tooManyRequests(String retryAfter) {
        return status(429).withRetryAfter(retryAfter);
    }

    static Reset reset() {
        return new Reset();
    }

    static BlackHole blackHole() {
        return new BlackHole();
    }

    static WatchGone watchGone() {
        return new WatchGone();
    }

    static RefuseConnections refuseConnections() {
        return new RefuseConnections();
    }

    static CutWatchesEvery cutWatchesEvery(Duration period) {
        return new CutWatchesEvery(period, false);
    }

    static CutWatchesEvery goneWatchesEvery(Duration period) {
        return new CutWatchesEvery(period, true);
    }
}
