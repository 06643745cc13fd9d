package dev.flotilla.testing.fault;

import dev.flotilla.testing.TestCluster;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fault-injecting HTTP/1.1 proxy in front of a real API server, for chaos and resilience tests.
 *
 * <p>Clients speak plain HTTP to 127.0.0.1; the proxy speaks TLS to the API server, verifying it
 * against the cluster's CA and authenticating with the cluster's admin client certificate, so a
 * client needs no credentials. Each <em>identity</em> (one controller replica, say) gets its own
 * listening port, created on first use, so that faults can target one client and spare the others.
 * Everything streams: watches (HTTP chunked and WebSocket), large lists, request bodies. Headers,
 * including {@code Impersonate-*}, pass through unchanged.
 *
 * <pre>{@code
 * try (FaultProxy proxy = FaultProxy.start(cluster);
 *      KubernetesClient a = new KubernetesClientBuilder().withConfig(proxy.clientConfig("replica-a")).build()) {
 *     ActiveRule throttle = proxy.add(FaultRule.of(Fault.tooManyRequests("2")).forIdentity("replica-a").times(1));
 *     a.configMaps().inNamespace(ns.name()).list();         // 429, then fabric8 retries after 2 s
 *     proxy.cutWatches("replica-a");                   // every open watch of replica-a ends now
 *     proxy.injectGone("replica-a");                   // ... or gets a 410 ERROR event (informers relist)
 *     proxy.cutWatchesAfterNextEvent("replica-a");     // ... or ends right behind its next event
 *     List<RequestRecord> seen = proxy.log().forwarded("replica-a");
 * }
 * }</pre>
 *
 * Faults are {@link FaultRule}s ({@link Fault} plus whom and how often), added and removed at run
 * time; see {@link Fault} for how they combine. The {@link #log() request log} records every
 * request with monotonic and wall-clock times.
 */
public final class FaultProxy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FaultProxy.class);

    private final Config upstreamConfig;
    private final Upstream upstream;
    private final RequestLog requestLog;
    private final CopyOnWriteArrayList<ActiveRule> rules = new CopyOnWriteArrayList<>();
    private final Set<WatchStream> watches = ConcurrentHashMap.newKeySet();
    private final Map<String, Listener> listeners = new ConcurrentHashMap<>();
    private final Map<String, Impersonation> impersonations = new ConcurrentHashMap<>();
    private final AtomicLong connectionIds = new AtomicLong();
    private volatile boolean closed;

    private FaultProxy(Config upstreamConfig, int logCapacity) {
        this.upstreamConfig = upstreamConfig;
        this.upstream = new Upstream(upstreamConfig);
        this.requestLog = new RequestLog(logCapacity);
    }

    /** A proxy in front of the cluster's API server (admin credentials from its config). */
    public static FaultProxy start(TestCluster cluster) {
        return start(cluster.config());
    }

    /** A proxy in front of the server {@code upstream} points at, with its credentials. */
    public static FaultProxy start(Config upstream) {
        return start(upstream, RequestLog.DEFAULT_CAPACITY);
    }

    /**
     * As {@link #start(Config)}, keeping at most {@code logCapacity} request records. Fails at
     * once, with the reason, when the server cannot be reached or its TLS material is wrong.
     */
    public static FaultProxy start(Config upstream, int logCapacity) {
        Objects.requireNonNull(upstream, "upstream");
        FaultProxy proxy = new FaultProxy(upstream, logCapacity);
        try {
            proxy.upstream.open().close();
        } catch (IOException e) {
            throw new UncheckedIOException("fault proxy: cannot connect to " + proxy.upstream.describe() + ": "
                    + e.getMessage(), e);
        }
        log.atInfo().addKeyValue("upstream", proxy.upstream.describe()).log("fault proxy started");
        return proxy;
    }

    // ------------------------------------------------------------------ identities

    /**
     * A client configuration for this identity: the upstream config (namespace, timeouts,
     * retries...) with the master URL pointing at the identity's port and no credentials.
     */
    public Config clientConfig(String identity) {
        return new ConfigBuilder(upstreamConfig)
                .withMasterUrl(url(identity))
                .withCaCertFile(null).withCaCertData(null)
                .withClientCertFile(null).withClientCertData(null)
                .withClientKeyFile(null).withClientKeyData(null).withClientKeyPassphrase(null)
                .withKeyStoreFile(null).withKeyStorePassphrase(null)
                .withTrustStoreFile(null).withTrustStorePassphrase(null)
                .withOauthToken(null).withOauthTokenProvider(null).withAutoOAuthToken(null)
                .withUsername(null).withPassword(null).withAuthProvider(null)
                .withHttpProxy(null).withHttpsProxy(null).withTlsServerName(null)
                .build();
    }

    /**
     * Who an identity's requests reach the API server as: the proxy authenticates with the admin's
     * certificate and adds {@code Impersonate-User} and {@code Impersonate-Group} headers, so the
     * server's audit log and authorizer see {@code user}, not the admin.
     */
    public record Impersonation(String user, List<String> groups) {
        public Impersonation {
            Objects.requireNonNull(user, "user");
            groups = List.copyOf(groups);
            if (user.isBlank()) {
                throw new IllegalArgumentException("user must not be blank");
            }
        }
    }

    /**
     * From now on every request of {@code identity} reaches the API server as {@code as} (replacing any
     * {@code Impersonate-*} header the client sent), so that each replica behind the proxy keeps its
     * own identity in the server's audit log and RBAC decisions.
     *
     * <pre>{@code
     * proxy.impersonate("replica-0", new FaultProxy.Impersonation("flotilla:replica-0", List.of("system:masters")));
     * }</pre>
     */
    public void impersonate(String identity, Impersonation as) {
        impersonations.put(Objects.requireNonNull(identity, "identity"), Objects.requireNonNull(as, "as"));
    }

    /** Whom {@code identity}'s requests act as; null for the admin. */
    Impersonation impersonationOf(String identity) {
        return impersonations.get(identity);
    }

    /** {@code http://127.0.0.1:<port>} for this identity; the port is opened on first use. */
    public String url(String identity) {
        return "http://127.0.0.1:" + port(identity);
    }

    public int port(String identity) {
        return listener(identity).server.getLocalPort();
    }

    /** The identities that have a port. */
    public Set<String> identities() {
        return new TreeSet<>(listeners.keySet());
    }

    private Listener listener(String identity) {
        if (identity == null || identity.isBlank()) {
            throw new IllegalArgumentException("an identity must be a non-blank name");
        }
        if (closed) {
            throw new IllegalStateException("the fault proxy is closed");
        }
        return listeners.computeIfAbsent(identity, id -> {
            try {
                return new Listener(id);
            } catch (IOException e) {
                throw new UncheckedIOException("fault proxy: cannot open a loopback port for " + id, e);
            }
        });
    }

    // ------------------------------------------------------------------ rules

    /** Installs a fault for every identity and every request, until removed. */
    public ActiveRule add(Fault fault) {
        return add(FaultRule.of(fault));
    }

    /** Installs a rule; it applies after the rules added before it. */
    public ActiveRule add(FaultRule rule) {
        Objects.requireNonNull(rule, "rule");
        if (closed) {
            throw new IllegalStateException("the fault proxy is closed");
        }
        ActiveRule active = new ActiveRule(rule, rules::remove);
        rules.add(active);
        if (rule.fault() instanceof Fault.CutWatchesEvery every) {
            Thread.ofVirtual().name("fault-proxy-watch-cutter").start(() -> cutPeriodically(active, every));
        }
        log.atDebug().addKeyValue("rule", rule).log("fault rule added");
        return active;
    }

    /** The installed rules (not yet removed), in order; some may be used up or expired. */
    public List<ActiveRule> rules() {
        return List.copyOf(rules);
    }

    /** Removes every rule, releasing black-holed connections. */
    public void clearRules() {
        for (ActiveRule r : List.copyOf(rules)) {
            r.remove();
        }
    }

    List<ActiveRule> ruleList() {
        return rules;
    }

    private void cutPeriodically(ActiveRule rule, Fault.CutWatchesEvery every) {
        try {
            while (!closed && !rule.awaitRelease(every.period().toNanos())) {
                if (!rule.isActive()) {
                    return;
                }
                if (!rule.tryApply()) {
                    continue;
                }
                int n = 0;
                for (WatchStream s : watches) {
                    if (rule.rule().matches(s.identity, s.method, s.path, true)) {
                        if (every.injectGone() ? s.injectGone() : s.cut()) {
                            n++;
                        }
                    }
                }
                log.debug("fault proxy: periodic {} ended {} watch streams", every.describe(), n);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ immediate actions on open streams

    /** Cuts every open watch stream of every identity now; returns how many. */
    public int cutWatches() {
        return endWatches(null, WatchStream::cut);
    }

    /** Cuts every open watch stream of this identity now (the connection closes mid-stream); returns how many. */
    public int cutWatches(String identity) {
        return endWatches(Objects.requireNonNull(identity, "identity"), WatchStream::cut);
    }

    /**
     * Closes the connection of every open watch stream of this identity right after the stream's next whole event
     * (the event and the end of the connection reach the client together, as when a server dies just after
     * sending); returns how many streams were marked. A stream that gets no event stays open.
     */
    public int cutWatchesAfterNextEvent(String identity) {
        return endWatches(Objects.requireNonNull(identity, "identity"), WatchStream::cutAfterNextEvent);
    }

    /** Writes a 410 Gone ERROR event into every open watch stream of every identity, then ends them. */
    public int injectGone() {
        return endWatches(null, WatchStream::injectGone);
    }

    /**
     * Writes {@code {"type":"ERROR","object":{"kind":"Status",...,"reason":"Expired","code":410}}}
     * into every open watch stream of this identity at the next event boundary, then ends the stream
     * (an HTTP watch ends cleanly and its connection stays usable; a WebSocket gets a close frame).
     * Returns how many streams were affected.
     */
    public int injectGone(String identity) {
        return endWatches(Objects.requireNonNull(identity, "identity"), WatchStream::injectGone);
    }

    /** Applies {@code ending} to every open watch stream of {@code identity} (null: of every identity); how many took it. */
    private int endWatches(String identity, Predicate<WatchStream> ending) {
        int n = 0;
        for (WatchStream s : List.copyOf(watches)) {
            if (identity == null || identity.equals(s.identity)) {
                if (ending.test(s)) {
                    n++;
                }
            }
        }
        return n;
    }

    /** How many watch streams of this identity are open now (not yet ended by the proxy, nor by either side). */
    public int openWatches(String identity) {
        return (int) watches.stream().filter(s -> s.identity.equals(identity) && s.ended() == null).count();
    }

    /** How many client connections of this identity are open now. */
    public int openConnections(String identity) {
        Listener l = listeners.get(identity);
        return l == null ? 0 : l.connections.size();
    }

    /** Closes every open client connection of this identity now (watches included); returns how many. */
    public int cutConnections(String identity) {
        Listener l = listeners.get(Objects.requireNonNull(identity, "identity"));
        if (l == null) {
            return 0;
        }
        int n = 0;
        for (ProxyConnection c : List.copyOf(l.connections)) {
            c.abort();
            n++;
        }
        return n;
    }

    void register(WatchStream stream) {
        watches.add(stream);
    }

    void unregister(WatchStream stream) {
        watches.remove(stream);
    }

    // ------------------------------------------------------------------ log

    public RequestLog log() {
        return requestLog;
    }

    /** Every record, oldest first. */
    public List<RequestRecord> requests() {
        return requestLog.all();
    }

    /** The records of one identity, oldest first. */
    public List<RequestRecord> requests(String identity) {
        return requestLog.forIdentity(identity);
    }

    Upstream upstream() {
        return upstream;
    }

    /** The API server the proxy forwards to. */
    public String upstreamUrl() {
        return upstream.describe();
    }

    /** Stops listening, releases every rule and closes every connection. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Listener l : listeners.values()) {
            l.close();
        }
        clearRules();
        watches.clear();
        log.atInfo().addKeyValue("requests", requestLog.size()).log("fault proxy closed");
    }

    /** One identity's port. */
    private final class Listener {
        final String identity;
        final ServerSocket server;
        final Set<ProxyConnection> connections = ConcurrentHashMap.newKeySet();

        Listener(String identity) throws IOException {
            this.identity = identity;
            this.server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 512);
            Thread.ofVirtual().name("fault-proxy-" + identity + "-accept").start(this::acceptLoop);
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                Socket socket;
                try {
                    socket = server.accept();
                } catch (IOException e) {
                    return; // closed
                }
                long id = connectionIds.incrementAndGet();
                if (refuse(socket, id)) {
                    continue;
                }
                try {
                    socket.setTcpNoDelay(true);
                    ProxyConnection[] self = new ProxyConnection[1];
                    self[0] = new ProxyConnection(FaultProxy.this, identity, id, socket, () -> connections.remove(self[0]));
                    connections.add(self[0]);
                    if (closed) {
                        self[0].close();
                        return;
                    }
                    self[0].start();
                } catch (IOException e) {
                    closeQuietly(socket);
                }
            }
        }

        private boolean refuse(Socket socket, long id) {
            for (ActiveRule rule : rules) {
                if (rule.rule().fault() instanceof Fault.RefuseConnections f && rule.rule().matchesIdentity(identity)
                        && rule.tryApply()) {
                    RequestLog.Entry entry = requestLog.begin(identity, id, "-", "-", false);
                    entry.fault(f.describe());
                    try {
                        socket.setSoLinger(true, 0);
                    } catch (IOException ignored) {
                        // closing anyway
                    }
                    closeQuietly(socket);
                    entry.finish();
                    return true;
                }
            }
            return false;
        }

        void close() {
            closeQuietly(server);
            for (ProxyConnection c : List.copyOf(connections)) {
                c.close();
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort
        }
    }
}
