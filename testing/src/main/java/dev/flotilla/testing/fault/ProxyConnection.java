package dev.flotilla.testing.fault;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client TCP connection: reads its requests one after another (keep-alive), applies the
 * matching faults, and forwards the rest over its own upstream connection, streaming bodies in
 * both directions. Two virtual threads: one reads the client ahead (so a client that goes away is
 * noticed at once), one handles the exchanges.
 */
final class ProxyConnection {

    private static final Logger log = LoggerFactory.getLogger(ProxyConnection.class);
    /** The API server closes idle connections after 90 s; never reuse one idle for this long. */
    private static final long UPSTREAM_IDLE_NANOS = Duration.ofSeconds(30).toNanos();
    private static final long LINGER_MILLIS = 2_000;
    private static final int BUFFER = 64 * 1024;

    final FaultProxy proxy;
    final String identity;
    final long id;
    private final Socket client;
    private final ClientInput clientInput = new ClientInput(BUFFER);
    private final InputStream in;
    private final OutputStream out;
    private final Throttle toClient;
    private final Runnable onClose;
    private volatile Upstream.Connection upstream;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean closed;
    private volatile boolean clientGone;

    ProxyConnection(FaultProxy proxy, String identity, long id, Socket client, Runnable onClose) throws IOException {
        this.proxy = proxy;
        this.identity = identity;
        this.id = id;
        this.client = client;
        this.onClose = onClose;
        this.in = new BufferedInputStream(clientInput, BUFFER);
        this.toClient = new Throttle(client.getOutputStream(), Throttle.TO_CLIENT);
        this.out = Side.CLIENT.wrap(new BufferedOutputStream(toClient, BUFFER));
    }

    void start() throws IOException {
        InputStream socketIn = client.getInputStream();
        Thread.ofVirtual().name("fault-proxy-" + identity + "-" + id + "-read").start(
                () -> clientInput.fill(socketIn, this::clientEnded));
        Thread.ofVirtual().name("fault-proxy-" + identity + "-" + id).start(this::serve);
    }

    private void clientEnded() {
        clientGone = true;
        // Like Go's HTTP server: a client that goes away cancels its request, so the API server
        // sees the disconnect (an informer's closed watch is not left running upstream).
        Upstream.Connection c = upstream;
        if (c != null) {
            c.close();
        }
    }

    private void serve() {
        try {
            while (!closed) {
                HttpHead request;
                try {
                    request = HttpHead.read(in);
                } catch (ProtocolException e) {
                    log.debug("fault proxy: malformed request from {}: {}", identity, e.getMessage());
                    writeSimple(400, "malformed request: " + e.getMessage(), false);
                    break;
                }
                if (request == null || !exchange(request)) {
                    break;
                }
            }
        } catch (IOException e) {
            log.debug("fault proxy: connection {} of {} ended: {}", id, identity, e.toString());
        } catch (RuntimeException e) {
            log.warn("fault proxy: connection {} of {} failed", id, identity, e);
        } finally {
            close();
        }
    }

    /** Handles one request; true if the connection may carry another. */
    private boolean exchange(HttpHead request) throws IOException {
        String method = request.method();
        String target = originForm(request.target());
        String path = pathOf(target);
        boolean watch = isWatch(path, target);
        boolean webSocket = request.hasToken("Connection", "upgrade")
                && "websocket".equalsIgnoreCase(request.header("Upgrade"));
        RequestLog.Entry entry = proxy.log().begin(identity, id, method, target, watch);
        ExchangeFaults faults = new ExchangeFaults(proxy, identity, method, path, watch, entry,
                () -> !closed && !clientGone);
        toClient.exchange(faults);
        try {
            return exchange(request, method, target, path, watch, webSocket, entry, faults);
        } catch (Side.SideException e) {
            entry.error(clientGone || e.side() == Side.CLIENT ? "client closed the connection" : e.getMessage());
            throw e;
        } catch (IOException | RuntimeException e) {
            entry.error(e.toString());
            throw e;
        } finally {
            toClient.exchange(null);
            Upstream.Connection up = upstream;
            if (up != null) {
                up.throttle.exchange(null);
            }
            entry.finish();
        }
    }

    private boolean exchange(HttpHead request, String method, String target, String path, boolean watch,
            boolean webSocket, RequestLog.Entry entry, ExchangeFaults faults) throws IOException {
        boolean http11 = "HTTP/1.1".equals(request.requestVersion());
        boolean keepAlive = http11 ? !request.hasToken("Connection", "close") : request.hasToken("Connection", "keep-alive");
        if (request.hasToken("Expect", "100-continue")) {
            // Answer it here, so that a fault can read (and discard) the body like a forwarded request.
            request.remove("Expect");
            out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
        List<Fault.ReplaceResponse> replacements = new ArrayList<>(0);
        boolean duplicate = false;
        for (ActiveRule rule : proxy.ruleList()) {
            if (!rule.rule().matches(identity, method, path, watch)) {
                continue;
            }
            switch (rule.rule().fault()) {
                case Fault.JitteredDelay j -> {
                    if (faults.applies(rule)) {
                        Duration d = j.sample(rule.draws().correlated(j.correlationPercent()));
                        entry.fault("delay " + d.toMillis() + "ms (of " + j.describe() + ")");
                        pause(d);
                    }
                }
                case Fault.Loss l -> {
                    if (faults.applies(rule) && !retransmit(rule, l, entry, "")) {
                        reset(); // TCP gave up: the client's connection fails
                        return false;
                    }
                }
                case Fault.Duplicate d -> {
                    if (faults.applies(rule) && rule.draws().chance(d.percent())) {
                        duplicate = true;
                    }
                }
                case Fault.ReplaceResponse r -> {
                    if (faults.applies(rule)) {
                        entry.fault(r.describe());
                        replacements.add(r);
                    }
                }
                case Fault.Bandwidth b -> faults.applies(rule); // acts on the bytes, in the throttles
                case Fault.Delay d -> {
                    if (rule.tryApply()) {
                        entry.fault(d.describe());
                        pause(d.delay());
                    }
                }
                case Fault.Respond r -> {
                    if (rule.tryApply()) {
                        entry.fault(r.describe());
                        discardBody(request);
                        entry.answering();
                        respond(r, keepAlive);
                        entry.status(r.status());
                        return keepAlive;
                    }
                }
                case Fault.Reset r -> {
                    if (rule.tryApply()) {
                        entry.fault(r.describe());
                        reset();
                        return false;
                    }
                }
                case Fault.BlackHole b -> {
                    if (rule.tryApply()) {
                        entry.fault(b.describe());
                        discardBody(request);
                        hold(rule, entry);
                        return false;
                    }
                }
                case Fault.WatchGone g -> {
                    if (rule.tryApply()) {
                        entry.fault(g.describe());
                        discardBody(request);
                        return answerGone(request, target, webSocket, keepAlive, entry);
                    }
                }
                case Fault.RefuseConnections ignored -> {
                    // acts on new connections, in the acceptor
                }
                case Fault.CutWatchesEvery ignored -> {
                    // acts on open streams, on its own timer
                }
            }
        }
        if (closed || clientGone) {
            throw Side.CLIENT.failure("gone before the request was forwarded", null);
        }
        return forward(request, method, target, path, watch, webSocket, keepAlive, entry, faults, replacements,
                duplicate);
    }

    // ------------------------------------------------------------------ forwarding

    private boolean forward(HttpHead request, String method, String target, String path, boolean watch,
            boolean webSocket, boolean keepAlive, RequestLog.Entry entry, ExchangeFaults faults,
            List<Fault.ReplaceResponse> replacements, boolean duplicate) throws IOException {
        boolean requestChunked = request.chunked();
        long requestLength = requestChunked ? -1 : request.contentLength();
        boolean hasBody = requestChunked || requestLength > 0;
        HttpHead upstreamRequest = new HttpHead(
                method + " " + proxy.upstream().basePath() + target + " " + request.requestVersion(), request.headers());
        upstreamRequest.set("Host", proxy.upstream().authority());
        FaultProxy.Impersonation as = proxy.impersonationOf(identity);
        if (as != null) {
            upstreamRequest.impersonate(as.user(), as.groups());
        }

        Upstream.Connection up;
        HttpHead response;
        for (int attempt = 0;; attempt++) {
            Upstream.Connection before = upstream;
            boolean reused = false;
            try {
                up = upstreamConnection();
                reused = before != null && up == before;
                up.throttle.exchange(faults);
                upstreamRequest.writeTo(up.out);
                if (requestChunked) {
                    copyChunked(in, up.out, null, Side.CLIENT);
                } else if (requestLength > 0) {
                    copyFixed(in, up.out, requestLength, Side.CLIENT);
                }
                up.out.flush();
                entry.forwarded();
                if (duplicate && !hasBody) {
                    sendDuplicate(upstreamRequest, method, target, entry);
                    duplicate = false;
                }
                response = readResponseHead(up);
                break;
            } catch (Side.SideException e) {
                if (e.side() == Side.CLIENT || clientGone || closed) {
                    dropUpstream();
                    throw e;
                }
                dropUpstream();
                if (reused && !hasBody && attempt == 0) {
                    // A keep-alive connection the server had closed; the request never reached it.
                    log.debug("fault proxy: stale upstream connection, retrying {} {}", method, path);
                    continue;
                }
                // Mirror the failure: the client sees its connection drop, as it would without the proxy.
                entry.error(e.getMessage());
                reset();
                return false;
            }
        }

        int status = response.status();
        entry.status(status);
        entry.answering();
        if (status == 101) {
            response.writeTo(out);
            out.flush();
            tunnel(up, method, path, target, watch && webSocket, entry, faults);
            return false;
        }
        boolean noBody = "HEAD".equals(method) || status < 200 || status == 204 || status == 304;
        boolean chunked = !noBody && response.chunked();
        long length = noBody || chunked ? -1 : response.contentLength();
        boolean closeDelimited = !noBody && !chunked && length < 0;
        boolean upstreamKeepAlive = !closeDelimited && ("HTTP/1.1".equals(response.responseVersion())
                ? !response.hasToken("Connection", "close") : response.hasToken("Connection", "keep-alive"));
        if (!replacements.isEmpty() && !watch) {
            replace(up, response, replacements, method, chunked, length, closeDelimited, entry);
            out.flush();
            if (upstreamKeepAlive) {
                up.lastUsedNanos = System.nanoTime();
            } else {
                dropUpstream();
            }
            return keepAlive && upstreamKeepAlive && !closeDelimited;
        }
        response.writeTo(out);
        if (chunked) {
            if (watch) {
                // The API server sends a watch's head at once, before any event; held back until the first event, a
                // quiet watch would look to the client like a request that has not been answered yet.
                out.flush();
                WatchStream stream = new WatchStream(this, method, path, queryParameter(target, "resourceVersion"),
                        WatchStream.Transport.HTTP, encoded(response), entry, out, up, faults);
                proxy.register(stream);
                try {
                    copyChunked(up.in, out, stream, Side.UPSTREAM);
                } catch (IOException e) {
                    if (stream.ended() == null) {
                        throw e;
                    }
                } finally {
                    proxy.unregister(stream);
                }
                if (stream.ended() == WatchStream.Ending.CUT) {
                    return false;
                }
                if (stream.ended() == WatchStream.Ending.GONE) {
                    // The client got a complete response; only the upstream watch had to go.
                    dropUpstream();
                    return keepAlive;
                }
            } else {
                copyChunked(up.in, out, null, Side.UPSTREAM);
            }
        } else if (length > 0) {
            copyFixed(up.in, out, length, Side.UPSTREAM);
        } else if (closeDelimited) {
            copyToEnd(up.in, out);
        }
        out.flush();
        if (upstreamKeepAlive) {
            up.lastUsedNanos = System.nanoTime();
        } else {
            dropUpstream();
        }
        return keepAlive && upstreamKeepAlive;
    }

    /** Whether a body is content-coded (gzip...): then no event can be injected into it. */
    private static boolean encoded(HttpHead response) {
        String coding = response.header("Content-Encoding");
        return coding != null && !coding.isBlank() && !coding.strip().equalsIgnoreCase("identity");
    }

    private Upstream.Connection upstreamConnection() throws IOException {
        Upstream.Connection c = upstream;
        if (c != null && System.nanoTime() - c.lastUsedNanos > UPSTREAM_IDLE_NANOS) {
            c.close();
            c = null;
        }
        if (c == null) {
            try {
                c = proxy.upstream().open();
            } catch (IOException e) {
                throw Side.UPSTREAM.failure("cannot connect to " + proxy.upstream().describe() + ": " + e.getMessage(), e);
            }
            upstream = c;
            if (closed || clientGone) {
                c.close();
                throw Side.CLIENT.failure("gone while connecting upstream", null);
            }
        }
        return c;
    }

    private void dropUpstream() {
        Upstream.Connection c = upstream;
        upstream = null;
        if (c != null) {
            c.close();
        }
    }

    /** The final response head; interim 1xx responses (other than 101) are passed to the client. */
    private HttpHead readResponseHead(Upstream.Connection up) throws IOException {
        while (true) {
            HttpHead head = HttpHead.read(up.in);
            if (head == null) {
                throw Side.UPSTREAM.failure("closed the connection without responding", null);
            }
            int status = head.status();
            if (status >= 100 && status < 200 && status != 101) {
                head.writeTo(out);
                out.flush();
                continue;
            }
            return head;
        }
    }

    /** A protocol switch (WebSocket): bytes both ways until either side closes; watch frames are tracked. */
    private void tunnel(Upstream.Connection up, String method, String path, String target, boolean watch,
            RequestLog.Entry entry, ExchangeFaults faults) throws IOException {
        Thread toUpstream = Thread.ofVirtual().name("fault-proxy-" + identity + "-" + id + "-up").start(() -> {
            byte[] buffer = new byte[16 * 1024];
            try {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    up.out.write(buffer, 0, n);
                    up.out.flush();
                }
            } catch (IOException ignored) {
                // either side closed
            } finally {
                up.close();
            }
        });
        WatchStream stream = watch
                ? new WatchStream(this, method, path, queryParameter(target, "resourceVersion"),
                        WatchStream.Transport.WEBSOCKET, false, entry, out, up, faults)
                : null;
        if (stream != null) {
            proxy.register(stream);
        }
        try {
            if (stream != null) {
                copyFrames(up.in, stream);
            } else {
                copyToEnd(up.in, out);
            }
            out.flush();
        } catch (IOException e) {
            if (stream == null || stream.ended() == null) {
                throw e;
            }
        } finally {
            if (stream != null) {
                proxy.unregister(stream);
            }
            dropUpstream();
        }
        if (stream != null && stream.ended() == WatchStream.Ending.GONE) {
            lingerClose();
        }
        toUpstream.interrupt();
    }

    // ------------------------------------------------------------------ faults

    /**
     * Plays {@link Fault.Loss} for one message: while a transmission is lost (and the rule is live),
     * waits the next retransmission timeout. False when TCP would give up.
     */
    private boolean retransmit(ActiveRule rule, Fault.Loss loss, RequestLog.Entry entry, String what)
            throws IOException {
        int k = 0;
        while (rule.live() && loss.lost(rule.draws().correlated(loss.correlationPercent()))) {
            pause(Fault.Loss.retransmissionTimeout(k));
            k++;
            if (k > Fault.Loss.MAX_RETRANSMISSIONS) {
                entry.fault("loss: gave up after " + Fault.Loss.MAX_RETRANSMISSIONS + " retransmissions" + what);
                return false;
            }
        }
        if (k > 0) {
            entry.fault("loss: " + k + (k == 1 ? " retransmission +" : " retransmissions +")
                    + Fault.Loss.delayAfter(k).toMillis() + "ms" + what);
        }
        return true;
    }

    /** Before an event of a watch stream is written: the loss rules that apply hold it. */
    void beforeWatchEvent(ExchangeFaults faults, RequestLog.Entry entry) throws IOException {
        for (ActiveRule rule : faults.applying(Fault.Loss.class)) {
            if (!retransmit(rule, (Fault.Loss) rule.rule().fault(), entry, " (watch event)")) {
                reset();
                throw Side.CLIENT.failure("connection given up after lost retransmissions", null);
            }
        }
    }

    /**
     * Sends a copy of a forwarded safe request to the server on a connection of its own and
     * discards the answer ({@link Fault.Duplicate}); the copy has a record of its own.
     */
    private void sendDuplicate(HttpHead upstreamRequest, String method, String target, RequestLog.Entry original) {
        HttpHead copy = new HttpHead(upstreamRequest.startLine(), upstreamRequest.headers());
        copy.set("Connection", "close");
        RequestLog.Entry dup = proxy.log().begin(identity, id, method, target, false);
        original.fault("duplicated as #" + dup.sequence());
        dup.fault("duplicate of #" + original.sequence());
        Thread.ofVirtual().name("fault-proxy-" + identity + "-" + id + "-duplicate").start(() -> {
            Upstream.Connection c = null;
            try {
                c = proxy.upstream().open();
                copy.writeTo(c.out);
                c.out.flush();
                dup.forwarded();
                HttpHead response;
                do {
                    response = HttpHead.read(c.in);
                    if (response == null) {
                        throw Side.UPSTREAM.failure("closed the connection without responding", null);
                    }
                } while (response.status() >= 100 && response.status() < 200);
                dup.status(response.status());
                int status = response.status();
                OutputStream discard = OutputStream.nullOutputStream();
                if ("HEAD".equals(method) || status == 204 || status == 304) {
                    // no body
                } else if (response.chunked()) {
                    copyChunked(c.in, discard, null, Side.UPSTREAM);
                } else if (response.contentLength() >= 0) {
                    copyFixed(c.in, discard, response.contentLength(), Side.UPSTREAM);
                } else {
                    copyToEnd(c.in, discard);
                }
            } catch (IOException | RuntimeException e) {
                dup.error(e.toString());
            } finally {
                if (c != null) {
                    c.close();
                }
                dup.finish();
            }
        });
    }

    /**
     * Writes the server's answer with {@link Fault.ReplaceResponse}s applied (a later code or body
     * wins): a new body replaces the server's, which is read and discarded; a new code keeps it.
     */
    private void replace(Upstream.Connection up, HttpHead response, List<Fault.ReplaceResponse> replacements,
            String method, boolean chunked, long length, boolean closeDelimited, RequestLog.Entry entry)
            throws IOException {
        int status = response.status();
        byte[] body = null;
        for (Fault.ReplaceResponse r : replacements) {
            if (r.code().isPresent()) {
                status = r.code().getAsInt();
            }
            if (r.body().isPresent()) {
                body = r.bodyBytes();
            }
        }
        boolean noBodyNow = "HEAD".equals(method) || status == 204 || status == 304;
        HttpHead head = new HttpHead(response.responseVersion() + " " + status + " " + KubeStatus.phrase(status),
                response.headers());
        boolean discard = body != null || noBodyNow;
        if (discard) {
            head.remove("Transfer-Encoding");
            head.remove("Content-Encoding");
            if (noBodyNow) {
                head.remove("Content-Length");
                if ("HEAD".equals(method) && body != null) {
                    head.set("Content-Length", Integer.toString(body.length));
                }
            } else {
                head.set("Content-Length", Integer.toString(body.length));
            }
            if (closeDelimited) {
                head.set("Connection", "close");
            }
        } else if (!chunked && length < 0 && !closeDelimited) {
            head.set("Content-Length", "0"); // the server's answer had no body (a 204, say), the new code needs one
        }
        entry.status(status);
        entry.answering();
        head.writeTo(out);
        OutputStream to = discard ? OutputStream.nullOutputStream() : out;
        if (chunked) {
            copyChunked(up.in, to, null, Side.UPSTREAM);
        } else if (length > 0) {
            copyFixed(up.in, to, length, Side.UPSTREAM);
        } else if (closeDelimited) {
            copyToEnd(up.in, to);
        }
        if (body != null && !noBodyNow) {
            out.write(body);
        }
    }

    private void respond(Fault.Respond r, boolean keepAlive) throws IOException {
        byte[] body = KubeStatus.status(r.status(), r.message(), KubeStatus.retryAfterSeconds(r.retryAfter()));
        StringBuilder head = new StringBuilder(256);
        head.append("HTTP/1.1 ").append(r.status()).append(' ').append(KubeStatus.phrase(r.status())).append("\r\n");
        head.append("Cache-Control: no-cache, private\r\n");
        head.append("Content-Type: application/json\r\n");
        if (r.retryAfter() != null) {
            head.append("Retry-After: ").append(r.retryAfter()).append("\r\n");
        }
        head.append("Content-Length: ").append(body.length).append("\r\n");
        if (!keepAlive) {
            head.append("Connection: close\r\n");
        }
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    private void writeSimple(int status, String message, boolean keepAlive) {
        try {
            respond(new Fault.Respond(status, null, message), keepAlive);
        } catch (IOException ignored) {
            // the client is gone
        }
    }

    private void pause(Duration delay) throws IOException {
        long until = System.nanoTime() + delay.toNanos();
        try {
            long left;
            while ((left = until - System.nanoTime()) > 0) {
                if (closed || clientGone) {
                    throw Side.CLIENT.failure("gone during an injected delay", null);
                }
                Thread.sleep(Duration.ofNanos(Math.min(left, 50_000_000L)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Side.CLIENT.failure("interrupted during an injected delay", e);
        }
    }

    private void hold(ActiveRule rule, RequestLog.Entry entry) {
        try {
            while (!closed && !clientGone) {
                if (rule.awaitRelease(50_000_000L)) {
                    entry.error("black hole released; connection closed without a response");
                    return;
                }
            }
            entry.error(clientGone ? "client gave up" : "proxy closed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean answerGone(HttpHead request, String target, boolean webSocket, boolean keepAlive,
            RequestLog.Entry entry) throws IOException {
        byte[] event = KubeStatus.goneEvent(queryParameter(target, "resourceVersion"));
        String key = request.header("Sec-WebSocket-Key");
        if (webSocket && key != null) {
            StringBuilder head = new StringBuilder("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Accept: " + WebSockets.acceptKey(key) + "\r\n");
            String protocols = request.header("Sec-WebSocket-Protocol");
            if (protocols != null && !protocols.isBlank()) {
                head.append("Sec-WebSocket-Protocol: ").append(protocols.split(",")[0].strip()).append("\r\n");
            }
            head.append("\r\n");
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(WebSockets.frame(WebSockets.OP_TEXT, java.util.Arrays.copyOf(event, event.length - 1)));
            out.write(WebSockets.normalClose());
            out.flush();
            entry.status(101);
            lingerClose();
            return false;
        }
        String head = "HTTP/1.1 200 OK\r\nCache-Control: no-cache, private\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n";
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.write((Integer.toHexString(event.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(event);
        out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        entry.status(200);
        return keepAlive;
    }

    /** Closes abruptly: SO_LINGER 0 makes the close a TCP RST. */
    void reset() {
        try {
            client.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closing anyway
        }
        close();
    }

    /** Closes now, mid-whatever (FIN); the client sees its connection end. */
    void abort() {
        close();
    }

    /** Sends FIN after what was written, lets the client close its side (up to 2 s), then closes. */
    private void lingerClose() {
        try {
            client.shutdownOutput();
        } catch (IOException ignored) {
            // closing anyway
        }
        clientInput.awaitEnd(LINGER_MILLIS);
        close();
    }

    void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        closed = true;
        try {
            client.close();
        } catch (IOException ignored) {
            // already closed
        }
        clientInput.close();
        dropUpstream();
        onClose.run();
    }

    // ------------------------------------------------------------------ bodies

    private void discardBody(HttpHead request) throws IOException {
        if (request.chunked()) {
            copyChunked(in, OutputStream.nullOutputStream(), null, Side.CLIENT);
        } else {
            long n = request.contentLength();
            if (n > 0) {
                copyFixed(in, OutputStream.nullOutputStream(), n, Side.CLIENT);
            }
        }
    }

    private static void copyFixed(InputStream from, OutputStream to, long length, Side source) throws IOException {
        byte[] buffer = new byte[(int) Math.min(BUFFER, Math.max(1, length))];
        long left = length;
        while (left > 0) {
            int n = from.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw source.failure("ended " + left + " bytes before the end of the body", null);
            }
            to.write(buffer, 0, n);
            left -= n;
            if (from.available() == 0) {
                to.flush();
            }
        }
    }

    private static void copyToEnd(InputStream from, OutputStream to) throws IOException {
        byte[] buffer = new byte[BUFFER];
        int n;
        while ((n = from.read(buffer)) >= 0) {
            to.write(buffer, 0, n);
            if (from.available() == 0) {
                to.flush();
            }
        }
        to.flush();
    }

    /**
     * Copies a chunked body chunk by chunk, re-framed (extensions dropped), trailers included.
     * With a stream, each chunk is written under its lock and event boundaries are tracked.
     */
    private static void copyChunked(InputStream from, OutputStream to, WatchStream stream, Side source)
            throws IOException {
        byte[] buffer = new byte[BUFFER];
        byte last = '\n';
        while (true) {
            String sizeLine = HttpHead.readLine(from, 4096);
            if (sizeLine == null) {
                throw source.failure("ended inside a chunked body", null);
            }
            int semicolon = sizeLine.indexOf(';');
            long size;
            try {
                size = Long.parseLong((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).strip(), 16);
            } catch (NumberFormatException e) {
                throw new ProtocolException("malformed chunk size: " + sizeLine);
            }
            if (size < 0) {
                throw new ProtocolException("malformed chunk size: " + sizeLine);
            }
            if (size == 0) {
                List<String> trailers = new ArrayList<>();
                String line;
                while ((line = HttpHead.readLine(from, HttpHead.MAX_LINE)) != null && !line.isEmpty()) {
                    trailers.add(line);
                }
                if (stream != null) {
                    stream.beginWrite();
                }
                try {
                    StringBuilder end = new StringBuilder("0\r\n");
                    trailers.forEach(t -> end.append(t).append("\r\n"));
                    end.append("\r\n");
                    to.write(end.toString().getBytes(StandardCharsets.ISO_8859_1));
                    to.flush();
                } finally {
                    if (stream != null) {
                        stream.endWrite(false);
                    }
                }
                return;
            }
            if (stream != null) {
                stream.beforeData();
                stream.beginWrite();
            }
            boolean boundary = false;
            try {
                to.write((Long.toHexString(size) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                long left = size;
                while (left > 0) {
                    int n = from.read(buffer, 0, (int) Math.min(buffer.length, left));
                    if (n < 0) {
                        throw source.failure("ended inside a chunk", null);
                    }
                    to.write(buffer, 0, n);
                    last = buffer[n - 1];
                    left -= n;
                }
                String crlf = HttpHead.readLine(from, 2);
                if (crlf == null || !crlf.isEmpty()) {
                    throw new ProtocolException("chunk not followed by CRLF");
                }
                to.write('\r');
                to.write('\n');
                if (stream != null || from.available() == 0) {
                    to.flush();
                }
                boundary = last == '\n';
            } finally {
                if (stream != null) {
                    stream.endWrite(boundary);
                }
            }
            if (stream != null && stream.ended() != null) {
                return;
            }
        }
    }

    /** Copies WebSocket frames from the server, tracking message boundaries for injection. */
    private void copyFrames(InputStream from, WatchStream stream) throws IOException {
        byte[] head = new byte[14];
        byte[] buffer = new byte[BUFFER];
        boolean inMessage = false;
        while (true) {
            int b0 = from.read();
            if (b0 < 0) {
                return;
            }
            head[0] = (byte) b0;
            readFully(from, head, 1, 1);
            int b1 = head[1] & 0xff;
            int headLength = 2;
            long length = b1 & 0x7f;
            if (length == 126) {
                readFully(from, head, 2, 2);
                length = ((head[2] & 0xffL) << 8) | (head[3] & 0xffL);
                headLength = 4;
            } else if (length == 127) {
                readFully(from, head, 2, 8);
                length = 0;
                for (int i = 0; i < 8; i++) {
                    length = (length << 8) | (head[2 + i] & 0xffL);
                }
                headLength = 10;
            }
            if ((b1 & 0x80) != 0) {
                readFully(from, head, headLength, 4);
                headLength += 4;
            }
            int opcode = b0 & 0x0f;
            boolean fin = (b0 & 0x80) != 0;
            stream.beforeData();
            stream.beginWrite();
            boolean boundary = false;
            try {
                out.write(head, 0, headLength);
                long left = length;
                while (left > 0) {
                    int n = from.read(buffer, 0, (int) Math.min(buffer.length, left));
                    if (n < 0) {
                        throw Side.UPSTREAM.failure("ended inside a WebSocket frame", null);
                    }
                    out.write(buffer, 0, n);
                    left -= n;
                }
                if (opcode < 0x8) {
                    inMessage = !fin;
                }
                out.flush();
                boundary = !inMessage;
            } finally {
                stream.endWrite(boundary);
            }
            if (stream.ended() != null) {
                return;
            }
        }
    }

    private static void readFully(InputStream from, byte[] b, int off, int len) throws IOException {
        int done = 0;
        while (done < len) {
            int n = from.read(b, off + done, len - done);
            if (n < 0) {
                throw Side.UPSTREAM.failure("ended inside a WebSocket frame header", null);
            }
            done += n;
        }
    }

    // ------------------------------------------------------------------ request targets

    /** Origin form (/path?query) of a request target, also when a client sent the absolute form. */
    static String originForm(String target) {
        if (target.startsWith("http://") || target.startsWith("https://")) {
            URI uri = URI.create(target);
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
        }
        return target;
    }

    static String pathOf(String target) {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    /** A watch: {@code watch=true} (or 1) in the query, or the legacy {@code /watch/} path segment. */
    static boolean isWatch(String path, String target) {
        String w = queryParameter(target, "watch");
        if (w != null) {
            String v = w.toLowerCase(Locale.ROOT);
            if (v.equals("true") || v.equals("1")) {
                return true;
            }
        }
        return path.matches("/apis?/(.+/)?watch/.*");
    }

    /** The first value of a query parameter, decoded, or null. */
    static String queryParameter(String target, String name) {
        int q = target.indexOf('?');
        if (q < 0) {
            return null;
        }
        for (String pair : target.substring(q + 1).split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (decode(key).equals(name)) {
                return eq < 0 ? "" : decode(pair.substring(eq + 1));
            }
        }
        return null;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }
}
