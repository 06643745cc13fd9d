package dev.flotilla.testing.fault;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An open watch response being streamed to a client, which the proxy may end: cut (the connection
 * is closed mid-stream) or gone (a 410 ERROR event is written at the next event boundary, then the
 * stream ends). The pumping thread writes each chunk or frame under {@link #lock}; the proxy's
 * injection takes the same lock, so an injected event never lands inside an upstream one.
 */
final class WatchStream {

    enum Transport { HTTP, WEBSOCKET }

    enum Ending { CUT, GONE }

    private static final long INJECT_LOCK_WAIT_MILLIS = 1_000;

    final ProxyConnection connection;
    final String identity;
    final String method;
    final String path;
    final Transport transport;
    private final boolean encoded;
    private final String resourceVersion;
    private final RequestLog.Entry entry;
    private final OutputStream out;
    private final Upstream.Connection upstream;
    private final ExchangeFaults faults;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicReference<Ending> ended = new AtomicReference<>();
    private boolean atBoundary = true; // guarded by lock
    private boolean goneRequested; // guarded by lock
    private boolean cutAfterEventRequested; // guarded by lock

    WatchStream(ProxyConnection connection, String method, String path, String resourceVersion, Transport transport,
            boolean encoded, RequestLog.Entry entry, OutputStream out, Upstream.Connection upstream,
            ExchangeFaults faults) {
        this.faults = faults;
        this.encoded = encoded;
        this.connection = connection;
        this.identity = connection.identity;
        this.method = method;
        this.path = path;
        this.resourceVersion = resourceVersion;
        this.transport = transport;
        this.entry = entry;
        this.out = out;
        this.upstream = upstream;
    }

    Ending ended() {
        return ended.get();
    }

    /**
     * Called by the pumping thread before it takes the lock for a chunk or frame: at an event
     * boundary, {@link Fault.Loss} rules may hold the next event (outside the lock, so that an
     * injected 410 need not wait for them).
     */
    void beforeData() throws IOException {
        if (atBoundary) { // written only by the pumping thread, in endWrite
            connection.beforeWatchEvent(faults, entry);
        }
    }

    /** Called by the pumping thread before it writes one chunk or frame. */
    void beginWrite() throws IOException {
        lock.lock();
        if (ended.get() != null) {
            lock.unlock();
            throw Side.CLIENT.failure("watch stream ended by the proxy", null);
        }
    }

    /** Called by the pumping thread after the chunk or frame; {@code boundary}: between two events. */
    void endWrite(boolean boundary) {
        try {
            atBoundary = boundary;
            if (boundary && goneRequested && ended.get() == null) {
                writeGoneLocked();
            } else if (boundary && cutAfterEventRequested && ended.compareAndSet(null, Ending.CUT)) {
                entry.fault("watch-cut-after-event");
                connection.abort();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Closes the stream's connection now, mid-stream. False if the stream had already ended. */
    boolean cut() {
        if (!ended.compareAndSet(null, Ending.CUT)) {
            return false;
        }
        entry.fault("watch-cut");
        connection.abort();
        return true;
    }

    /**
     * Closes the stream's connection right after the next whole event is written (the one being written, if the
     * stream is inside one; on a WebSocket, the next whole frame), so the client reads that event and the end of the
     * connection together. A compressed stream, whose events cannot be told apart, or one stuck inside an event for
     * a second, is cut now instead. False if the stream had already ended.
     */
    boolean cutAfterNextEvent() {
        return underLockOrCut(() -> cutAfterEventRequested = true);
    }

    /**
     * Writes the 410 ERROR event at the next event boundary (now, if the stream is between
     * events) and ends the stream. A stream stuck inside an event for a second, or a compressed
     * one (where plain JSON cannot be spliced in), is cut instead.
     */
    boolean injectGone() {
        return underLockOrCut(() -> {
            if (atBoundary) {
                writeGoneLocked();
            } else {
                goneRequested = true;
            }
        });
    }

    /**
     * Runs {@code marking} under the lock, between two writes of the pumping thread. A stream that cannot be marked
     * so, a compressed one (where events cannot be told apart) or one stuck inside an event for a second, is cut
     * now instead. False if the stream had already ended.
     */
    private boolean underLockOrCut(Runnable marking) {
        if (ended.get() != null) {
            return false;
        }
        if (encoded) {
            return cut();
        }
        boolean locked;
        try {
            locked = lock.tryLock(INJECT_LOCK_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (!locked) {
            return cut();
        }
        try {
            if (ended.get() != null) {
                return false;
            }
            marking.run();
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void writeGoneLocked() {
        if (!ended.compareAndSet(null, Ending.GONE)) {
            return;
        }
        entry.fault("watch-gone");
        byte[] event = KubeStatus.goneEvent(resourceVersion);
        try {
            if (transport == Transport.HTTP) {
                out.write((Integer.toHexString(event.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(event);
                out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            } else {
                byte[] json = Arrays.copyOf(event, event.length - 1); // one message per event, no newline
                out.write(WebSockets.frame(WebSockets.OP_TEXT, json));
                out.write(WebSockets.normalClose());
            }
            out.flush();
        } catch (IOException e) {
            connection.abort();
        } finally {
            // The pumping thread, blocked reading the upstream, fails at once and finishes the exchange.
            upstream.close();
        }
    }
}
