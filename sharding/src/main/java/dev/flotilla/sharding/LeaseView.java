package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's view of its group's Leases, fed by a watch ({@link LeaseWatch} in production),
 * with the monotonic time at which each Lease's holder last changed or renewed. Expiry is judged
 * from those observation times, as client-go does, and never from the renewTime written by
 * another machine's clock: a Lease is expired when nobody has been seen renewing it for its whole
 * duration.
 *
 * <pre>{@code
 * LeaseView view = new LeaseView(MonotonicClock.system(), Duration.ofSeconds(15));
 * view.onChange(reactor::poke);
 * view.record(lease, false);                        // what the watch delivered
 * boolean held = view.get(name).map(view::isHeld).orElse(false);
 * }</pre>
 */
final class LeaseView {

    private static final Logger log = LoggerFactory.getLogger(LeaseView.class);
    /** How many recent resourceVersions per Lease are remembered for {@link #hasSeen}. */
    private static final int VERSIONS_KEPT = 16;

    /** What was last seen of one Lease; {@code deleted} keeps a deleted Lease's last state until it expires. */
    record Seen(Lease lease, long changedNanos, boolean deleted) {
        Seen {
            Objects.requireNonNull(lease, "lease");
        }

        String name() {
            return lease.getMetadata().getName();
        }

        /** The holderIdentity, "" when free. */
        String holder() {
            return Leases.holderOf(lease);
        }

        String annotation(String key) {
            Map<String, String> annotations = lease.getMetadata().getAnnotations();
            return annotations == null ? "" : annotations.getOrDefault(key, "");
        }
    }

    private final MonotonicClock clock;
    private final Duration defaultDuration;
    private final Map<String, Seen> seen = new ConcurrentHashMap<>();
    /** The last few resourceVersions seen per Lease, so a writer can tell whether the view has caught up with its own write. */
    private final Map<String, Deque<String>> versions = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    LeaseView(MonotonicClock clock, Duration defaultDuration) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.defaultDuration = Objects.requireNonNull(defaultDuration, "defaultDuration");
    }

    /** Called after every change (on the watch's thread); listeners must be quick. */
    void onChange(Runnable listener) {
        listeners.add(listener);
    }

    /** What the watch delivered: an added or updated Lease, or ({@code deleted}) its last state before deletion. */
    void record(Lease lease, boolean deleted) {
        if (lease == null || lease.getMetadata() == null || lease.getMetadata().getName() == null) {
            return;
        }
        long now = clock.nanoTime();
        String name = lease.getMetadata().getName();
        String rv = lease.getMetadata().getResourceVersion();
        if (rv != null) {
            Deque<String> d = versions.computeIfAbsent(name, n -> new ArrayDeque<>());
            synchronized (d) {
                d.addLast(rv);
                while (d.size() > VERSIONS_KEPT) {
                    d.removeFirst();
                }
            }
        }
        seen.compute(name, (n, before) -> {
            boolean renewed = before == null || before.deleted() != deleted || !sameTenure(before.lease(), lease);
            return new Seen(lease, renewed ? now : before.changedNanos(), deleted);
        });
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                log.atError().addKeyValue("error", e.toString()).log("lease listener failed");
            }
        }
    }

    /** Same holder and same renewal: an annotation edit by the coordinator is not a renewal. */
    private static boolean sameTenure(Lease a, Lease b) {
        LeaseSpec x = a.getSpec();
        LeaseSpec y = b.getSpec();
        if (x == null || y == null) {
            return x == y;
        }
        return Objects.equals(x.getHolderIdentity(), y.getHolderIdentity())
                && Objects.equals(x.getRenewTime(), y.getRenewTime())
                && Objects.equals(x.getAcquireTime(), y.getAcquireTime())
                && Objects.equals(x.getLeaseTransitions(), y.getLeaseTransitions());
    }

    /** Whether the watch has delivered {@code resourceVersion} of Lease {@code name} (recently). */
    boolean hasSeen(String name, String resourceVersion) {
        Deque<String> d = versions.get(name);
        if (d == null) {
            return false;
        }
        synchronized (d) {
            return d.contains(resourceVersion);
        }
    }

    /** Forgets deleted Leases whose last holder's lease has run out, so members that came and went do not accumulate. */
    void prune() {
        long now = clock.nanoTime();
        seen.entrySet().removeIf(e -> e.getValue().deleted() && now >= expiresAtNanos(e.getValue()));
        versions.keySet().removeIf(name -> !seen.containsKey(name));
    }

    Optional<Seen> get(String name) {
        return Optional.ofNullable(seen.get(name));
    }

    List<Seen> all() {
        return List.copyOf(seen.values());
    }

    Duration durationOf(Seen s) {
        Integer secs = s.lease().getSpec() == null ? null : s.lease().getSpec().getLeaseDurationSeconds();
        return secs == null || secs <= 0 ? defaultDuration : Duration.ofSeconds(secs);
    }

    /** When {@code s} expires on this replica's monotonic clock (meaningless if it has no holder). */
    long expiresAtNanos(Seen s) {
        return s.changedNanos() + durationOf(s).toNanos();
    }

    /** Held by someone who was seen renewing within the lease duration. */
    boolean isHeld(Seen s) {
        return !s.holder().isEmpty() && clock.nanoTime() < expiresAtNanos(s);
    }
}
