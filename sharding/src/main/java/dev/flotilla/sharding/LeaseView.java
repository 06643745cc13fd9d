package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's view of its group's Leases, watched, with the monotonic time at which each
 * Lease's holder last changed or renewed. Expiry is judged from those observation times, as
 * client-go does, and never from the renewTime written by another machine's clock: a Lease is
 * expired when nobody has been seen renewing it for its whole duration.
 *
 * <pre>{@code
 * LeaseView view = new LeaseView(client, "flotilla-system", naming, Duration.ofSeconds(15));
 * view.onChange(reactor::poke);
 * view.start();
 * boolean gone = view.get("flotilla-member-replica-1").map(view::isExpired).orElse(true);
 * }</pre>
 */
public final class LeaseView implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaseView.class);

    /** What was last seen of one Lease; {@code deleted} keeps a deleted Lease's last state until it expires. */
    public record Seen(Lease lease, long changedNanos, boolean deleted) {
        public Seen {
            Objects.requireNonNull(lease, "lease");
        }

        public String name() {
            return lease.getMetadata().getName();
        }

        /** The holderIdentity, "" when free. */
        public String holder() {
            LeaseSpec spec = lease.getSpec();
            return spec == null || spec.getHolderIdentity() == null ? "" : spec.getHolderIdentity();
        }

        public String annotation(String key) {
            Map<String, String> annotations = lease.getMetadata().getAnnotations();
            return annotations == null ? "" : annotations.getOrDefault(key, "");
        }
    }

    private final KubernetesClient client;
    private final String namespace;
    private final LeaseNaming naming;
    private final Duration defaultDuration;
    private final Map<String, Seen> seen = new ConcurrentHashMap<>();
    /** The last few resourceVersions seen per Lease, so a writer can tell whether the view has caught up with its own write. */
    private final Map<String, java.util.Deque<String>> versions = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile SharedIndexInformer<Lease> informer;

    public LeaseView(KubernetesClient client, String namespace, LeaseNaming naming, Duration defaultDuration) {
        this.client = Objects.requireNonNull(client, "client");
        this.namespace = Objects.requireNonNull(namespace, "namespace");
        this.naming = Objects.requireNonNull(naming, "naming");
        this.defaultDuration = Objects.requireNonNull(defaultDuration, "defaultDuration");
    }

    /** Called (on the informer's thread) after every change; listeners must be quick. */
    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    public void start(Duration syncTimeout) throws Exception {
        SharedIndexInformer<Lease> inf = client.leases().inNamespace(namespace)
                .withLabel(LeaseNaming.LABEL_GROUP, naming.group()).runnableInformer(0);
        inf.exceptionHandler((started, t) -> {
            log.atWarn().addKeyValue("namespace", namespace).addKeyValue("error", t.toString())
                    .log("lease watch failed; retrying");
            return true;
        });
        inf.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Lease lease) {
                record(lease, false);
            }

            @Override
            public void onUpdate(Lease before, Lease after) {
                record(after, false);
            }

            @Override
            public void onDelete(Lease lease, boolean finalStateUnknown) {
                record(lease, true);
            }
        });
        informer = inf;
        inf.start().toCompletableFuture().get(syncTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void record(Lease lease, boolean deleted) {
        if (lease == null || lease.getMetadata() == null || lease.getMetadata().getName() == null) {
            return;
        }
        long now = System.nanoTime();
        String rv = lease.getMetadata().getResourceVersion();
        if (rv != null) {
            versions.compute(lease.getMetadata().getName(), (name, q) -> {
                java.util.Deque<String> d = q == null ? new java.util.ArrayDeque<>() : q;
                synchronized (d) {
                    d.addLast(rv);
                    while (d.size() > 16) {
                        d.removeFirst();
                    }
                }
                return d;
            });
        }
        seen.compute(lease.getMetadata().getName(), (name, before) -> {
            boolean renewed = before == null || before.deleted() != deleted || !sameTenure(before.lease(), lease);
            return new Seen(lease, renewed ? now : before.changedNanos(), deleted);
        });
        listeners.forEach(l -> {
            try {
                l.run();
            } catch (RuntimeException e) {
                log.atError().addKeyValue("error", e.toString()).log("lease listener failed");
            }
        });
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
    public boolean hasSeen(String name, String resourceVersion) {
        java.util.Deque<String> d = versions.get(name);
        if (d == null) {
            return false;
        }
        synchronized (d) {
            return d.contains(resourceVersion);
        }
    }

    /** Forgets deleted Leases whose last holder's lease has run out, so members that came and went do not accumulate. */
    public void prune() {
        long now = System.nanoTime();
        seen.entrySet().removeIf(e -> e.getValue().deleted() && now >= expiresAtNanos(e.getValue()));
        versions.keySet().removeIf(name -> !seen.containsKey(name));
    }

    public Optional<Seen> get(String name) {
        return Optional.ofNullable(seen.get(name));
    }

    /** The Lease as it stands (deleted ones excluded). */
    public Optional<Lease> current(String name) {
        Seen s = seen.get(name);
        return s == null || s.deleted() ? Optional.empty() : Optional.of(s.lease());
    }

    public List<Seen> all() {
        return List.copyOf(seen.values());
    }

    public Duration durationOf(Seen s) {
        Integer secs = s.lease().getSpec() == null ? null : s.lease().getSpec().getLeaseDurationSeconds();
        return secs == null || secs <= 0 ? defaultDuration : Duration.ofSeconds(secs);
    }

    /** When {@code s} expires on this replica's monotonic clock (meaningless if it has no holder). */
    public long expiresAtNanos(Seen s) {
        return s.changedNanos() + durationOf(s).toNanos();
    }

    /** Held by someone who was seen renewing within the lease duration. */
    public boolean isHeld(Seen s) {
        return !s.holder().isEmpty() && System.nanoTime() < expiresAtNanos(s);
    }

    public String namespace() {
        return namespace;
    }

    public LeaseNaming naming() {
        return naming;
    }

    @Override
    public void close() {
        SharedIndexInformer<Lease> inf = informer;
        if (inf != null) {
            inf.stop();
        }
    }
}
