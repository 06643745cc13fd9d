package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElector;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Elected with fabric8's leader election on the group's coordinator Lease; while leading it
 * publishes, on each shard Lease, the member that should hold it ({@link ShardAssigner}). It keeps
 * nothing the Leases do not hold: live members are the fresh membership Leases, current owners are
 * the published desired owners (or, failing that, the holders), so a newly elected coordinator
 * computes the same plan and moves nothing that need not move.
 */
final class Coordinator implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Coordinator.class);

    private final KubernetesClient client;
    private final ShardingConfig config;
    private final LeaseView view;
    private final Leases leases;
    private final LeaseNaming naming;
    private final String holder;
    private final ShardMetrics metrics;
    private final Reactor reactor;
    private final Runnable onLeadershipChange;
    private volatile boolean leading;
    private volatile boolean closed;
    private volatile boolean leaving;
    private volatile LeaderElector elector;
    private volatile CompletableFuture<?> election;
    private volatile long electionStartedNanos;
    /** When this replica last saw its own renewal of the coordinator Lease (monotonic). */
    private volatile long ownRenewalSeenNanos;
    private final Set<String> warnedStrangers = new HashSet<>();

    Coordinator(KubernetesClient client, ShardingConfig config, LeaseView view, Leases leases, String holder,
            ShardMetrics metrics, Runnable onLeadershipChange) {
        this.client = client;
        this.config = config;
        this.view = view;
        this.leases = leases;
        this.naming = new LeaseNaming(config.group());
        this.holder = holder;
        this.metrics = metrics;
        this.onLeadershipChange = onLeadershipChange;
        this.reactor = new Reactor("coordinator-" + config.identity(), this::pass, config.retryPeriod());
    }

    void start() {
        view.onChange(() -> view.get(naming.coordinatorLease()).filter(c -> c.holder().equals(holder))
                .ifPresent(c -> ownRenewalSeenNanos = c.changedNanos()));
        view.onChange(reactor::poke);
        reactor.execute(this::startElection);
        reactor.poke();
    }

    boolean isLeading() {
        return leading;
    }

    /**
     * Leading, and seen renewing within the renew deadline, on this replica's monotonic clock:
     * what admits cluster-scoped keys. fabric8 judges its own deadline on the wall clock and only
     * when its thread runs, so a resumed process would otherwise work a moment on stale leadership.
     */
    boolean isLeadingFresh() {
        return leading && System.nanoTime() - ownRenewalSeenNanos < config.renewDeadline().toNanos();
    }

    void poke() {
        reactor.poke();
    }

    private void startElection() {
        if (closed) {
            return;
        }
        var lock = new LeaseLock(new ObjectMetaBuilder().withName(naming.coordinatorLease())
                .withNamespace(config.leaseNamespace())
                .addToLabels(LeaseNaming.LABEL_GROUP, config.group())
                .addToLabels(LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_COORDINATOR).build(), holder);
        var electionConfig = new LeaderElectionConfigBuilder().withName(naming.coordinatorLease()).withLock(lock)
                .withLeaseDuration(config.leaseDuration()).withRenewDeadline(config.renewDeadline())
                .withRetryPeriod(config.retryPeriod()).withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(this::startedLeading, this::stoppedLeading, leader -> { }))
                .build();
        elector = client.leaderElector().withConfig(electionConfig).build();
        electionStartedNanos = System.nanoTime();
        election = elector.start();
    }

    private void startedLeading() {
        ownRenewalSeenNanos = System.nanoTime(); // fabric8 has just written the Lease successfully
        leading = true;
        metrics.leading(true);
        log.atInfo().addKeyValue("replica", config.identity()).addKeyValue("lease", naming.coordinatorLease())
                .log("became coordinator");
        onLeadershipChange.run();
        reactor.poke();
    }

    private void stoppedLeading() {
        boolean was = leading;
        leading = false;
        metrics.leading(false);
        if (was && !closed) {
            log.atWarn().addKeyValue("replica", config.identity()).log("lost coordinator leadership");
        }
        onLeadershipChange.run();
        if (!closed) {
            reactor.poke();
        }
    }

    /** One pass: while not leading, retry the election the moment the coordinator Lease expires; while leading, publish the plan. */
    private OptionalLong pass() {
        if (closed) {
            return OptionalLong.empty();
        }
        long next = Long.MAX_VALUE;
        Map<String, LeaseView.Seen> members = new HashMap<>();
        for (LeaseView.Seen s : view.all()) {
            Optional<String> member = naming.memberOf(s.name());
            if (member.isPresent() && view.isHeld(s)) {
                members.put(member.get(), s);
                next = Math.min(next, view.expiresAtNanos(s));
            }
        }
        metrics.members(members.size());
        view.prune();
        if (!leading) {
            CompletableFuture<?> running = election;
            if ((running == null || running.isDone())
                    && System.nanoTime() >= electionStartedNanos + config.retryPeriod().toNanos() / 2) {
                // fabric8's elector is single-use: once it gave up (renewal failed past its deadline) nothing
                // campaigns any more unless a new one is started.
                restartElection();
            }
            // fabric8 retries an election every 1.2-2.2 retry periods; a candidate that sees the
            // Lease expire or freed restarts its elector, whose first attempt is immediate.
            Optional<LeaseView.Seen> coordinator = view.get(naming.coordinatorLease());
            if (coordinator.isPresent() && !coordinator.get().holder().equals(holder)) {
                LeaseView.Seen c = coordinator.get();
                long earliestRestart = electionStartedNanos + config.retryPeriod().toNanos() / 2;
                if (!view.isHeld(c) && System.nanoTime() >= earliestRestart) {
                    restartElection();
                } else if (!view.isHeld(c)) {
                    next = Math.min(next, earliestRestart);
                } else {
                    next = Math.min(next, view.expiresAtNanos(c));
                }
            }
            return next == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(next);
        }
        Set<String> live = new TreeSet<>(members.keySet());
        if (leaving) {
            live.remove(config.identity());
        }
        if (live.isEmpty() && !leaving) {
            // Not even this replica looks alive: its own view has stalled. Publishing "nobody" would make
            // every replica drop every shard; wait for the view instead.
            return OptionalLong.of(System.nanoTime() + config.retryPeriod().toNanos());
        }
        next = Math.min(next, publish(live));
        return next == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(next);
    }

    private void restartElection() {
        CompletableFuture<?> running = election;
        if (running != null) {
            running.cancel(true);
        }
        startElection();
    }

    /** Publishes the plan; returns when it next needs to look (a deleted shard Lease it may recreate). */
    private long publish(Set<String> live) {
        long next = Long.MAX_VALUE;
        int shards = config.shards();
        Map<Integer, String> current = new HashMap<>();
        Map<Integer, LeaseView.Seen> shardLeases = new HashMap<>();
        for (int shard = 0; shard < shards; shard++) {
            String name = naming.shardLease(shard);
            Optional<LeaseView.Seen> deleted = view.get(name).filter(LeaseView.Seen::deleted);
            if (deleted.isPresent() && view.isHeld(deleted.get())) {
                // Deleted under a holder that may still be working on it: recreate (free) only once that
                // holder's lease would have expired, or the shard could have two owners.
                next = Math.min(next, view.expiresAtNanos(deleted.get()));
                continue;
            }
            Optional<LeaseView.Seen> seen = view.get(name).filter(s -> !s.deleted());
            if (seen.isEmpty()) {
                leases.create(Leases.newLease(name, Map.of(LeaseNaming.LABEL_GROUP, config.group(),
                        LeaseNaming.LABEL_ROLE, LeaseNaming.ROLE_SHARD, LeaseNaming.LABEL_SHARD, String.valueOf(shard)),
                        Map.of(LeaseNaming.ANNOTATION_SHARDS, String.valueOf(shards))));
                continue; // published once the watch shows it
            }
            LeaseView.Seen s = seen.get();
            shardLeases.put(shard, s);
            String desired = s.annotation(LeaseNaming.ANNOTATION_DESIRED_OWNER);
            String holderIdentity = s.holder().isEmpty() ? "" : LeaseNaming.identityOf(s.holder());
            if (live.contains(desired)) {
                current.put(shard, desired);
            } else if (live.contains(holderIdentity) && view.isHeld(s)) {
                current.put(shard, holderIdentity);
            }
            if (!leaving && !holderIdentity.isEmpty() && view.isHeld(s) && !live.contains(holderIdentity)
                    && warnedStrangers.add(shard + "/" + s.holder())) {
                log.atWarn().addKeyValue("shard", shard).addKeyValue("holder", s.holder())
                        .log("shard lease is held by someone who is not a live member; it moves when that lease expires");
            }
            if (!leaving && !desired.isEmpty() && !live.contains(desired) && warnedStrangers.add(shard + "/desired/" + desired)) {
                log.atWarn().addKeyValue("shard", shard).addKeyValue("desiredOwner", desired)
                        .log("shard lease names a desired owner that is not a live member; re-assigning it");
            }
        }
        Map<Integer, String> plan = ShardAssigner.plan(shards, current, live);
        // One write per changed shard, all at once: a member leaving moves a third of the shards.
        java.util.concurrent.atomic.AtomicInteger moved = new java.util.concurrent.atomic.AtomicInteger();
        java.util.List<Thread> writes = new java.util.ArrayList<>();
        for (var entry : shardLeases.entrySet()) {
            int shard = entry.getKey();
            LeaseView.Seen s = entry.getValue();
            String before = s.annotation(LeaseNaming.ANNOTATION_DESIRED_OWNER);
            String after = plan.getOrDefault(shard, "");
            if (!before.equals(after)) {
                writes.add(Thread.ofVirtual().name("publish-shard-" + shard).start(() -> {
                    if (publish(shard, s, before, after)) {
                        moved.incrementAndGet();
                    }
                }));
            }
        }
        for (Thread t : writes) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return next;
            }
        }
        if (moved.get() > 0) {
            log.atInfo().addKeyValue("moved", moved.get()).addKeyValue("members", live).log("shards re-planned");
        }
        return next;
    }

    /** Writes one shard's desired owner; true if it moved from one member to another. */
    private boolean publish(int shard, LeaseView.Seen s, String before, String after) {
        Optional<Lease> written;
        try {
            written = leases.update(s.lease(), l -> {
                Map<String, String> annotations = new HashMap<>();
                if (l.getMetadata().getAnnotations() != null) {
                    annotations.putAll(l.getMetadata().getAnnotations());
                }
                annotations.put(LeaseNaming.ANNOTATION_DESIRED_OWNER, after);
                annotations.put(LeaseNaming.ANNOTATION_SHARDS, String.valueOf(config.shards()));
                l.getMetadata().setAnnotations(annotations);
                return l;
            });
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue("shard", shard).addKeyValue("error", e.toString())
                    .log("could not publish a shard's owner; retrying");
            reactor.poke();
            return false;
        }
        if (written.isEmpty()) {
            reactor.poke(); // someone renewed in between: publish again on the fresh Lease
            return false;
        }
        log.atInfo().addKeyValue("shard", shard).addKeyValue("from", before.isEmpty() ? "-" : before)
                .addKeyValue("to", after.isEmpty() ? "-" : after).addKeyValue("replica", config.identity())
                .log("shard assigned");
        if (!before.isEmpty()) {
            metrics.moved();
            return true;
        }
        return false;
    }

    /** Plans without this replica (a graceful leave), so that its shards move before it lets go. */
    void leave() {
        leaving = true;
        CompletableFuture<Void> done = new CompletableFuture<>();
        reactor.execute(() -> {
            try {
                if (leading) {
                    pass();
                }
            } finally {
                done.complete(null);
            }
        });
        try {
            done.get(config.renewDeadline().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.atWarn().addKeyValue("error", e.toString()).log("could not re-plan before leaving");
        }
    }

    /** Stops electing without releasing the Lease, as a crash would. */
    void closeWithoutRelease() {
        closed = true;
        CompletableFuture<?> running = election;
        if (running != null) {
            running.cancel(true);
        }
        reactor.close();
        leading = false;
    }

    @Override
    public void close() {
        closed = true;
        CompletableFuture<Void> done = new CompletableFuture<>();
        reactor.execute(() -> {
            CompletableFuture<?> running = election;
            if (running != null) {
                running.cancel(true); // releases the Lease (releaseOnCancel)
            }
            done.complete(null);
        });
        try {
            done.get(config.renewDeadline().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // the Lease expires on its own
        }
        reactor.close();
        leading = false;
        metrics.leading(false);
    }
}
