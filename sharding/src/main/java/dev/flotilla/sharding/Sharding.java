package dev.flotilla.sharding;

import dev.flotilla.core.manager.Manager;
import dev.flotilla.core.reconcile.Reconciler;
import dev.flotilla.sharding.audit.AuditTrail;
import dev.flotilla.sharding.audit.AuditedReconciler;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a {@link Manager} one replica of a sharded group: it joins with a membership Lease, takes
 * part in electing the coordinator, holds the shard Leases the coordinator gives it, narrows the
 * manager's informers to those shards and admits only their keys. Namespaced keys go to the
 * holder of their namespace's shard; cluster-scoped keys to the coordinator's replica.
 *
 * <pre>{@code
 * Manager manager = new Manager(client, ManagerOptions.defaults(), KeyGate.admitAll());
 * Sharding sharding = Sharding.install(manager, ShardingConfig.defaults(podName, "flotilla-system"));
 * manager.controller(ConfigMap.class).named("mirror").complete(reconciler);
 * manager.start();
 * sharding.start();   // joins; shards arrive as the coordinator assigns them
 * ...
 * sharding.stop();    // hands every shard over at once
 * manager.stop();
 * }</pre>
 */
public final class Sharding implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Sharding.class);
    private static final Duration WATCHDOG_PERIOD = Duration.ofMillis(50);

    private final ShardingConfig config;
    private final Manager manager;
    private final LeaseNaming naming;
    private final String holder;
    private final LeaseView view;
    private final Leases leases;
    private final ShardMetrics metrics;
    private final ShardScope scope;
    private final ShardOwnership ownership;
    private final Coordinator coordinator;
    private final Membership membership;
    private final AuditTrail trail;
    private final CompletableFuture<String> fatal = new CompletableFuture<>();
    private ScheduledExecutorService timers;
    private volatile boolean started;
    private volatile boolean stopped;
    private volatile boolean leaving;

    private Sharding(Manager manager, ShardingConfig config, AuditTrail trail) {
        this.manager = Objects.requireNonNull(manager, "manager");
        this.config = Objects.requireNonNull(config, "config");
        this.trail = Objects.requireNonNull(trail, "trail");
        KubernetesClient client = manager.client();
        this.naming = new LeaseNaming(config.group());
        this.holder = LeaseNaming.holder(config.identity(),
                HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()));
        this.leases = new Leases(client, config.leaseNamespace());
        this.view = new LeaseView(client, config.leaseNamespace(), naming, config.leaseDuration());
        this.metrics = new ShardMetrics(manager.registry(), config.identity(), naming.coordinatorLease());
        this.membership = new Membership(config, leases, holder);
        ShardOwnership[] own = new ShardOwnership[1];
        this.scope = new ShardScope(client, config.space(), metrics, config.identity(), () -> own[0].rescopeLater());
        Coordinator[] coord = new Coordinator[1];
        this.ownership = new ShardOwnership(config, view, leases, holder, manager.informers(), scope, manager::controllers,
                metrics, trail, () -> coord[0] != null && coord[0].isLeadingFresh());
        own[0] = ownership;
        this.coordinator = new Coordinator(client, config, view, leases, holder, metrics, this::leadershipChanged);
        coord[0] = coordinator;
    }

    /** Narrows {@code manager} to nothing until shards are held; call before the manager starts. */
    public static Sharding install(Manager manager, ShardingConfig config) {
        return install(manager, config, AuditTrail.none());
    }

    /** As {@link #install(Manager, ShardingConfig)}, recording reconciles of {@link #audited} reconcilers and shard transitions in {@code trail}. */
    public static Sharding install(Manager manager, ShardingConfig config, AuditTrail trail) {
        Sharding sharding = new Sharding(manager, config, trail);
        manager.informers().setScope(sharding.scope);
        manager.setKeyGate(sharding.ownership.gate());
        return sharding;
    }

    /** Wraps {@code reconciler} so that every reconcile is recorded in the audit trail. */
    public <T extends HasMetadata> Reconciler<T> audited(Reconciler<T> reconciler) {
        return new AuditedReconciler<>(reconciler, trail, config.identity(), config.space());
    }

    /**
     * Joins the group: watches its Leases, checks they were made for this shard count, takes the
     * membership Lease (refusing an identity a live replica holds), then starts renewing, electing
     * and taking the shards the coordinator assigns.
     *
     * @throws DuplicateIdentityException if a live replica already uses this identity
     * @throws ShardingSetupException     if the group's Leases disagree with this configuration
     */
    public synchronized void start() throws Exception {
        if (started) {
            throw new IllegalStateException("sharding already started");
        }
        started = true;
        view.start(Duration.ofSeconds(60));
        checkShardCount();
        for (var informer : manager.informers().all()) {
            if (dev.flotilla.core.cache.SharedInformers.isNamespaced(informer.key().type())) {
                scope.modeOf(informer.key().type());
            }
        }
        membership.join();
        timers = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "sharding-" + config.identity());
            t.setDaemon(true);
            return t;
        });
        timers.scheduleAtFixedRate(this::renewAll, config.retryPeriod().toMillis(), config.retryPeriod().toMillis(),
                TimeUnit.MILLISECONDS);
        timers.scheduleAtFixedRate(ownership::watchdog, WATCHDOG_PERIOD.toMillis(), WATCHDOG_PERIOD.toMillis(),
                TimeUnit.MILLISECONDS);
        ownership.start();
        coordinator.start();
        log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("holder", holder)
                .addKeyValue("shards", config.shards()).addKeyValue("leaseNamespace", config.leaseNamespace())
                .addKeyValue("leaseDuration", config.leaseDuration()).addKeyValue("renewDeadline", config.renewDeadline())
                .log("joined sharding group " + config.group());
    }

    private void checkShardCount() {
        for (LeaseView.Seen s : view.all()) {
            if (naming.shardOf(s.name()).isEmpty()) {
                continue;
            }
            String recorded = s.annotation(LeaseNaming.ANNOTATION_SHARDS);
            if (!recorded.isEmpty() && !recorded.equals(String.valueOf(config.shards()))) {
                throw new ShardingSetupException("the shard Leases of group '" + config.group() + "' in namespace "
                        + config.leaseNamespace() + " were made for " + recorded + " shards, but this replica is configured for "
                        + config.shards() + "; every replica of a group must use the same shard count (to change it, stop "
                        + "all replicas and delete the group's shard Leases)");
            }
        }
    }

    private void renewAll() {
        try {
            renewOnce();
        } catch (RuntimeException e) {
            log.atError().addKeyValue("error", e.toString()).log("lease renewal failed; retrying next period");
        }
    }

    private void renewOnce() {
        // Shards keep being renewed while they are handed over during stop(): a slow drain must not let them expire.
        if (leaving) {
            ownership.renewAll();
            return;
        }
        Thread member = Thread.ofVirtual().name("renew-member").start(() -> {
            if (membership.renew() == Membership.Renewal.TAKEN_BY_ANOTHER) {
                String why = "another replica took over the membership lease of identity '" + config.identity()
                        + "'; two replicas share one identity";
                log.atError().addKeyValue("replica", config.identity()).log(why + "; stopping all work at once");
                ownership.fenceAll(why);
                fatal.complete(why);
            }
        });
        ownership.renewAll();
        try {
            member.join(config.renewDeadline());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void leadershipChanged() {
        if (coordinator.isLeading()) {
            ownership.enqueueAll(key -> key.namespace().isEmpty());
        } else {
            for (var c : manager.controllers()) {
                c.interrupt(key -> key.namespace().isEmpty());
            }
        }
    }

    /**
     * Leaves gracefully: the coordinator (if this replica is it) re-plans without this replica,
     * the membership Lease is released, every shard is drained and released so that its new
     * owner takes it at once, and leadership is released last.
     */
    public synchronized void stop() {
        if (!started || stopped) {
            stopped = true;
            return;
        }
        leaving = true;
        long begin = System.nanoTime();
        coordinator.leave();
        membership.leave();
        ownership.releaseAll(config.drainTimeout().plus(config.renewDeadline()));
        stopped = true;
        coordinator.close();
        ownership.close();
        if (timers != null) {
            timers.shutdownNow();
        }
        view.close();
        scope.close();
        log.atInfo().addKeyValue("replica", config.identity())
                .addKeyValue("millis", Duration.ofNanos(System.nanoTime() - begin).toMillis()).log("left sharding group");
    }

    /** Stops without releasing anything, as a crash would (tests of expiry-based failover use it). */
    public synchronized void abandon() {
        stopped = true;
        ownership.fenceAll("abandoned");
        ownership.close();
        coordinator.closeWithoutRelease();
        if (timers != null) {
            timers.shutdownNow();
        }
        view.close();
        scope.close();
    }

    @Override
    public void close() {
        stop();
    }

    /** Shards whose keys this replica works on now. */
    public Set<Integer> activeShards() {
        return ownership.active();
    }

    public boolean isCoordinator() {
        return coordinator.isLeading();
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

    /** Completes, with the reason, if this replica had to stop all work (another replica took its identity). */
    public CompletableFuture<String> fatal() {
        return fatal;
    }
}
