package dev.flotilla.sharding;

import dev.flotilla.core.cache.WatchedNamespaces;
import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.manager.Extension;
import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.manager.WorkControl;
import dev.flotilla.core.rbac.ApiPermission;
import dev.flotilla.core.fence.Admission;
import dev.flotilla.core.fence.WriteFence;
import dev.flotilla.core.fence.WriteTarget;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.sharding.audit.AuditTrail;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Extension} that makes a {@link Manager} one replica of a sharded group: it joins with
 * a membership Lease, takes part in electing the coordinator, holds the shard Leases the
 * coordinator gives it, narrows the manager's informers to those shards and admits only their
 * keys. Namespaced keys go to the holder of their namespace's shard; cluster-scoped keys to the
 * coordinator's replica. The manager decides when it joins (once the caches synced), leaves (first
 * thing on stop: every shard handed over at once) or is abandoned (a failed join, or another
 * replica taking its identity: the manager then stops and reports why in {@link Manager#failure()}).
 *
 * <pre>{@code
 * Manager manager = new Manager(client, dev.flotilla.core.manager.ManagerOptions.defaults(),
 *         dev.flotilla.core.controller.KeyGate.admitAll());
 * Sharding sharding = Sharding.of(ShardingConfig.defaults(System.getenv("POD_NAME"), "flotilla-system"));
 * manager.install(sharding);   // before start: nothing is watched or admitted until shards are held
 * manager.controller(ConfigMap.class).named("mirror").complete(reconciler);
 * manager.start();             // joins; throws ExtensionStartException (cause: DuplicateIdentityException, ...)
 * manager.stop();              // leaves first: hands every shard over at once, then drains
 * }</pre>
 */
public final class Sharding implements Extension {

    private static final Logger log = LoggerFactory.getLogger(Sharding.class);
    /** The name the manager knows this extension by. */
    public static final String NAME = "sharding";
    /** The field manager of what sharding writes outside its Leases: the coordinator label on its replica's Pod. */
    public static final String FIELD_MANAGER = "flotilla-sharding";
    private static final Duration WATCH_SYNC_TIMEOUT = Duration.ofSeconds(60);
    /** How long abandoning waits for the shards to be fenced on the lane. */
    private static final Duration ABANDON_TIMEOUT = Duration.ofSeconds(1);

    private final ShardingConfig config;
    private final AuditTrail trail;
    private final java.util.Optional<PodReference> pod;
    private final WatchedNamespaces watched;
    private final String holder;
    private final MonotonicClock clock = MonotonicClock.system();
    /** The group's own client (its Lease watch and writes), when not the manager's: see {@link #withLeaseClient}. */
    private final java.util.Optional<KubernetesClient> leaseClient;
    private KubernetesClient client;
    private ShardMetrics metrics;
    /** The range of each shard this replica holds: one table for the key gate, write fence, informers and audit trail. */
    private final HeldRanges ranges = new HeldRanges();
    private ShardScope scope;
    private LeaseView view;
    private LeaseWatch watch;
    private Lane lane;
    private volatile ShardingNode node;

    private Sharding(ShardingConfig config, AuditTrail trail, java.util.Optional<PodReference> pod, WatchedNamespaces watched,
            java.util.Optional<KubernetesClient> leaseClient) {
        this.config = Objects.requireNonNull(config, "config");
        this.trail = Objects.requireNonNull(trail, "trail");
        this.pod = Objects.requireNonNull(pod, "pod");
        this.watched = Objects.requireNonNull(watched, "watched");
        this.leaseClient = Objects.requireNonNull(leaseClient, "leaseClient");
        this.holder = LeaseNaming.holder(config.identity(), HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()));
    }

    /**
     * Sharding's RBAC needs, for the startup check and the shipped Role: the group's Leases in the
     * lease namespace (a namespaced Role is enough), and namespaces cluster-wide, which the
     * per-namespace fallback (API servers without sharded watches) uses to find its shards' namespaces.
     */
    public static List<ApiPermission> requiredPermissions(String leaseNamespace) {
        return requiredPermissions(leaseNamespace, WatchedNamespaces.all());
    }

    /**
     * As {@link #requiredPermissions(String)} for sharding that works in {@code watched} only: with a fixed list of
     * namespaces ({@link #withNamespaces}) nothing is discovered, so only the Leases are needed.
     */
    public static List<ApiPermission> requiredPermissions(String leaseNamespace, WatchedNamespaces watched) {
        List<ApiPermission> out = new ArrayList<>();
        for (String verb : List.of("get", "list", "watch", "create", "update", "delete")) {
            out.add(new ApiPermission(verb, "coordination.k8s.io", "leases", leaseNamespace));
        }
        if (watched instanceof WatchedNamespaces.All) {
            out.add(ApiPermission.core("list", "namespaces"));
            out.add(ApiPermission.core("watch", "namespaces"));
        }
        return List.copyOf(out);
    }

    /** Sharding for one replica; hand it to {@link Manager#install} before the manager starts. */
    public static Sharding of(ShardingConfig config) {
        return of(config, AuditTrail.none());
    }

    /** As {@link #of(ShardingConfig)}, recording reconciles of {@link #audited} reconcilers and shard transitions in {@code trail}. */
    public static Sharding of(ShardingConfig config, AuditTrail trail) {
        return new Sharding(config, trail, java.util.Optional.empty(), WatchedNamespaces.all(), java.util.Optional.empty());
    }

    /**
     * The same sharding, restarting in place: this replica runs in {@code pod} (its identity is the
     * pod's name), records the Pod's UID and its container on its membership Lease, and after a
     * container restart takes its previous incarnation's membership, shards and leadership back at
     * once when the Pod proves that container terminated, instead of waiting one lease duration. While
     * it coordinates it also labels that Pod {@link LeaseNaming#LABEL_POD_ROLE}{@code =coordinator} (for
     * chaos experiments and operators; see {@code CoordinatorLabel}). It needs
     * {@link #restartProofPermissions}. Call before {@link Manager#install}.
     *
     * <pre>{@code
     * PodReference pod = new PodReference("flotilla-system", "flotilla-7d9f-abcde", "");
     * Sharding sharding = Sharding.of(ShardingConfig.defaults(pod.name(), pod.namespace())).withRestartProof(pod);
     * }</pre>
     */
    public Sharding withRestartProof(PodReference pod) {
        if (client != null) {
            throw new IllegalStateException("restart proof must be set before sharding is installed");
        }
        return new Sharding(config, trail, java.util.Optional.of(pod), watched, leaseClient);
    }

    /**
     * The same sharding over {@code namespaces} only (a Role-only install): the shards split those namespaces, each
     * watched on its own; no namespace is discovered (there is no cluster-wide watch of namespaces) and no type is
     * probed for server-side sharded watches, which would need a cluster-wide list. Call before {@link Manager#install}.
     *
     * <pre>{@code
     * Sharding teams = Sharding.of(ShardingConfig.defaults("replica-0", "flotilla-system"))
     *         .withNamespaces(WatchedNamespaces.only(List.of("team-a", "team-b")));
     * }</pre>
     */
    public Sharding withNamespaces(WatchedNamespaces namespaces) {
        if (client != null) {
            throw new IllegalStateException("the watched namespaces must be set before sharding is installed");
        }
        return new Sharding(config, trail, pod, namespaces, leaseClient);
    }

    /**
     * The same sharding, with the group's own traffic (its Lease watch, membership, coordinator and shard Lease
     * writes, the restart proof's Pod read and the coordinator label) on {@code leases} rather than the manager's
     * client. Use a client of its own, built through the same guard as the manager's ({@code flotilla run} builds
     * both with {@code GuardedClients.newClient(config, guard)}): fabric8 decodes every response on the HTTP client's
     * event loop, so on the manager's client a renewal waits behind whatever the controllers' lists and watch events
     * cost to decode, and under a small CPU share that can pass the renew deadline ({@code LeaseClientTest} holds
     * the manager client's loop for twice the deadline: shared, the shards are fenced; apart, nothing is). The caller
     * keeps and closes it, after the manager has stopped. Call before {@link Manager#install}.
     *
     * <pre>{@code
     * KubernetesClient leases; // given: a second client through the manager client's guard
     * Sharding sharding = Sharding.of(ShardingConfig.defaults("replica-0", "flotilla-system")).withLeaseClient(leases);
     * }</pre>
     */
    public Sharding withLeaseClient(KubernetesClient leases) {
        if (client != null) {
            throw new IllegalStateException("the lease client must be set before sharding is installed");
        }
        return new Sharding(config, trail, pod, watched, java.util.Optional.of(Objects.requireNonNull(leases, "leases")));
    }

    /**
     * What {@link #withRestartProof} needs: reading this replica's own Pod, and patching it to set and remove the
     * coordinator label ({@link LeaseNaming#LABEL_POD_ROLE}). Both in the Pod's namespace only: a Role.
     */
    public static List<ApiPermission> restartProofPermissions(String podNamespace) {
        return List.of(new ApiPermission("get", "", "pods", podNamespace), new ApiPermission("patch", "", "pods", podNamespace));
    }

    /**
     * The coordinator label's patch of this replica's own Pod: no shard's work (two replicas never write one Pod), and
     * it must pass whichever shard the Pod's namespace hashes to, before the join and after the leave too.
     */
    private boolean isOwnPodLabel(WriteTarget target) {
        return pod.isPresent() && "PATCH".equalsIgnoreCase(target.verb()) && "pods".equals(target.resource())
                && pod.get().namespace().equals(target.namespace()) && pod.get().name().equals(target.name());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public synchronized Seams install(ExtensionContext context) {
        if (client != null) {
            throw new IllegalStateException("sharding of replica '" + config.identity() + "' is already installed");
        }
        client = context.client();
        metrics = new ShardMetrics(context.registry(), config.identity(), new LeaseNaming(config.group()).coordinatorLease());
        metrics.shards(config.shards());
        scope = new ShardScope(client, ranges, metrics, config.identity(), watched);
        view = new LeaseView(clock, new LeaseNaming(config.group()), config.leaseDuration());
        return Seams.of(this::admits, scope);
    }

    /** Nothing is admitted before the replica has joined: it holds no shard yet. */
    private boolean admits(ObjectKey key) {
        ShardingNode n = node;
        return n != null && n.admits(key);
    }

    /**
     * This replica's write fence, for the request guard ({@code RequestGuard.fenceWrites}): every write
     * attempt is asked for right before it is sent. A namespaced write passes while this replica
     * holds the namespace's shard with time to spare before its renew deadline, a cluster-scoped one
     * while it is the fresh coordinator; nothing passes before the replica has joined or after it
     * left. A write in flight when its shard is fenced is cancelled, and a shard handed over is
     * released only after its writes are over.
     *
     * <pre>{@code
     * Sharding sharding = Sharding.of(ShardingConfig.defaults("replica-0", "flotilla-system"));
     * WriteFence fence = sharding.writeFence(); // for RequestGuard.fenceWrites, before the manager starts
     * }</pre>
     */
    public WriteFence writeFence() {
        return (target, cancel) -> {
            if (isOwnPodLabel(target)) {
                return Admission.admitted();
            }
            ShardingNode n = node;
            return n == null ? new Admission.Refused("replica '" + config.identity() + "' holds no shard: it has not joined")
                    : n.admitWrite(target, cancel);
        };
    }

    /**
     * Joins the group: watches its Leases, refuses a group run by another sharding protocol, takes the
     * membership Lease (refusing an identity a live replica holds), then starts renewing, electing
     * and taking the shards the coordinator assigns.
     *
     * @throws DuplicateIdentityException if a live replica already uses this identity
     * @throws ShardingSetupException     if the group's Leases disagree with this configuration
     */
    @Override
    public void start(WorkControl work) throws Exception {
        if (client == null) {
            throw new IllegalStateException("sharding must be installed on a manager before it starts");
        }
        KubernetesClient leases = leaseClient.orElse(client);
        watch = new LeaseWatch(leases, config.leaseNamespace(), config.group(), view, clock,
                config.retryPeriod().multipliedBy(2));
        watch.start(WATCH_SYNC_TIMEOUT);
        view.watching();
        scope.probeAll();
        lane = new ExecutorLane("sharding-" + config.identity(), clock);
        Lane l = lane;
        scope.onNamespacesChanged(() -> l.execute(() -> work.rescope().whenComplete((ok, error) -> {
            if (error != null) {
                log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", FailureText.of(error))
                        .log("informers did not follow a namespace change");
            }
        })));
        ShardingNode n = new ShardingNode(config, holder,
                new NodePorts(clock, Clock.systemUTC(), lane, new KubeLeaseStore(leases, config.leaseNamespace()), view),
                new ManagedShardWork(work, scope, ranges), metrics, trail, work::fail,
                pod.<RestartEvidence>map(p -> new PodRestartEvidence(leases, p)).orElseGet(RestartEvidence::none), ranges,
                pod.map(p -> new PodCoordinatorLabelWriter(leases, p)));
        node = n;
        watchCheck(l, n);
        // Waiting out a predecessor takes lease + retry; beyond twice that plus a minute something is wrong.
        Duration joinTimeout = config.leaseDuration().plus(config.retryPeriod()).multipliedBy(2).plus(Duration.ofMinutes(1));
        try {
            n.join().get(joinTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        } catch (TimeoutException e) {
            throw new ShardingSetupException("could not join sharding group '" + config.group() + "' in namespace "
                    + config.leaseNamespace() + " within " + joinTimeout, e);
        }
        log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("holder", holder)
                .addKeyValue("shards", config.shards()).addKeyValue("leaseNamespace", config.leaseNamespace())
                .addKeyValue("leaseDuration", config.leaseDuration()).addKeyValue("renewDeadline", config.renewDeadline())
                .log("joined sharding group " + config.group());
    }

    /** Every retry period, on the lane: a Lease watch down while renewals succeed is started afresh ({@link LeaseWatch#check}). */
    private void watchCheck(Lane l, ShardingNode n) {
        l.schedule(() -> {
            try {
                watch.check(n.memberRenewedSentNanos());
            } finally {
                watchCheck(l, n);
            }
        }, clock.nanoTime() + config.retryPeriod().toNanos());
    }

    /**
     * Leaves gracefully: the coordinator (if this replica is it) re-plans without this replica,
     * the membership Lease is released, every shard is drained and released so that its new
     * owner takes it at once, and leadership is released last. What is not released in time is
     * fenced and expires on its own.
     */
    @Override
    public void leave() {
        ShardingNode n = node;
        long begin = System.nanoTime();
        if (n != null) {
            // The re-plan, the membership release, the shards' drain and release, the cluster-scoped drain, the
            // coordinator's release and the wait for its Pod label's removal (at most a renew deadline), one after the other.
            Duration timeout = config.renewDeadline().multipliedBy(3)
                    .plus(config.drainTimeout().plus(ManagedShardWork.AFTER_INTERRUPT).multipliedBy(2));
            try {
                n.leave().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", FailureText.of(e))
                        .log("not every shard was released in time; the rest expire on their own");
                awaitAbandoned(n, "left the group without releasing in time");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                awaitAbandoned(n, "interrupted while leaving");
            }
        }
        close();
        log.atInfo().addKeyValue("replica", config.identity())
                .addKeyValue("millis", Duration.ofNanos(System.nanoTime() - begin).toMillis()).log("left sharding group");
    }

    /** Stops without releasing anything, as a crash would: every key is refused at once and the Leases expire for the others. */
    @Override
    public void abandon() {
        ShardingNode n = node;
        if (n != null) {
            awaitAbandoned(n, "abandoned");
        }
        close();
    }

    private void awaitAbandoned(ShardingNode n, String why) {
        try {
            n.abandon(why).get(ABANDON_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", FailureText.of(e))
                    .log("shards were not fenced in time; every key is refused already");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void close() {
        if (lane != null) {
            lane.close();
        }
        if (watch != null) {
            watch.close();
        }
        if (scope != null) {
            scope.close();
        }
    }

    /** Wraps {@code reconciler} so that every reconcile is recorded in the audit trail. */
    public <T extends HasMetadata> Reconciler<T> audited(Reconciler<T> reconciler) {
        return new AuditedReconciler<>(reconciler, trail, config.identity(), ranges);
    }

    /** Shards whose keys this replica works on now (empty before it joined and after it left). */
    public Set<Integer> activeShards() {
        ShardingNode n = node;
        return n == null ? Set.of() : n.activeShards();
    }

    /**
     * The hash range of each shard this replica works on now (its Lease's range when this replica
     * took it), by shard; empty before it joined and after it left.
     *
     * <pre>{@code
     * Sharding sharding = Sharding.of(ShardingConfig.defaults("replica-0", "flotilla-system"));
     * // ... installed on a manager and started
     * boolean mine = sharding.activeRanges().values().stream().anyMatch(r -> r.contains(ShardSpace.hash("shop")));
     * }</pre>
     */
    public Map<Integer, HashRange> activeRanges() {
        Map<Integer, HashRange> out = new java.util.TreeMap<>();
        for (int shard : activeShards()) {
            ranges.of(shard).ifPresent(r -> out.put(shard, r));
        }
        return out;
    }

    /** Whether this replica works on {@code namespace} now: an active shard's range holds its hash. */
    public boolean worksOn(String namespace) {
        int shard = ranges.slotOf(namespace);
        return shard >= 0 && activeShards().contains(shard);
    }

    /**
     * Whether this replica is the coordinator and the group is where it plans it to be: every shard
     * held by its planned owner, no range move pending, every member's object counts covering what
     * it holds. Only a change of members or of objects moves anything from here.
     */
    public boolean layoutSettled() {
        ShardingNode n = node;
        return n != null && n.layoutSettled();
    }

    public boolean isCoordinator() {
        ShardingNode n = node;
        return n != null && n.isCoordinator();
    }

    public String identity() {
        return config.identity();
    }

    public ShardingConfig config() {
        return config;
    }

    public ShardSpace space() {
        return config.space();
    }
}
