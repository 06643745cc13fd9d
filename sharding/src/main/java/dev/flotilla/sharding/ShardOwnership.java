package dev.flotilla.sharding;

import dev.flotilla.core.cache.SharedInformers;
import dev.flotilla.core.controller.Controller;
import dev.flotilla.core.controller.KeyGate;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.sharding.audit.AuditTrail;
import dev.flotilla.sharding.audit.LeaseTransition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shards this replica holds, and the only place that changes that. A shard is taken when the
 * coordinator names this replica and its Lease is free or expired; it is worked on only while a
 * renewal sent less than the renew deadline ago succeeded (measured on the monotonic clock, so
 * a frozen process or a stepped wall clock cannot stretch it). Where does a key wait when its
 * shard changes hands? Here: refused by {@link #gate()} from the moment the shard stops being
 * active, until the new owner's caches have synced.
 */
final class ShardOwnership implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ShardOwnership.class);

    private enum Phase { NONE, SYNCING, ACTIVE, RELEASING }

    private static final class Slot {
        Phase phase = Phase.NONE;
        long renewedAtNanos;
        long generation;
        long freeSinceNanos;
        Lease lease;
        /** While RELEASING: completes once the release is done (or abandoned to expiry). */
        CompletableFuture<Void> released = CompletableFuture.completedFuture(null);
    }

    /** How long a newly held shard's caches may take to sync before the shard is handed back. */
    static final Duration SYNC_TIMEOUT = Duration.ofSeconds(60);
    private final Object rescopeLock = new Object();

    private final ShardingConfig config;
    private final ShardSpace space;
    private final LeaseNaming naming;
    private final LeaseView view;
    private final Leases leases;
    private final String holder;
    private final SharedInformers informers;
    private final ShardScope scope;
    private final Supplier<List<Controller<?>>> controllers;
    private final ShardMetrics metrics;
    private final AuditTrail trail;
    private final BooleanSupplier coordinatorFresh;
    private final Slot[] slots;
    /** Per shard, the monotonic instant until which its keys are admitted; 0 when refused. */
    private final AtomicLongArray admitUntil;
    private final Reactor reactor;
    private final long renewDeadlineNanos;
    private volatile boolean stopping;

    ShardOwnership(ShardingConfig config, LeaseView view, Leases leases, String holder, SharedInformers informers,
            ShardScope scope, Supplier<List<Controller<?>>> controllers, ShardMetrics metrics, AuditTrail trail,
            BooleanSupplier coordinatorFresh) {
        this.config = config;
        this.space = config.space();
        this.naming = new LeaseNaming(config.group());
        this.view = view;
        this.leases = leases;
        this.holder = holder;
        this.informers = informers;
        this.scope = scope;
        this.controllers = controllers;
        this.metrics = metrics;
        this.trail = trail;
        this.coordinatorFresh = coordinatorFresh;
        this.slots = new Slot[config.shards()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot();
        }
        this.admitUntil = new AtomicLongArray(config.shards());
        this.renewDeadlineNanos = config.renewDeadline().toNanos();
        this.reactor = new Reactor("shards-" + config.identity(), this::pass, config.retryPeriod());
    }

    /** Admits a namespaced key while its shard is active and freshly renewed; cluster-scoped keys on the coordinator. */
    KeyGate gate() {
        return key -> key.namespace().isEmpty() ? coordinatorFresh.getAsBoolean()
                : System.nanoTime() < admitUntil.get(space.shardOf(key.namespace()));
    }

    void start() {
        view.onChange(reactor::poke);
        reactor.poke();
    }

    void poke() {
        reactor.poke();
    }

    /** Re-applies the scope on the reactor thread (a namespace of a held shard appeared or went). */
    void rescopeLater() {
        reactor.execute(this::rescope);
    }

    synchronized Set<Integer> active() {
        Set<Integer> out = new TreeSet<>();
        for (int i = 0; i < slots.length; i++) {
            if (slots[i].phase == Phase.ACTIVE) {
                out.add(i);
            }
        }
        return out;
    }

    /** One decision pass over every shard Lease; returns when it next needs to look (an expiry it waits for). */
    private OptionalLong pass() {
        if (stopping) {
            return OptionalLong.empty();
        }
        long next = Long.MAX_VALUE;
        List<Thread> acquisitions = new ArrayList<>();
        for (int shard = 0; shard < slots.length; shard++) {
            Optional<LeaseView.Seen> seen = view.get(naming.shardLease(shard));
            if (seen.isEmpty()) {
                continue;
            }
            LeaseView.Seen s = seen.get();
            if (s.deleted()) {
                int gone = shard;
                boolean held;
                synchronized (this) {
                    held = slots[gone].phase == Phase.SYNCING || slots[gone].phase == Phase.ACTIVE;
                }
                if (held) {
                    fence(gone, "the shard lease was deleted");
                }
                continue;
            }
            String desired = s.annotation(LeaseNaming.ANNOTATION_DESIRED_OWNER);
            boolean mine = holder.equals(s.holder());
            Phase phase;
            boolean stale;
            synchronized (this) {
                Slot slot = slots[shard];
                phase = slot.phase;
                // The watch may not have delivered our own last write yet: an older state is no news.
                stale = slot.lease != null && !view.hasSeen(s.name(), slot.lease.getMetadata().getResourceVersion());
            }
            if (stale && (phase == Phase.SYNCING || phase == Phase.ACTIVE)) {
                continue;
            }
            switch (phase) {
                case SYNCING, ACTIVE -> {
                    if (!mine) {
                        fence(shard, "the shard lease now names holder '" + s.holder() + "', not this replica");
                    } else if (!desired.equals(config.identity())) {
                        giveUp(shard, desired);
                    }
                }
                case NONE -> {
                    if (desired.equals(config.identity())) {
                        if (s.holder().isEmpty() || !view.isHeld(s) || mine) {
                            int acquiring = shard;
                            acquisitions.add(Thread.ofVirtual().name("acquire-shard-" + shard).start(() -> acquire(acquiring, s)));
                        } else {
                            next = Math.min(next, view.expiresAtNanos(s));
                        }
                    }
                }
                case RELEASING -> {
                    // finishing; the release itself frees it
                }
            }
        }
        for (Thread t : acquisitions) { // in parallel: a member leaving hands a third of the shards to each other
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return next == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(next);
    }

    private void acquire(int shard, LeaseView.Seen s) {
        long sent = System.nanoTime();
        Optional<Lease> won;
        try {
            won = leases.update(s.lease(), l -> Leases.hold(l, holder, (int) config.leaseDuration().toSeconds()));
        } catch (RuntimeException e) {
            log.atDebug().addKeyValue("shard", shard).addKeyValue("error", e.toString()).log("could not take a shard lease");
            return;
        }
        if (won.isEmpty()) {
            reactor.poke(); // the Lease changed under us: decide again on the fresh one
            return;
        }
        // A handover is timed from the moment the shard became free: its release, or its previous holder's expiry.
        long freeSince = -1;
        if (!s.holder().isEmpty() && !holder.equals(s.holder())) {
            freeSince = Math.min(sent, view.expiresAtNanos(s));
        } else if (s.holder().isEmpty() && s.lease().getSpec().getLeaseTransitions() != null) {
            freeSince = s.changedNanos();
        }
        long generation;
        synchronized (this) {
            Slot slot = slots[shard];
            if (slot.phase != Phase.NONE) {
                return; // another decision on this shard is under way
            }
            slot.phase = Phase.SYNCING;
            generation = ++slot.generation;
            slot.renewedAtNanos = sent;
            slot.lease = won.get();
            slot.freeSinceNanos = freeSince;
        }
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.ACQUIRED, System.nanoTime()));
        if (stopping) {
            giveUp(shard, ""); // won while shutting down: hand it straight back
            return;
        }
        long gen = generation;
        CompletableFuture<Void> synced;
        try {
            rescope();
            synced = informers.whenSynced(p -> scope.belongsTo(p, shard));
        } catch (RuntimeException e) {
            synced = CompletableFuture.failedFuture(e);
        }
        synced.orTimeout(SYNC_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((ok, error) -> reactor.executeOrRun(() -> activate(shard, gen, error)));
    }

    private void activate(int shard, long generation, Throwable syncError) {
        long until;
        long freeSince;
        synchronized (this) {
            Slot slot = slots[shard];
            if (slot.phase != Phase.SYNCING || slot.generation != generation) {
                return;
            }
            if (syncError != null) {
                log.atError().addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                        .addKeyValue("error", syncError.toString()).log("shard caches failed to sync; handing the shard back");
            }
            until = slot.renewedAtNanos + renewDeadlineNanos;
            if (syncError != null || System.nanoTime() >= until) {
                until = 0;
            } else {
                slot.phase = Phase.ACTIVE;
                admitUntil.set(shard, until);
            }
            freeSince = slot.freeSinceNanos;
        }
        if (until == 0) {
            giveUp(shard, "");
            return;
        }
        long now = System.nanoTime();
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.ACTIVE, now));
        metrics.owned(shard, true);
        if (freeSince > 0) {
            metrics.handover(Duration.ofNanos(Math.max(0, now - freeSince)));
        }
        int queued = enqueueAll(key -> inShard(key, shard));
        log.atInfo().addKeyValue("shard", shard).addKeyValue("replica", config.identity()).addKeyValue("queued", queued)
                .addKeyValue("handoverMillis", freeSince > 0 ? Duration.ofNanos(now - freeSince).toMillis() : -1)
                .log("shard acquired");
    }

    /** Queues every cached primary matching {@code keys}: events that arrived while the shard was not active were refused. */
    int enqueueAll(Predicate<ObjectKey> keys) {
        int n = 0;
        for (Controller<?> c : controllers.get()) {
            for (HasMetadata object : c.cache().list()) {
                ObjectKey key = ObjectKey.of(object);
                if (keys.test(key)) {
                    c.enqueue(key);
                    n++;
                }
            }
        }
        return n;
    }

    private boolean inShard(ObjectKey key, int shard) {
        return !key.namespace().isEmpty() && space.shardOf(key.namespace()) == shard;
    }

    /** Applies the current set of held (syncing, active) shards to every informer. */
    private CompletableFuture<Void> rescope() {
        synchronized (rescopeLock) { // computing and applying the set must not interleave with another rescope
            return rescopeLocked();
        }
    }

    private CompletableFuture<Void> rescopeLocked() {
        Set<Integer> held = new TreeSet<>();
        synchronized (this) {
            for (int i = 0; i < slots.length; i++) {
                if (slots[i].phase == Phase.SYNCING || slots[i].phase == Phase.ACTIVE) {
                    held.add(i);
                }
            }
        }
        scope.hold(held);
        return informers.setScope(scope);
    }

    /** Hands a shard over: refuse its keys, let in-flight reconciles finish (bounded), stop its informers, release its Lease. */
    private CompletableFuture<Void> giveUp(int shard, String to) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        long generation;
        synchronized (this) {
            Slot slot = slots[shard];
            if (slot.phase == Phase.RELEASING) {
                return slot.released;
            }
            if (slot.phase == Phase.NONE) {
                return CompletableFuture.completedFuture(null);
            }
            slot.phase = Phase.RELEASING;
            slot.released = done;
            generation = slot.generation;
            admitUntil.set(shard, 0);
        }
        metrics.owned(shard, false);
        long begin = System.nanoTime();
        Thread.ofVirtual().name("release-shard-" + shard).start(() -> {
            try {
                boolean drained = drain(key -> inShard(key, shard), config.drainTimeout());
                finishRelease(shard, generation, drained, to, begin);
            } catch (RuntimeException e) {
                log.atError().addKeyValue("shard", shard).addKeyValue("error", e.toString()).log("shard release failed");
            } finally {
                done.complete(null);
            }
        });
        return done;
    }

    /** Waits for in-flight reconciles of {@code keys} across all controllers, within one shared deadline; interrupts stragglers. */
    private boolean drain(Predicate<ObjectKey> keys, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            boolean drained = true;
            for (Controller<?> c : controllers.get()) {
                drained &= c.awaitIdle(keys, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            }
            if (drained) {
                return true;
            }
            boolean afterInterrupt = true;
            for (Controller<?> c : controllers.get()) {
                c.interrupt(keys);
            }
            for (Controller<?> c : controllers.get()) {
                afterInterrupt &= c.awaitIdle(keys, Duration.ofMillis(500));
            }
            return afterInterrupt;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void finishRelease(int shard, long generation, boolean drained, String to, long begin) {
        Lease base;
        synchronized (this) {
            if (slots[shard].generation != generation) {
                return;
            }
            base = slots[shard].lease;
        }
        // Informers stop first: the slot is RELEASING, so the rescope drops this shard's partitions.
        rescope();
        boolean released = false;
        if (!drained) {
            // A reconcile ignored its interrupt: freeing the Lease now would let the next owner start beside it.
            // Let it expire instead: the others wait a whole lease duration, by then it has long been fenced.
            log.atWarn().addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                    .log("a reconcile on the shard did not stop; leaving its lease to expire instead of releasing it");
        } else {
            try {
                // Renewals continue while RELEASING, so a write can race this one: on a conflict read it again
                // and release it if it still names this replica (this process's holder, this tenure).
                Optional<Lease> current = Optional.ofNullable(base);
                for (int attempt = 0; attempt < 4 && !released; attempt++) {
                    if (current.isEmpty() || !holder.equals(Leases.holderOf(current.get()))) {
                        break;
                    }
                    released = leases.update(current.get(), Leases::release).isPresent();
                    if (!released) {
                        current = leases.get(naming.shardLease(shard));
                    }
                }
            } catch (RuntimeException e) {
                log.atWarn().addKeyValue("shard", shard).addKeyValue("error", e.toString())
                        .log("could not release a shard lease; it expires on its own");
            }
        }
        synchronized (this) {
            if (slots[shard].generation == generation && slots[shard].phase == Phase.RELEASING) {
                slots[shard].phase = Phase.NONE; // only now: no pass may take it back before the release is written
            }
        }
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.RELEASED, System.nanoTime()));
        log.atInfo().addKeyValue("shard", shard).addKeyValue("replica", config.identity())
                .addKeyValue("to", to.isEmpty() ? "-" : to).addKeyValue("drained", drained).addKeyValue("released", released)
                .addKeyValue("millis", Duration.ofNanos(System.nanoTime() - begin).toMillis()).log("shard released");
        reactor.poke();
    }

    /**
     * Stops working on a shard at once: its keys are refused, in-flight reconciles on it are
     * interrupted and its informers stopped. The Lease is left alone: this replica can no longer
     * prove it holds it, and it expires for the others after the lease duration.
     */
    private void fence(int shard, String why) {
        synchronized (this) {
            Slot slot = slots[shard];
            if (slot.phase == Phase.NONE || slot.phase == Phase.RELEASING) {
                return;
            }
            slot.phase = Phase.NONE;
            admitUntil.set(shard, 0);
        }
        int interrupted = 0;
        for (Controller<?> c : controllers.get()) {
            interrupted += c.interrupt(key -> inShard(key, shard));
        }
        trail.transition(new LeaseTransition(config.identity(), shard, LeaseTransition.Kind.FENCED, System.nanoTime()));
        metrics.owned(shard, false);
        metrics.fenced();
        log.atError().addKeyValue("shard", shard).addKeyValue("replica", config.identity()).addKeyValue("reason", why)
                .addKeyValue("interrupted", interrupted).log("shard fenced: stopped working on it at once");
        reactor.executeOrRun(this::rescope);
        reactor.poke();
    }

    /** Renews every held shard Lease once; called by the renewal loop every retry period. */
    void renewAll() {
        List<Integer> held = new ArrayList<>();
        synchronized (this) {
            for (int i = 0; i < slots.length; i++) {
                if (slots[i].phase != Phase.NONE) {
                    held.add(i);
                }
            }
        }
        List<Thread> renewals = new ArrayList<>();
        for (int shard : held) {
            renewals.add(Thread.ofVirtual().name("renew-shard-" + shard).start(() -> renew(shard)));
        }
        for (Thread t : renewals) {
            try {
                t.join(config.renewDeadline());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void renew(int shard) {
        Lease base;
        synchronized (this) {
            base = slots[shard].lease;
        }
        for (int attempt = 0; attempt < 2 && base != null; attempt++) {
            long sent = System.nanoTime();
            try {
                Optional<Lease> renewed = leases.update(base, l -> Leases.hold(l, holder, (int) config.leaseDuration().toSeconds()));
                if (renewed.isPresent()) {
                    renewed(shard, sent, renewed.get());
                    return;
                }
                Optional<Lease> now = leases.get(naming.shardLease(shard));
                if (now.isEmpty() || !holder.equals(Leases.holderOf(now.get()))) { // deleted or taken: not ours any more
                    String other = now.map(Leases::holderOf).orElse("(deleted)");
                    reactor.executeOrRun(() -> fence(shard, "renewal found the lease held by '" + other + "'"));
                    return;
                }
                base = now.get();
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() == 404) {
                    reactor.executeOrRun(() -> fence(shard, "renewal found the lease deleted"));
                    return;
                }
                log.atDebug().addKeyValue("shard", shard).addKeyValue("error", e.toString()).log("shard renewal failed");
                return; // the watchdog fences if no renewal succeeds before the deadline
            } catch (RuntimeException e) {
                log.atDebug().addKeyValue("shard", shard).addKeyValue("error", e.toString()).log("shard renewal failed");
                return;
            }
        }
    }

    private void renewed(int shard, long sentNanos, Lease lease) {
        synchronized (this) {
            Slot slot = slots[shard];
            if (slot.phase == Phase.NONE) {
                return;
            }
            slot.lease = lease;
            if (sentNanos > slot.renewedAtNanos) {
                slot.renewedAtNanos = sentNanos;
                if (slot.phase == Phase.ACTIVE) {
                    admitUntil.set(shard, sentNanos + renewDeadlineNanos);
                }
            }
        }
    }

    /** Fences every shard whose last successful renewal was sent a renew deadline ago or more; run often. */
    void watchdog() {
        try {
            fenceOverdue();
        } catch (RuntimeException e) {
            log.atError().addKeyValue("error", e.toString()).log("fencing watchdog failed; it runs again shortly");
        }
    }

    private void fenceOverdue() {
        long now = System.nanoTime();
        List<Integer> overdue = new ArrayList<>();
        synchronized (this) {
            for (int i = 0; i < slots.length; i++) {
                Phase p = slots[i].phase;
                if ((p == Phase.SYNCING || p == Phase.ACTIVE) && now - slots[i].renewedAtNanos >= renewDeadlineNanos) {
                    overdue.add(i);
                }
            }
        }
        for (int shard : overdue) {
            fence(shard, "no renewal succeeded within the renew deadline of " + config.renewDeadline());
        }
    }

    /** Gives every shard up (graceful shutdown) and waits, within {@code timeout}, until all are released. */
    void releaseAll(Duration timeout) {
        stopping = true;
        List<CompletableFuture<Void>> releases = new ArrayList<>();
        for (int shard = 0; shard < slots.length; shard++) {
            releases.add(giveUp(shard, ""));
        }
        try {
            CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.atWarn().addKeyValue("replica", config.identity()).addKeyValue("error", e.toString())
                    .log("not every shard was released in time; the rest expire on their own");
        }
    }

    /** Stops everything at once without releasing (a fatal error): the Leases expire for the others. */
    void fenceAll(String why) {
        stopping = true;
        for (int shard = 0; shard < slots.length; shard++) {
            fence(shard, why);
        }
    }

    @Override
    public void close() {
        stopping = true;
        reactor.close();
    }
}
