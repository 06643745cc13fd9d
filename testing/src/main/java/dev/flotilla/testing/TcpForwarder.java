package dev.flotilla.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP pass-through on loopback in front of an API server, for cutting a client off without
 * touching the server: {@link #cutAll()} drops every open connection (watches included) and
 * {@link #refuse(boolean)} makes new connections fail until lifted. TLS passes through untouched,
 * so the client still verifies the real server's certificate (which names 127.0.0.1).
 *
 * <pre>{@code
 * try (var forwarder = TcpForwarder.to(URI.create(cluster.config().getMasterUrl()))) {
 *     var viaForwarder = new io.fabric8.kubernetes.client.ConfigBuilder(cluster.config()).withMasterUrl(forwarder.url()).build();
 *     forwarder.refuse(true); forwarder.cutAll(); // the client is now cut off
 * }
 * }</pre>
 */
public final class TcpForwarder implements AutoCloseable {

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean refusing;
    private final Thread acceptor;

    private TcpForwarder(InetSocketAddress upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofVirtual().name("tcp-forwarder-accept").start(this::acceptLoop);
    }

    /** Forwards to the host and port of {@code url} (https://127.0.0.1:6443, say). */
    public static TcpForwarder to(URI url) {
        int port = url.getPort() > 0 ? url.getPort() : ("https".equals(url.getScheme()) ? 443 : 80);
        try {
            return new TcpForwarder(new InetSocketAddress(url.getHost(), port));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a loopback port for the forwarder", e);
        }
    }

    /** The forwarder's address with the scheme of the upstream, for a client's master URL. */
    public String url() {
        return "https://127.0.0.1:" + server.getLocalPort();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** While true, new connections are closed at once. */
    public synchronized void refuse(boolean refuse) {
        this.refusing = refuse;
    }

    /**
     * Closes every open connection in both directions, including one accepted a moment ago whose
     * upstream connection is still being made (it is registered as soon as it is accepted).
     */
    public synchronized void cutAll() {
        for (Socket s : open) {
            closeQuietly(s);
        }
        open.clear();
    }

    public int openConnections() {
        return open.size() / 2;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            // Registered before the upstream connect, under the lock refuse and cutAll take: a cut can never miss
            // a connection that was being accepted at that moment.
            synchronized (this) {
                if (refusing) {
                    closeQuietly(client);
                    continue;
                }
                open.add(client);
            }
            Socket up = new Socket();
            try {
                up.connect(upstream, 5_000);
            } catch (IOException e) {
                closeQuietly(client);
                closeQuietly(up);
                open.remove(client);
                continue;
            }
            synchronized (this) {
                if (client.isClosed()) { // cut while the upstream connection was being made
                    closeQuietly(up);
                    continue;
                }
                open.add(up);
            }
            Thread.ofVirtual().start(() -> pump(client, up));
            Thread.ofVirtual().start(() -> pump(up, client));
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException ignored) {
            // one side closed or was cut
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            open.remove(from);
            open.remove(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // already closed
        }
        cutAll();
        acceptor.interrupt();
    }
}
