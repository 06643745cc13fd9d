package dev.flotilla.testing.fault;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.internal.SSLUtils;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * Opens connections to the real API server: TLS verified against the cluster's CA (fabric8's own
 * reading of the config's CA and client key material, so PEM files and inline data, RSA and EC keys
 * all work) with the admin client certificate, HTTP/1.1 only. A plain {@code http://} server (the
 * mock backend) is reached without TLS.
 */
final class Upstream {

    static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    static final int HANDSHAKE_TIMEOUT_MILLIS = 10_000;

    private final String host;
    private final int port;
    private final String basePath;
    private final String authority;
    private final SSLSocketFactory tls; // null for plain HTTP
    private final boolean verifyHostname;
    private final String tlsServerName;

    Upstream(Config config) {
        URI uri = URI.create(config.getMasterUrl());
        boolean https = "https".equalsIgnoreCase(uri.getScheme());
        if (!https && !"http".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("the API server URL must be http(s): " + uri);
        }
        this.host = uri.getHost();
        this.port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        this.authority = uri.getPort() > 0 ? hostForHeader(host) + ":" + port : hostForHeader(host);
        this.verifyHostname = !config.isDisableHostnameVerification();
        this.tlsServerName = config.getTlsServerName();
        if (https) {
            try {
                SSLContext context = SSLUtils.sslContext(config);
                this.tls = context.getSocketFactory();
            } catch (Exception e) {
                throw new IllegalStateException("cannot build TLS material from the cluster's config: " + e.getMessage(), e);
            }
        } else {
            this.tls = null;
        }
    }

    private static String hostForHeader(String h) {
        return h.contains(":") && !h.startsWith("[") ? "[" + h + "]" : h;
    }

    /** host:port for the Host header. */
    String authority() {
        return authority;
    }

    /** A path prefix of the server URL ("" usually), put in front of every request target. */
    String basePath() {
        return basePath;
    }

    String describe() {
        return (tls == null ? "http://" : "https://") + authority + basePath;
    }

    Connection open() throws IOException {
        Socket raw = new Socket();
        try {
            raw.setTcpNoDelay(true);
            raw.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MILLIS);
            Socket socket = raw;
            if (tls != null) {
                SSLSocket ssl = (SSLSocket) tls.createSocket(raw, tlsServerName != null ? tlsServerName : host, port, true);
                SSLParameters params = ssl.getSSLParameters();
                if (verifyHostname) {
                    params.setEndpointIdentificationAlgorithm("HTTPS");
                }
                if (tlsServerName != null) {
                    params.setServerNames(List.of(new SNIHostName(tlsServerName)));
                }
                params.setApplicationProtocols(new String[] {"http/1.1"});
                ssl.setSSLParameters(params);
                ssl.setSoTimeout(HANDSHAKE_TIMEOUT_MILLIS);
                ssl.startHandshake();
                ssl.setSoTimeout(0);
                socket = ssl;
            }
            return new Connection(socket, raw);
        } catch (IOException | RuntimeException e) {
            try {
                raw.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
            throw e;
        }
    }

    /** One connection to the API server, paired with one client connection. */
    static final class Connection {
        final Socket socket;
        private final Socket raw;
        final InputStream in;
        final OutputStream out;
        /** Beneath {@link #out}'s buffer: bandwidth limits of the exchange the connection carries. */
        final Throttle throttle;
        long lastUsedNanos = System.nanoTime();

        Connection(Socket socket, Socket raw) throws IOException {
            this.socket = socket;
            this.raw = raw;
            this.in = Side.UPSTREAM.wrap(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            this.throttle = new Throttle(socket.getOutputStream(), Throttle.TO_SERVER);
            this.out = Side.UPSTREAM.wrap(new BufferedOutputStream(throttle, 16 * 1024));
        }

        /**
         * Closes the TCP connection at once (no TLS close_notify): safe from any thread, and a thread
         * blocked reading it fails immediately.
         */
        void close() {
            try {
                raw.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }
}
