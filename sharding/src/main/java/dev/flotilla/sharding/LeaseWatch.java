package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds a {@link LeaseView} from a fabric8 watch on the group's Leases (label {@link LeaseNaming#LABEL_GROUP}), and
 * starts that watch afresh when it has been down while the server answers this replica's Lease writes.
 *
 * <p>fabric8 reconnects a failed watch after 1, 2, 4, 8, 16, then 32 s (its {@code watchReconnectInterval} doubled,
 * five times at most): after a 20 s outage the next attempt can be 16 to 32 s away, and for that long this replica
 * decides on Leases as they were before the outage. It renews its membership again at once, so the coordinator hands
 * it shards it cannot see (measured: 25 s before it took them, with 40 refused writes a second on its stale view).
 * A new informer lists and watches at once; its events replace the old one's, which is stopped first and whose late
 * events are dropped.
 */
final class LeaseWatch implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaseWatch.class);

    private final KubernetesClient client;
    private final String namespace;
    private final String group;
    private final LeaseView view;
    private final MonotonicClock clock;
    /** How long the watch may be down, with the server answering, before it is started afresh. */
    private final long stallNanos;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}: the informer whose events count, and its generation. */
    private SharedIndexInformer<Lease> informer;
    private long generation;
    private boolean closed;
    /** Monotonic time since which the watch has been seen down; -1 while it is up (touched by {@link #check} only). */
    private long downSinceNanos = -1;
    /**
     * Restarts since the watch was last seen up ({@link #check} only): each further one waits twice as long (a fresh
     * informer whose list keeps failing, say a forbidden list while renewals work, is not restarted every 2 s).
     */
    private int restartsWhileDown;
    /** Restarts of a silent watch ({@link #check} only), and when the last one was. */
    private int restartsWhileSilent;
    private long lastSilentRestartNanos = Long.MIN_VALUE / 2;

    LeaseWatch(KubernetesClient client, String namespace, String group, LeaseView view, MonotonicClock clock,
            Duration stallLimit) {
        this.client = client;
        this.namespace = namespace;
        this.group = group;
        this.view = view;
        this.clock = clock;
        this.stallNanos = stallLimit.toNanos();
        synchronized (lock) {
            informer = newInformer(generation);
        }
    }

    private SharedIndexInformer<Lease> newInformer(long gen) {
        SharedIndexInformer<Lease> inf = client.leases().inNamespace(namespace).withLabel(LeaseNaming.LABEL_GROUP, group)
                .runnableInformer(0);
        inf.exceptionHandler((started, t) -> {
            log.atWarn().addKeyValue("namespace", namespace).addKeyValue("error", FailureText.of(t))
                    .log("lease watch failed; retrying");
            return true;
        });
        inf.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Lease lease) {
                if (current(gen)) {
                    view.record(lease, false);
                }
            }

            @Override
            public void onUpdate(Lease before, Lease after) {
                if (current(gen)) {
                    view.record(after, false);
                }
            }

            @Override
            public void onDelete(Lease lease, boolean finalStateUnknown) {
                if (current(gen)) {
                    view.record(lease, true);
                }
            }
        });
        return inf;
    }

    private boolean current(long gen) {
        synchronized (lock) {
            return gen == generation && !closed;
        }
    }

    /**
     * Starts watching and returns once the first LIST is in the view. fabric8 completes the start when
     * its store has synced and hands the listed Leases to the handler afterwards, on its own executor,
     * so the view is fed from the store here as well: the checks made right after the start (the shard
     * count, the protocol) must see every Lease. (Recording one twice changes nothing.)
     */
    void start(Duration syncTimeout) throws Exception {
        SharedIndexInformer<Lease> inf;
        synchronized (lock) {
            inf = informer;
        }
        inf.start().toCompletableFuture().get(syncTimeout.toMillis(), TimeUnit.MILLISECONDS);
        for (Lease lease : inf.getStore().list()) {
            view.record(lease, false);
        }
    }

    /**
     * Looks at the watch (call every retry period, from one thread): once it has been down for the stall limit and
     * the server has answered a Lease write sent after it went down ({@code answeredSentNanos}, the send time of the
     * last successful renewal), it is started afresh. While the server does not answer, fabric8's own backoff goes on.
     *
     * @return whether a fresh watch was started
     */
    boolean check(long answeredSentNanos) {
        SharedIndexInformer<Lease> inf;
        synchronized (lock) {
            if (closed) {
                return false;
            }
            inf = informer;
        }
        long now = clock.nanoTime();
        if (inf.isWatching()) {
            downSinceNanos = -1;
            restartsWhileDown = 0;
            return checkSilent(answeredSentNanos, now);
        }
        if (downSinceNanos < 0) {
            downSinceNanos = now;
            return false;
        }
        long limit = stallNanos << Math.min(restartsWhileDown, 4);
        if (now - downSinceNanos < limit || answeredSentNanos <= downSinceNanos) {
            return false;
        }
        restartsWhileDown++;
        long downMillis = Duration.ofNanos(now - downSinceNanos).toMillis();
        downSinceNanos = -1;
        restart(downMillis, "down while the server answers, and fabric8 would wait longer to reconnect");
        return true;
    }

    /**
     * A watch that says it is up can still deliver nothing (seen after a kube-apiserver restart: fabric8's informer
     * kept reporting a watch for 10 minutes, delivered no event, then stopped re-watching, and the replica never saw
     * its shard handed to another). This replica renews its own membership Lease every retry period and each renewal
     * is an event for a live watch: nothing delivered since well before a renewal that landed means a silent watch,
     * started afresh like a stalled one (each further restart while it stays silent waits twice as long).
     */
    private boolean checkSilent(long answeredSentNanos, long now) {
        long lastDelivered = view.lastRecordedNanos();
        long silent = silentNanos(answeredSentNanos, lastDelivered);
        if (silent == 0) {
            if (lastDelivered - lastSilentRestartNanos > stallNanos) {
                restartsWhileSilent = 0; // delivering, and not only the list of the last restart
            }
            return false;
        }
        long limit = (stallNanos * 2) << Math.min(restartsWhileSilent, 4);
        if (silent <= limit) {
            return false;
        }
        restartsWhileSilent++;
        lastSilentRestartNanos = now;
        restart(Duration.ofNanos(now - lastDelivered).toMillis(),
                "silent: it delivered nothing while this replica's renewals landed");
        return true;
    }

    /**
     * How long before the last renewal that landed (sent at {@code answeredSentNanos}) the watch last delivered
     * anything; 0 when it delivered since, or when there is nothing to compare: no renewal landed yet
     * ({@code Long.MIN_VALUE}, as {@code ShardOwnership} reports it; subtracting from it overflowed and restarted the
     * watch every retry period until the first renewal) or nothing delivered yet (the same sentinel).
     */
    static long silentNanos(long answeredSentNanos, long lastDeliveredNanos) {
        if (lastDeliveredNanos == Long.MIN_VALUE || answeredSentNanos == Long.MIN_VALUE || answeredSentNanos <= lastDeliveredNanos) {
            return 0;
        }
        return answeredSentNanos - lastDeliveredNanos;
    }

    private void restart(long downMillis, String why) {
        SharedIndexInformer<Lease> old;
        SharedIndexInformer<Lease> fresh;
        // What the view held before the fresh list: a Lease missing from that list, and not delivered since, was deleted.
        List<LeaseView.Seen> before = view.all();
        synchronized (lock) {
            if (closed) {
                return; // closed since the check: close() stopped the current informer, and no other is started
            }
            old = informer;
            generation++;
            fresh = newInformer(generation);
            informer = fresh;
        }
        log.atInfo().addKeyValue("namespace", namespace).addKeyValue("group", group).addKeyValue("downMillis", downMillis)
                .log("lease watch started afresh: " + why);
        // Off the caller's thread: stopping closes a connection, and the start lists.
        Thread.ofVirtual().name("lease-watch-restart").start(() -> {
            try {
                old.stop();
            } catch (RuntimeException e) {
                log.atDebug().addKeyValue("error", FailureText.of(e)).log("stopping the stalled lease watch failed");
            }
            try {
                fresh.start().whenComplete((ok, error) -> {
                    if (error == null) {
                        recordDeletions(fresh, before);
                    }
                });
            } catch (RuntimeException e) {
                if (informerIs(fresh)) { // not closed meanwhile
                    log.atWarn().addKeyValue("namespace", namespace).addKeyValue("error", FailureText.of(e))
                            .log("the fresh lease watch did not start; a later check tries again");
                }
            }
        });
    }

    /**
     * A Lease deleted while the watch was down is in the view but not in the fresh list: its deletion is recorded, unless
     * the view has changed it since {@code before} was taken (the fresh watch delivered it, or a newer version).
     */
    private void recordDeletions(SharedIndexInformer<Lease> fresh, List<LeaseView.Seen> before) {
        Set<String> listed = new HashSet<>();
        for (Lease lease : fresh.getStore().list()) {
            listed.add(lease.getMetadata().getName());
        }
        for (LeaseView.Seen s : before) {
            if (!s.deleted() && !listed.contains(s.name()) && informerIs(fresh)) {
                view.recordDeletedIfUnchanged(s);
            }
        }
    }

    private boolean informerIs(SharedIndexInformer<Lease> inf) {
        synchronized (lock) {
            return informer == inf && !closed;
        }
    }

    @Override
    public void close() {
        SharedIndexInformer<Lease> inf;
        synchronized (lock) {
            closed = true;
            inf = informer;
        }
        inf.stop();
    }
}
