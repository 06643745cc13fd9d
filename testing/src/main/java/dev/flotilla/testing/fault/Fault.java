package dev.flotilla.testing.fault;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a {@link FaultRule} does. Request faults act on each new request the rule matches, in the
 * order the rules were added: any number of {@link Delay}s, then the first terminal fault
 * ({@link Respond}, {@link Reset}, {@link BlackHole}, {@link WatchGone}) ends the request without
 * contacting the API server; with none, the request is forwarded. {@link RefuseConnections} acts
 * on new TCP connections and {@link CutWatchesEvery} on watch streams that are already open.
 *
 * <p>Network faults for a Chaos Mesh {@code NetworkChaos} mapping ({@link JitteredDelay},
 * {@link Loss}, {@link Duplicate}, {@link Bandwidth}) approximate at the level of HTTP messages and
 * TCP byte streams what {@code tc netem}/{@code tbf} do to packets, since the proxy never sees a
 * packet: each record says exactly how. {@link ReplaceResponse} is an {@code HTTPChaos} replace
 * (its abort is {@link Reset}, its delay {@link Delay}). Random draws come from the rule's seeded
 * generator ({@link FaultRule#withSeed(long)}), so a run that sends the same requests in the same
 * order gets the same faults.
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

    /**
     * Chaos Mesh {@code NetworkChaos} {@code delay} with {@code latency}, {@code jitter} and
     * {@code correlation}: each matched request waits {@code latency - jitter + 2 * jitter * u}
     * (floored at zero) before it goes on, where {@code u} in [0, 1) is netem's correlated uniform
     * draw: {@code u = c * previous + (1 - c) * fresh}, {@code c = correlationPercent / 100}, one
     * stream per rule. This is netem's delay without a distribution table (uniform jitter, netem's
     * default). netem delays each packet the target sends; here the unit is the request, delayed
     * once on its way to the server, as one packet of a small request would be (Chaos Mesh
     * {@code direction: to}). Responses and watch events that flow back are not delayed. The drawn
     * delay is recorded in the request log ({@code "delay 173ms (of delay 200ms jitter 100ms)"}).
     */
    record JitteredDelay(Duration latency, Duration jitter, int correlationPercent) implements Fault {
        public JitteredDelay {
            Objects.requireNonNull(latency, "latency");
            Objects.requireNonNull(jitter, "jitter");
            if (latency.isNegative() || jitter.isNegative()) {
                throw new IllegalArgumentException("latency and jitter must not be negative: " + latency + ", " + jitter);
            }
            checkPercent("correlationPercent", correlationPercent);
        }

        /** The delay for a draw {@code u} in [0, 1). */
        public Duration sample(double u) {
            long nanos = latency.toNanos() - jitter.toNanos() + Math.round(2.0 * jitter.toNanos() * u);
            return Duration.ofNanos(Math.max(0, nanos));
        }

        @Override
        public String describe() {
            return "delay " + latency.toMillis() + "ms jitter " + jitter.toMillis() + "ms"
                    + (correlationPercent == 0 ? "" : " corr=" + correlationPercent + "%");
        }
    }

    /**
     * Chaos Mesh {@code NetworkChaos} {@code loss} ({@code loss}, {@code correlation} in percent),
     * as TCP shows it to an HTTP client: never as an error, as delay. The proxy cannot drop a packet
     * of a TCP stream, and TCP would retransmit it anyway. A short message (a request, one watch
     * event) is followed by nothing that could produce duplicate ACKs, so a lost segment of it is
     * recovered only by the retransmission timer; so each message is one trial. Each transmission is
     * lost with probability {@code percent} (netem's correlated draw, as {@link JitteredDelay}); the
     * k-th retransmission waits {@code RTO_k = 200 ms * 2^k} (Linux's minimum RTO, exponential
     * backoff, capped at 120 s) and is itself lost with the same probability; so a message suffers k
     * retransmissions with probability {@code p^k (1 - p)} and arrives {@code RTO_0 + ... + RTO_(k-1)}
     * late. After {@value #MAX_RETRANSMISSIONS} lost retransmissions (Linux's {@code tcp_retries2},
     * about 15 minutes) TCP gives up: the client's connection is reset. While the rule holds a
     * message, removing it lets the next retransmission through.
     *
     * <p>It applies to each matched request before it is forwarded, and to each event of a matched
     * watch stream (HTTP chunk or WebSocket message, at event boundaries) before it is written to the
     * client; a held event holds every later one (TCP delivers in order). The bytes of a large body
     * are not delayed: there, fast retransmit repairs a loss within a round trip, which on loopback is
     * nothing. The request log records {@code "loss: 2 retransmissions +600ms"} per delayed request.
     */
    record Loss(int percent, int correlationPercent) implements Fault {
        /** Linux's {@code tcp_retries2}: after this many lost retransmissions the connection is reset. */
        public static final int MAX_RETRANSMISSIONS = 15;
        /** Linux's minimum (and initial, on a fast path) retransmission timeout. */
        public static final Duration FIRST_RTO = Duration.ofMillis(200);
        /** Linux's {@code TCP_RTO_MAX}. */
        public static final Duration MAX_RTO = Duration.ofSeconds(120);

        public Loss {
            checkPercent("percent", percent);
            checkPercent("correlationPercent", correlationPercent);
        }

        /** Whether a transmission is lost, for a draw {@code u} in [0, 1). */
        public boolean lost(double u) {
            return u * 100 < percent;
        }

        /** How long the {@code k}-th retransmission (from 0) waits: 200 ms doubled k times, at most 120 s. */
        public static Duration retransmissionTimeout(int k) {
            if (k < 0) {
                throw new IllegalArgumentException("k must be >= 0: " + k);
            }
            if (k >= 20) {
                return MAX_RTO;
            }
            Duration rto = FIRST_RTO.multipliedBy(1L << k);
            return rto.compareTo(MAX_RTO) > 0 ? MAX_RTO : rto;
        }

        /** The delay a message that suffers {@code k} retransmissions arrives late by. */
        public static Duration delayAfter(int k) {
            Duration total = Duration.ZERO;
            for (int i = 0; i < k; i++) {
                total = total.plus(retransmissionTimeout(i));
            }
            return total;
        }

        @Override
        public String describe() {
            return "loss " + percent + "%" + (correlationPercent == 0 ? "" : " corr=" + correlationPercent + "%");
        }
    }

    /**
     * Chaos Mesh {@code NetworkChaos} {@code duplicate}. A duplicated TCP segment is dropped by the
     * receiver's TCP, so duplication never yields a second HTTP request, and a write is never
     * applied twice; its cost is extra work and bytes. This model spends that cost where a test can
     * see it: with probability {@code percent}, a matched request with a safe method ({@code GET} or
     * {@code HEAD}, no body, not a watch) is sent a second time to the API server on a connection of
     * its own, concurrently, and that second answer is read and discarded. The client gets the one
     * answer it would have had, no later. Writes and watches are never duplicated (the rule does not
     * match them). The copy appears in the request log as a forwarded record of its own with the
     * fault {@code "duplicate of #<sequence>"}, so {@link RequestLog#forwarded(String)} counts what
     * the server saw. This over-approximates: real duplicates cost the server's kernel, not its
     * handlers.
     */
    record Duplicate(int percent) implements Fault {
        public Duplicate {
            checkPercent("percent", percent);
        }

        @Override
        public String describe() {
            return "duplicate " + percent + "%";
        }
    }

    /**
     * Chaos Mesh {@code NetworkChaos} {@code bandwidth} ({@code rate} in bytes per second,
     * {@code buffer} as the bucket size): a token bucket ({@code tc tbf}) of {@code bufferBytes}
     * tokens filled at {@code bytesPerSecond}, one per identity and direction, shared by all of that
     * identity's matched requests, like a qdisc on the pod's interface. Every byte of a matched
     * exchange takes a token as it goes onto the wire: request head and body to the server,
     * response head and body (a watch stream for as long as it is open, WebSocket frames both ways)
     * to the client; a write waits for its tokens, so TCP's flow control pushes back on the sender
     * instead of tbf's queue limit dropping packets. Both directions are limited (Chaos Mesh
     * {@code direction: both}). A watch that was open before the rule was added is throttled from
     * its next write on; removing the rule lifts the limit at once. Bytes go out in slices of at
     * most {@code min(bufferBytes, 16 KiB)}. Each exchange it throttles counts once against the
     * rule's {@code times}, and a rule probability picks whole exchanges.
     */
    record Bandwidth(long bytesPerSecond, long bufferBytes) implements Fault {
        public Bandwidth {
            if (bytesPerSecond <= 0) {
                throw new IllegalArgumentException("bytesPerSecond must be positive: " + bytesPerSecond);
            }
            if (bufferBytes <= 0) {
                throw new IllegalArgumentException("bufferBytes must be positive: " + bufferBytes);
            }
        }

        @Override
        public String describe() {
            return "bandwidth " + bytesPerSecond + "B/s buffer=" + bufferBytes + "B";
        }
    }

    /**
     * Chaos Mesh {@code HTTPChaos} {@code replace} of the response ({@code target: Response},
     * {@code code} and {@code body}): the request is forwarded and answered by the server, then the
     * proxy replaces the status code and/or the body of the answer. The server's headers are kept
     * (Content-Type included) except the framing ones: with a new body, Content-Length is its length
     * and Content-Encoding and Transfer-Encoding are dropped; the server's body is read to its end
     * and discarded. Without a new body the server's body is passed through under the new code (none
     * for a new 204 or 304, whose body is discarded). Watches and protocol switches (101) are never
     * replaced: the rule does not match watch requests, since a replaced code or body would end an
     * event stream, which {@link WatchGone} and {@link CutWatchesEvery} model. Several matching rules
     * apply in order; a later code or body wins.
     */
    record ReplaceResponse(OptionalInt code, Optional<String> body) implements Fault {
        public ReplaceResponse {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(body, "body");
            if (code.isEmpty() && body.isEmpty()) {
                throw new IllegalArgumentException("replace a code, a body, or both");
            }
            if (code.isPresent() && (code.getAsInt() < 200 || code.getAsInt() > 599)) {
                throw new IllegalArgumentException("code must be a final HTTP status (200-599): " + code.getAsInt());
            }
            if (code.isPresent() && (code.getAsInt() == 204 || code.getAsInt() == 304) && body.isPresent()) {
                throw new IllegalArgumentException("a " + code.getAsInt() + " response has no body");
            }
        }

        byte[] bodyBytes() {
            return body.map(b -> b.getBytes(StandardCharsets.UTF_8)).orElse(null);
        }

        @Override
        public String describe() {
            return "replace" + (code.isPresent() ? " code=" + code.getAsInt() : "")
                    + body.map(b -> " body=" + b.getBytes(StandardCharsets.UTF_8).length + "B").orElse("");
        }
    }

    /** One short line for logs and the request log's {@code faults}. */
    String describe();

    static Delay delay(Duration delay) {
        return new Delay(delay);
    }

    /** netem-style delay: {@code latency +/- jitter}, uncorrelated. */
    static JitteredDelay delay(Duration latency, Duration jitter) {
        return new JitteredDelay(latency, jitter, 0);
    }

    static JitteredDelay delay(Duration latency, Duration jitter, int correlationPercent) {
        return new JitteredDelay(latency, jitter, correlationPercent);
    }

    static Loss loss(int percent) {
        return new Loss(percent, 0);
    }

    static Duplicate duplicate(int percent) {
        return new Duplicate(percent);
    }

    static Bandwidth bandwidth(long bytesPerSecond, long bufferBytes) {
        return new Bandwidth(bytesPerSecond, bufferBytes);
    }

    /** Replaces the code, keeping the server's body. */
    static ReplaceResponse replaceCode(int code) {
        return new ReplaceResponse(OptionalInt.of(code), Optional.empty());
    }

    static ReplaceResponse replaceResponse(int code, String body) {
        return new ReplaceResponse(OptionalInt.of(code), Optional.of(body));
    }

    private static void checkPercent(String name, int value) {
        if (value < 0 || value > 100) {
            throw new IllegalArgumentException(name + " must be 0-100: " + value);
        }
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
