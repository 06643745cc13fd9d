package dev.flotilla.testing.fault;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One request that reached the proxy (or one refused connection), as seen at the time of the query.
 *
 * @param sequence    position in the proxy's log, increasing in arrival order
 * @param identity    the client identity (the listening port it came in on)
 * @param connection  the proxy's id of the client TCP connection, increasing; a new value means a new connection
 * @param method      HTTP method; {@code "-"} for a refused connection
 * @param target      path and query as sent by the client; {@code "-"} for a refused connection
 * @param watch       whether it is a watch ({@code watch=true|1} or a {@code /watch/} path), HTTP or WebSocket
 * @param forwarded   whether it was sent to the API server (the server saw it)
 * @param faults      what the proxy did to it, in order ({@link Fault#describe()}, plus {@code watch-cut},
 *                    {@code watch-cut-after-event} or {@code watch-gone} for a stream ended by the proxy); empty when untouched
 * @param status      HTTP status the client received (101 for a WebSocket), or -1 when it received none
 *                    (reset, black hole, upstream failure mid-way) or the response has not started
 * @param error       why the exchange ended abnormally (client or upstream closed), or null
 * @param startNanos  {@link System#nanoTime()} when the request head had been read
 * @param endNanos    {@link System#nanoTime()} when the response ended (for a watch: the stream), or -1 while in flight
 * @param startTime   wall clock at {@code startNanos}
 * @param endTime     wall clock at {@code endNanos}, or null while in flight
 * @param answerNanos {@link System#nanoTime()} just before the proxy wrote the response's first byte, or -1 when it
 *                    wrote none
 */
public record RequestRecord(long sequence, String identity, long connection, String method, String target,
        boolean watch, boolean forwarded, List<String> faults, int status, String error, long startNanos,
        long endNanos, Instant startTime, Instant endTime, long answerNanos) {

    /** A record without the answer's start (taken as unknown). */
    public RequestRecord(long sequence, String identity, long connection, String method, String target, boolean watch,
            boolean forwarded, List<String> faults, int status, String error, long startNanos, long endNanos, Instant startTime,
            Instant endTime) {
        this(sequence, identity, connection, method, target, watch, forwarded, faults, status, error, startNanos, endNanos,
                startTime, endTime, -1);
    }

    public RequestRecord {
        faults = List.copyOf(faults);
    }

    /** The target without its query. */
    public String path() {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    public boolean inFlight() {
        return endNanos < 0;
    }

    /** Whether some fault acted on it (a delay, a status answer, a cut watch...). */
    public boolean faulted() {
        return !faults.isEmpty();
    }

    /** Answered, reset or held by a fault without the API server seeing it. */
    public boolean answeredByFault() {
        return !forwarded && !faults.isEmpty();
    }

    /** Start to end (to now while in flight). */
    public Duration duration() {
        return Duration.ofNanos((inFlight() ? System.nanoTime() : endNanos) - startNanos);
    }
}
