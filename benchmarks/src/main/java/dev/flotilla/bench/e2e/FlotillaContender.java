package dev.flotilla.bench.e2e;

import dev.flotilla.bench.plain.PlainCeiling;
import dev.flotilla.bench.protocol.ContenderArgs;
import dev.flotilla.bench.protocol.ContenderSession;
import dev.flotilla.bench.protocol.EventLatency;
import dev.flotilla.core.cache.SharedInformer;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.events.EventRecorder;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.ManagerOptions;
import dev.flotilla.core.metrics.MetricNames;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.examples.mirror.ConfigMapMirror;
import dev.flotilla.resilience.guard.GuardConfig;
import dev.flotilla.resilience.guard.RequestGuard;
import dev.flotilla.resilience.fabric8.GuardedClients;
import dev.flotilla.sharding.Sharding;
import dev.flotilla.sharding.ShardingConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.time.Clock;
import java.util.Map;

/**
 * The Flotilla contender: {@code configmap-mirror} as {@code flotilla run} wires it (guarded client,
 * manager with managedFields stripped, the built-in controller), unsharded, or as one replica of a
 * sharding group when {@link ContenderArgs#IDENTITY} is given. {@code flotilla run} also records an
 * Event per mirror written; the contender does so only with {@link ContenderArgs#EVENTS}, a row of
 * its own, because neither the Java Operator SDK's contender nor the ceiling records Events. The guard's rate limiter is opened
 * to {@value #QPS} requests/s because neither the Java Operator SDK nor plain fabric8 limits the
 * request rate (Flotilla's default, {@value GuardConfig#DEFAULT_QPS}/s, would be the bottleneck);
 * its circuit breaker and retry stay as configured by default.
 */
public final class FlotillaContender {

    /** Report fields of a sharded replica: shards it works on now, and the group's shard count. */
    static final String ACTIVE_SHARDS = "activeShards";
    static final String SHARDS = "shards";
    /** Report field of a sharded replica: 1 while it coordinates a group whose layout is settled (no move pending), else 0. */
    static final String LAYOUT_SETTLED = "layoutSettled";
    static final int QPS = 100_000;
    static final int BURST = 1_000_000;

    /** Contender argument: the sharded replica's lease duration, renew deadline and retry period, seconds ("15,10,2"). */
    static final String TIMINGS = "shardedTimings";

    private FlotillaContender() {
    }

    /** {@code config} with the timings of {@link #TIMINGS}, when given. */
    static ShardingConfig timed(ShardingConfig config, ContenderArgs args) {
        if (!args.has(TIMINGS)) {
            return config;
        }
        String[] t = args.value(TIMINGS).split(",");
        return config.withTimings(java.time.Duration.ofSeconds(Long.parseLong(t[0].trim())),
                java.time.Duration.ofSeconds(Long.parseLong(t[1].trim())), java.time.Duration.ofSeconds(Long.parseLong(t[2].trim())));
    }

    public static void main(String[] argv) throws Exception {
        ContenderArgs args = ContenderArgs.parse(argv);
        Config config = Config.fromKubeconfig(Files.readString(args.path(ContenderArgs.KUBECONFIG)));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        GuardConfig guard = GuardConfig.builder().qps(QPS).burst(BURST).leaseQps(QPS).leaseBurst(BURST).build();
        RequestGuard requestGuard = RequestGuard.create(guard, registry);
        // fabric8's JDK client, as flotilla run (the only client on its class path); here Vert.x 5 is on it too, for the
        // row that measures it (ContenderArgs.HTTP_CLIENT=vertx).
        // A sharded replica also counts its requests by kind and answer (RequestCensus), for the driver's per-round
        // breakdown; the unsharded rows, compared with other controllers, carry no apparatus of their own.
        RequestCensus census = new RequestCensus();
        HttpClient.Factory http = args.has(ContenderArgs.IDENTITY) ? census.counting(PlainCeiling.chosen(args, "jdk"))
                : PlainCeiling.chosen(args, "jdk");
        KubernetesClient client = GuardedClients.newClient(config, requestGuard, http);
        // As flotilla run: the group's Leases on a client of their own, through the same guard (built before the
        // baseline, so that its Vert.x instance is not counted as cache).
        KubernetesClient leaseClient = args.has(ContenderArgs.IDENTITY)
                ? GuardedClients.newClient(config, requestGuard, http) : null; // its own HTTP client from the same factory
        client.namespaces().withName("default").get(); // load the client's classes before the baseline
        ContenderSession session = new ContenderSession();
        session.baseline();

        Manager manager = new Manager(client, ManagerOptions.defaults().withHealthPort(-1), KeyGate.admitAll(), registry);
        Sharding sharding = leaseClient != null
                ? Sharding.of(timed(ShardingConfig.defaults(args.value(ContenderArgs.IDENTITY),
                        args.value(ContenderArgs.LEASE_NAMESPACE)).withGroup(args.value(ContenderArgs.GROUP)), args))
                        .withLeaseClient(leaseClient)
                : null;
        if (sharding != null) {
            manager.install(sharding);
            requestGuard.fenceWrites(sharding.writeFence()); // as flotilla run does
        }
        // As flotilla run records them: one Event per mirror created or updated, on the source.
        EventRecorder events = args.has(ContenderArgs.EVENTS) && Boolean.parseBoolean(args.value(ContenderArgs.EVENTS))
                ? new EventRecorder(client, ConfigMapMirror.COMPONENT, args.has(ContenderArgs.IDENTITY)
                        ? args.value(ContenderArgs.IDENTITY) : "bench", Clock.systemUTC())
                : null;
        ConfigMapMirror.register(manager, args.intValue(ContenderArgs.WORKERS), events, r -> measured(r, session));
        manager.start(); // joins the group when sharded; a refused join stops the manager and ends this process

        session.ready();
        session.watching();
        session.serve(new ContenderSession.Probe() {
            @Override
            public long requests() {
                return (long) registry.find(MetricNames.REST_CLIENT_REQUESTS_TOTAL).counters().stream()
                        .mapToDouble(Counter::count).sum();
            }

            @Override
            public long cachedObjects() {
                return manager.informers().all().stream().mapToLong(SharedInformer::size).sum();
            }

            @Override
            public Map<String, String> extra() {
                if (sharding == null) {
                    return Map.of();
                }
                Map<String, String> extra = new java.util.LinkedHashMap<>(census.fields());
                extra.put(ACTIVE_SHARDS, Integer.toString(sharding.activeShards().size()));
                extra.put(SHARDS, Integer.toString(sharding.config().shards()));
                extra.put(LAYOUT_SETTLED, sharding.layoutSettled() ? "1" : "0");
                return extra;
            }
        }, () -> {
            manager.stop(); // leaves the group first when sharded
            client.close();
            if (leaseClient != null) {
                leaseClient.close();
            }
        });
        System.exit(0);
    }

    /** The reconciler, timing each stamped source from the driver's update to the start and the end of its reconcile. */
    static Reconciler<ConfigMap> measured(Reconciler<ConfigMap> mirror, ContenderSession session) {
        return request -> {
            String key = request.key().namespace() + "/" + request.key().name();
            String stamp = request.object().map(cm -> EventLatency.stamp(cm.getMetadata().getAnnotations())).orElse(null);
            session.started().observe(key, stamp);
            try {
                return mirror.reconcile(request);
            } finally {
                session.finished().observe(key, stamp);
            }
        };
    }
}
