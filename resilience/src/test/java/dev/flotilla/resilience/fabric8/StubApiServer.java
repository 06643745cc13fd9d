package dev.flotilla.resilience.fabric8;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;

/**
 * A tiny API server on loopback (JDK HttpServer) for the guard's tests: it records every request with the time
 * it arrived and answers as the current {@link Responder} says (by default: a small ConfigMap for any GET).
 */
final class StubApiServer implements AutoCloseable {

    /** One request as it arrived. */
    record Received(String method, String path, String query, long nanos, String body) {
        boolean isWatch() {
            return query != null && query.contains("watch=true");
        }

        boolean isLease() {
            return path.contains("/leases");
        }
    }

    @FunctionalInterface
    interface Responder {
        void respond(HttpExchange exchange, Received request) throws IOException;
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private volatile Responder responder = StubApiServer::ok;

    private StubApiServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 100);
        server.setExecutor(executor);
        server.createContext("/", exchange -> {
            try (exchange) {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                Received r = new Received(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                        exchange.getRequestURI().getRawQuery(), System.nanoTime(), body);
                received.add(r);
                responder.respond(exchange, r);
            } catch (IOException | RuntimeException e) {
                // the client went away (cancelled watch, closed client): nothing to answer
            }
        });
        server.start();
    }

    static StubApiServer start() throws IOException {
        return new StubApiServer();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    String apiServer() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    void respond(Responder responder) {
        this.responder = responder;
    }

    List<Received> received() {
        return List.copyOf(received);
    }

    List<Received> received(Predicate<Received> filter) {
        return received.stream().filter(filter).toList();
    }

    int count() {
        return received.size();
    }

    void clear() {
        received.clear();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    /** A port on loopback where nothing listens (connection refused). */
    static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    // ---- Answers ----

    /** 200 with a ConfigMap (or a Lease for lease paths, a list for collection GETs), 201 for POST. */
    static void ok(HttpExchange exchange, Received request) throws IOException {
        int code = request.method().equals("POST") ? 201 : 200;
        json(exchange, code, objectFor(request));
    }

    static String objectFor(Received request) {
        String[] parts = request.path().split("/");
        String last = parts[parts.length - 1];
        if (request.isLease()) {
            return last.equals("leases")
                    ? "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"LeaseList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}"
                    : lease(last);
        }
        if (last.equals("configmaps")) {
            return "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"7\"},\"items\":[]}";
        }
        return configMap(last, "7");
    }

    static String configMap(String name, String resourceVersion) {
        return "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" + name
                + "\",\"namespace\":\"test\",\"resourceVersion\":\"" + resourceVersion + "\"},\"data\":{\"k\":\"v\"}}";
    }

    static String lease(String name) {
        return "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"" + name
                + "\",\"namespace\":\"test\",\"resourceVersion\":\"3\"},\"spec\":{\"holderIdentity\":\"a\"}}";
    }

    /** A Kubernetes Status answer with {@code code}, and optional extra headers as name, value pairs. */
    static void status(HttpExchange exchange, int code, String... headers) throws IOException {
        for (int i = 0; i + 1 < headers.length; i += 2) {
            exchange.getResponseHeaders().add(headers[i], headers[i + 1]);
        }
        json(exchange, code, "{\"apiVersion\":\"v1\",\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"stub says "
                + code + "\",\"reason\":\"Stub\",\"code\":" + code + "}");
    }

    static void json(HttpExchange exchange, int code, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Streams {@code events} watch events (ADDED ConfigMaps) on a chunked response, then holds it open. */
    static void watchStream(HttpExchange exchange, int events, long holdMillis) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        out.flush();
        for (int i = 0; i < events; i++) {
            String event = "{\"type\":\"ADDED\",\"object\":" + configMap("cm-" + i, Integer.toString(100 + i)) + "}\n";
            out.write(event.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
        try {
            Thread.sleep(holdMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        out.close();
    }
}
