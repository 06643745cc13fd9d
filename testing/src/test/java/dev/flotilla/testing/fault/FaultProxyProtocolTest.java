package dev.flotilla.testing.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/1.1 details of the proxy that fabric8 never exercises (chunked request bodies, Expect,
 * HEAD, absolute-form targets), and the exact placement of injected watch events, against scripted
 * plain-HTTP upstreams. No API server needed; each test takes milliseconds.
 */
class FaultProxyProtocolTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private HttpServer http;
    private ScriptedServer scripted;

    @AfterEach
    void stop() throws IOException {
        if (http != null) {
            http.stop(0);
        }
        if (scripted != null) {
            scripted.close();
        }
    }

    /** An upstream echoing method, path, Host and body, with Content-Length (or chunked for /chunked). */
    private Config echoServer() throws IOException {
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            exchange.getResponseHeaders().add("X-Method", exchange.getRequestMethod());
            exchange.getResponseHeaders().add("X-Target", exchange.getRequestURI().toString());
            exchange.getResponseHeaders().add("X-Host", exchange.getRequestHeaders().getFirst("Host"));
            exchange.getResponseHeaders().add("X-Impersonate-User", String.valueOf(exchange.getRequestHeaders().getFirst("Impersonate-User")));
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/no-content")) {
                exchange.sendResponseHeaders(204, -1);
            } else if (exchange.getRequestMethod().equals("HEAD")) {
                exchange.sendResponseHeaders(200, -1);
            } else {
                exchange.sendResponseHeaders(200, path.equals("/chunked") ? 0 : body.length == 0 ? -1 : body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        http.start();
        return upstreamConfig(http.getAddress().getPort());
    }

    private static Config upstreamConfig(int port) {
        return new ConfigBuilder(Config.empty()).withMasterUrl("http://127.0.0.1:" + port).build();
    }

    @Test
    void requestBodiesHeadersAndKeepAlivePassThrough() throws Exception {
        try (FaultProxy proxy = FaultProxy.start(echoServer()); RawClient c = new RawClient(proxy.port("c"))) {
            c.send("POST /api/v1/namespaces/a/configmaps?x=1 HTTP/1.1\r\nHost: whatever\r\nImpersonate-User: alice\r\n"
                    + "Content-Type: application/apply-patch+yaml\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n");
            HttpHead r1 = c.head();
            assertThat(r1.status()).isEqualTo(200);
            assertThat(r1.header("X-Method")).isEqualTo("POST");
            assertThat(r1.header("X-Target")).isEqualTo("/api/v1/namespaces/a/configmaps?x=1");
            assertThat(r1.header("X-Host")).as("Host names the upstream").isEqualTo("127.0.0.1:" + http.getAddress().getPort());
            assertThat(r1.header("X-Impersonate-User")).isEqualTo("alice");
            assertThat(c.fixedBody(r1)).isEqualTo("hello, world");

            // Same connection: a Content-Length body, then Expect: 100-continue, then the absolute form.
            c.send("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
            HttpHead r2 = c.head();
            assertThat(c.fixedBody(r2)).isEqualTo("abc");
            c.send("PATCH /y HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
            assertThat(c.head().status()).isEqualTo(100);
            c.send("ok");
            assertThat(c.fixedBody(c.head())).isEqualTo("ok");
            c.send("GET http://example.org/z?q=1 HTTP/1.1\r\nHost: example.org\r\n\r\n");
            HttpHead absolute = c.head();
            assertThat(absolute.header("X-Target")).as("the absolute form is forwarded as origin form").isEqualTo("/z?q=1");
            assertThat(c.fixedBody(absolute)).isEmpty();

            // No body for HEAD or 204, even with headers suggesting one; a chunked response is re-framed intact.
            c.send("HEAD /head HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(c.head().status()).isEqualTo(200);
            c.send("DELETE /no-content HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(c.head().status()).isEqualTo(204);
            c.send("POST /chunked HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody");
            HttpHead chunked = c.head();
            assertThat(chunked.chunked()).isTrue();
            assertThat(c.chunkedBody()).isEqualTo("body");

            assertThat(proxy.requests("c")).extracting(RequestRecord::connection).containsOnly(c.connectionId(proxy));
            assertThat(proxy.requests("c")).extracting(RequestRecord::method)
                    .containsExactly("POST", "PUT", "PATCH", "GET", "HEAD", "DELETE", "POST");
            assertThat(proxy.requests("c")).allSatisfy(r -> assertThat(r.forwarded()).isTrue());
        }
    }

    @Test
    void chunkedRequestBodiesAreReframedWithTheirTrailers() throws Exception {
        scripted = new ScriptedServer(s -> {
            if (HttpHead.read(s.in) == null) {
                return;
            }
            StringBuilder raw = new StringBuilder();
            String line;
            boolean last = false;
            while ((line = HttpHead.readLine(s.in, 1024)) != null) {
                raw.append(line).append("|");
                if (line.equals("0")) {
                    last = true;
                } else if (last && line.isEmpty()) {
                    break;
                }
            }
            s.write("HTTP/1.1 200 OK\r\nContent-Length: " + raw.length() + "\r\n\r\n" + raw);
        });
        try (FaultProxy proxy = FaultProxy.start(upstreamConfig(scripted.port())); RawClient c = new RawClient(proxy.port("c"))) {
            c.send("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n");
            assertThat(c.fixedBody(c.head())).isEqualTo("5|hello|0|X-Trailer: t||");
        }
    }

    @Test
    void faultAnswersReadTheBodyAndKeepTheConnection() throws Exception {
        try (FaultProxy proxy = FaultProxy.start(echoServer()); RawClient c = new RawClient(proxy.port("c"))) {
            proxy.add(FaultRule.of(Fault.status(409).withMessage("say \"no\"")).forMethods("POST").times(1));
            c.send("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
            HttpHead r = c.head();
            assertThat(r.status()).isEqualTo(409);
            assertThat(r.header("Retry-After")).isNull();
            assertThat(c.fixedBody(r)).isEqualTo("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                    + "\"message\":\"say \\\"no\\\"\",\"reason\":\"Conflict\",\"code\":409}");
            c.send("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
            assertThat(c.fixedBody(c.head())).isEqualTo("hi");
        }
    }

    @Test
    void responsesStreamAsTheyArrive() throws Exception {
        CountDownLatch firstHalfSeen = new CountDownLatch(1);
        scripted = new ScriptedServer(s -> {
            HttpHead request = HttpHead.read(s.in);
            if (request == null) {
                return;
            }
            s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst");
            hold(firstHalfSeen);
            s.write("-last");
        });
        try (FaultProxy proxy = FaultProxy.start(upstreamConfig(scripted.port())); RawClient c = new RawClient(proxy.port("c"))) {
            c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(c.head().contentLength()).isEqualTo(10);
            assertThat(c.bytes(5)).as("the first half arrives before the server sends the rest").isEqualTo("first");
            firstHalfSeen.countDown();
            assertThat(c.bytes(5)).isEqualTo("-last");
        }
    }

    @Test
    void goneIsInjectedBetweenEventsNeverInsideOne() throws Exception {
        CountDownLatch injected = new CountDownLatch(1);
        scripted = new ScriptedServer(s -> {
            HttpHead request = HttpHead.read(s.in);
            if (request == null) {
                return;
            }
            s.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            s.chunk("{\"type\":\"ADDED\",\"n\":1}\n");
            s.chunk("{\"type\":\"MODIFIED\","); // an event split across chunks
            hold(injected);
            s.chunk("\"n\":2}\n");
            s.chunk("{\"type\":\"MODIFIED\",\"n\":3}\n"); // never reaches the client
            s.in.read(); // until the proxy drops the upstream watch
        });
        try (FaultProxy proxy = FaultProxy.start(upstreamConfig(scripted.port())); RawClient c = new RawClient(proxy.port("w"))) {
            c.send("GET /api/v1/configmaps?watch=true&resourceVersion=42 HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(c.head().status()).isEqualTo(200);
            assertThat(c.chunk()).isEqualTo("{\"type\":\"ADDED\",\"n\":1}\n");
            assertThat(c.chunk()).isEqualTo("{\"type\":\"MODIFIED\",");
            assertThat(proxy.openWatches("w")).isEqualTo(1);
            assertThat(proxy.injectGone("w")).isEqualTo(1);
            injected.countDown();
            assertThat(c.chunk()).isEqualTo("\"n\":2}\n");
            assertThat(c.chunk()).isEqualTo("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                    + "\"status\":\"Failure\",\"message\":\"too old resource version: 42 (injected by FaultProxy)\","
                    + "\"reason\":\"Expired\",\"code\":410}}\n");
            assertThat(c.chunk()).as("the stream ends cleanly").isEmpty();
            await().atMost(WAIT).until(() -> proxy.openWatches("w") == 0);
            assertThat(proxy.requests("w")).singleElement().satisfies(r -> {
                assertThat(r.watch()).isTrue();
                assertThat(r.faults()).containsExactly("watch-gone");
                assertThat(r.inFlight()).isFalse();
            });

            // The client's connection stays usable; the proxy opens a new upstream connection for it.
            proxy.add(FaultRule.of(Fault.status(503)));
            c.send("GET /api/v1/configmaps HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(c.head().status()).isEqualTo(503);
        }
    }

    @Test
    void goneWaitsForTheEndOfAFragmentedWebSocketMessage() throws Exception {
        CountDownLatch injected = new CountDownLatch(1);
        scripted = new ScriptedServer(s -> {
            HttpHead request = HttpHead.read(s.in);
            if (request == null) {
                return;
            }
            s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                    + WebSockets.acceptKey(request.header("Sec-WebSocket-Key")) + "\r\n\r\n");
            s.out.write(new byte[] {0x01, 5, 'p', 'a', 'r', 't', '1'}); // text, not final
            s.out.flush();
            hold(injected);
            s.out.write(new byte[] {(byte) 0x80, 5, 'p', 'a', 'r', 't', '2'}); // final continuation
            s.out.flush();
            s.in.read();
        });
        try (FaultProxy proxy = FaultProxy.start(upstreamConfig(scripted.port())); RawClient c = new RawClient(proxy.port("ws"))) {
            c.send("GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
            HttpHead switched = c.head();
            assertThat(switched.status()).isEqualTo(101);
            assertThat(switched.header("Sec-WebSocket-Accept")).isEqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
            assertThat(c.frame()).isEqualTo("1:part1");
            assertThat(proxy.injectGone("ws")).isEqualTo(1);
            injected.countDown();
            assertThat(c.frame()).isEqualTo("0:part2");
            assertThat(c.frame()).startsWith("1:{\"type\":\"ERROR\"").contains("\"code\":410").doesNotEndWith("\n");
            assertThat(c.frame()).as("then a normal close").isEqualTo("8:\u0003\u00e8");
            assertThat(proxy.requests("ws")).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(101);
                assertThat(r.faults()).containsExactly("watch-gone");
            });
        }
    }

    @Test
    void aClientThatGoesAwayCancelsItsRequestUpstream() throws Exception {
        CountDownLatch upstreamSawClose = new CountDownLatch(1);
        scripted = new ScriptedServer(s -> {
            if (HttpHead.read(s.in) == null) {
                return;
            }
            s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            s.chunk("{\"type\":\"ADDED\"}\n");
            if (s.in.read() < 0) {
                upstreamSawClose.countDown();
            }
        });
        try (FaultProxy proxy = FaultProxy.start(upstreamConfig(scripted.port()))) {
            try (RawClient c = new RawClient(proxy.port("gone"))) {
                c.send("GET /api/v1/configmaps?watch=true HTTP/1.1\r\nHost: h\r\n\r\n");
                c.head();
                c.chunk();
            }
            assertThat(upstreamSawClose.await(5, TimeUnit.SECONDS)).as("the upstream watch was closed too").isTrue();
            await().atMost(WAIT).until(() -> proxy.openWatches("gone") == 0 && !proxy.requests("gone").getFirst().inFlight());
            assertThat(proxy.requests("gone").getFirst().error()).isEqualTo("client closed the connection");
        }
    }

    @Test
    void anUpstreamThatDropsTheConnectionDropsTheClientsToo() throws Exception {
        AtomicBoolean probe = new AtomicBoolean(true);
        scripted = new ScriptedServer(s -> {
            if (probe.getAndSet(false)) {
                return; // FaultProxy.start's reachability check
            }
            HttpHead.read(s.in);
            s.socket.setSoLinger(true, 0);
        });
        try (FaultProxy proxy = FaultProxy.start(upstreamConfig(scripted.port())); RawClient c = new RawClient(proxy.port("x"))) {
            c.send("GET /api HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(c.endOfStream()).isTrue();
            assertThat(proxy.requests("x")).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(-1);
                assertThat(r.error()).startsWith("upstream: ");
            });
        }
    }

    private static void hold(CountDownLatch latch) throws IOException {
        try {
            if (!latch.await(5, TimeUnit.SECONDS)) {
                throw new IOException("the test never released the upstream");
            }
        } catch (InterruptedException e) {
            throw new IOException(e);
        }
    }

    /** A loopback server running one script per connection. */
    private static final class ScriptedServer implements AutoCloseable {
        interface Script {
            void run(Conn c) throws IOException;
        }

        record Conn(Socket socket, InputStream in, OutputStream out) {
            void write(String s) throws IOException {
                out.write(s.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }

            void chunk(String s) throws IOException {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                write(Integer.toHexString(b.length) + "\r\n" + s + "\r\n");
            }
        }

        private final ServerSocket server;

        ScriptedServer(Script script) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                script.run(new Conn(s, new BufferedInputStream(s.getInputStream()), s.getOutputStream()));
                            } catch (IOException ignored) {
                                // the proxy closed it
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** A client that writes raw HTTP/1.1 and reads responses piece by piece. */
    private static final class RawClient implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        RawClient(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(5_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }

        long connectionId(FaultProxy proxy) {
            return proxy.requests().getFirst().connection();
        }

        void send(String raw) throws IOException {
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        HttpHead head() throws IOException {
            HttpHead h = HttpHead.read(in);
            assertThat(h).as("a response").isNotNull();
            return h;
        }

        /** The body of a response with Content-Length. */
        String fixedBody(HttpHead head) throws IOException {
            return bytes((int) head.contentLength());
        }

        String bytes(int n) throws IOException {
            return new String(in.readNBytes(n), StandardCharsets.UTF_8);
        }

        /** One chunk's data; "" for the last chunk (trailers consumed). */
        String chunk() throws IOException {
            int size = Integer.parseInt(HttpHead.readLine(in, 1024).split(";")[0].strip(), 16);
            if (size == 0) {
                String line;
                while (!(line = HttpHead.readLine(in, 1024)).isEmpty()) {
                    assertThat(line).isNotNull();
                }
                return "";
            }
            String data = bytes(size);
            assertThat(HttpHead.readLine(in, 2)).isEmpty();
            return data;
        }

        String chunkedBody() throws IOException {
            StringBuilder s = new StringBuilder();
            String c;
            while (!(c = chunk()).isEmpty()) {
                s.append(c);
            }
            return s.toString();
        }

        /** One server frame as "opcode:payload". */
        String frame() throws IOException {
            int b0 = in.read();
            int b1 = in.read();
            int len = b1 & 0x7f;
            if (len == 126) {
                len = (in.read() << 8) | in.read();
            } else if (len == 127) {
                long l = 0;
                for (int i = 0; i < 8; i++) {
                    l = (l << 8) | in.read();
                }
                len = (int) l;
            }
            ByteArrayOutputStream payload = new ByteArrayOutputStream();
            payload.write(in.readNBytes(len));
            return (b0 & 0x0f) + ":" + payload.toString(StandardCharsets.ISO_8859_1);
        }

        /** True if the connection ends (EOF or reset) before any byte. */
        boolean endOfStream() {
            try {
                return in.read() < 0;
            } catch (IOException e) {
                return true;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
