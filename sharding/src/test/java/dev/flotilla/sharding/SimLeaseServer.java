package dev.flotilla.sharding;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The API server as far as Leases go: one store with resourceVersions and optimistic writes (a
 * stale version is a 409, an update of a missing Lease a 404), watches fanned out to every
 * process with that process's delay, in order, and relists after a partition heals. Requests
 * travel over each process's {@link SimPeer.Network}: a partitioned process's requests time
 * out; a slow one's may be applied after its client gave up. Stored Leases are never changed in
 * place, so one copy per version is shared by every reader.
 */
final class SimLeaseServer {

    private final SimWorld world;
    private final Map<String, Lease> leases = new TreeMap<>();
    private final List<SimPeer> watchers = new ArrayList<>();
    private long resourceVersion = 100;
    private long writes;
    private final List<Rule> rules = new ArrayList<>();

    /** What a request is, for {@link Rule}s. */
    enum Op { GET, CREATE, UPDATE, DELETE }

    /** Answers a request instead of the store (a 409, a 404, a failure): the unit tests' scripted faults. */
    @FunctionalInterface
    interface Rule {
        Optional<LeaseWrite> answer(SimPeer from, Op op, String name);
    }
    private java.util.function.Consumer<Lease> onWrite = l -> { };

    SimLeaseServer(SimWorld world) {
        this.world = world;
    }

    /** Told of every stored version (the simulation's timelines). */
    void onWrite(java.util.function.Consumer<Lease> listener) {
        this.onWrite = listener;
    }

    long writes() {
        return writes;
    }

    Optional<Lease> current(String name) {
        return Optional.ofNullable(leases.get(name));
    }

    Map<String, Lease> all() {
        return Map.copyOf(leases);
    }

    /** Adds a rule, consulted in order when a request reaches the server. */
    void rule(Rule rule) {
        rules.add(rule);
    }

    void clearRules() {
        rules.clear();
    }

    private Optional<LeaseWrite> ruled(SimPeer from, Op op, String name) {
        for (Rule r : rules) {
            Optional<LeaseWrite> answer = r.answer(from, op, name);
            if (answer.isPresent()) {
                return answer;
            }
        }
        return Optional.empty();
    }

    /** Stores {@code lease} as a hand-made object would be, now (no client, no network). */
    Lease put(Lease lease) {
        return store(copy(lease));
    }

    /** A hand edit or a foreign writer, applied now, bypassing every client. */
    void edit(String name, UnaryOperator<Lease> edit) {
        Lease base = leases.get(name);
        if (base != null) {
            store(edit.apply(copy(base)));
        }
    }

    /** Deletes a Lease by hand, now. */
    void deleteNow(String name) {
        Lease gone = leases.remove(name);
        if (gone != null) {
            writes++;
            watchers.forEach(w -> w.deliver(gone, true));
        }
    }

    /** Starts {@code process}'s watch: it receives the current Leases (its first LIST), then every change. */
    void watch(SimPeer process) {
        watchers.removeIf(SimWorld.Owner::killed);
        watchers.add(process);
        process.relist(Map.copyOf(leases));
    }

    LeaseStore storeFor(SimPeer process) {
        return new LeaseStore() {
            @Override
            public CompletableFuture<Optional<Lease>> get(String name) {
                CompletableFuture<Optional<Lease>> result = new CompletableFuture<>();
                request(process, () -> {
                    if (ruled(process, Op.GET, name).isPresent()) {
                        throw new IllegalStateException("scripted read failure of " + name);
                    }
                    return current(name);
                }, result, null);
                return result;
            }

            @Override
            public CompletableFuture<LeaseWrite> create(Lease lease) {
                Lease sent = copy(lease);
                CompletableFuture<LeaseWrite> result = new CompletableFuture<>();
                request(process, () -> {
                    Optional<LeaseWrite> ruled = ruled(process, Op.CREATE, sent.getMetadata().getName());
                    if (ruled.isPresent()) {
                        return ruled.get();
                    }
                    if (leases.containsKey(sent.getMetadata().getName())) {
                        return new LeaseWrite.Conflict();
                    }
                    return new LeaseWrite.Written(store(sent));
                }, result, new LeaseWrite.Failed(new TimeoutException("request timed out")));
                return result;
            }

            @Override
            public CompletableFuture<LeaseWrite> update(Lease base, UnaryOperator<Lease> edit) {
                Lease sent = edit.apply(copy(base)); // edited on the client, as fabric8 does
                CompletableFuture<LeaseWrite> result = new CompletableFuture<>();
                request(process, () -> {
                    Optional<LeaseWrite> ruled = ruled(process, Op.UPDATE, sent.getMetadata().getName());
                    if (ruled.isPresent()) {
                        return ruled.get();
                    }
                    Lease now = leases.get(sent.getMetadata().getName());
                    if (now == null) {
                        return new LeaseWrite.Missing();
                    }
                    if (!now.getMetadata().getResourceVersion().equals(sent.getMetadata().getResourceVersion())) {
                        return new LeaseWrite.Conflict();
                    }
                    return new LeaseWrite.Written(store(sent));
                }, result, new LeaseWrite.Failed(new TimeoutException("request timed out")));
                return result;
            }

            @Override
            public CompletableFuture<LeaseWrite> delete(String name) {
                CompletableFuture<LeaseWrite> result = new CompletableFuture<>();
                request(process, () -> {
                    Optional<LeaseWrite> ruled = ruled(process, Op.DELETE, name);
                    if (ruled.isPresent()) {
                        return ruled.get();
                    }
                    Lease gone = leases.get(name);
                    if (gone == null) {
                        return new LeaseWrite.Missing();
                    }
                    deleteNow(name);
                    return new LeaseWrite.Written(gone);
                }, result, new LeaseWrite.Failed(new TimeoutException("request timed out")));
                return result;
            }
        };
    }

    /**
     * Sends one request: applied on the server after the request delay unless the process is cut
     * off when it sends; the answer arrives after the response delay unless the process is cut
     * off by then or the round trip exceeds its timeout, in which case the client sees a failure
     * at the timeout (while the server may still have applied it).
     */
    private <T> void request(SimPeer p, Supplier<T> onServer, CompletableFuture<T> result, T onTimeout) {
        long sent = world.nanoTime();
        SimPeer.Network net = p.network();
        long timeoutAt = sent + net.timeoutNanos();
        Runnable timedOut = () -> {
            if (onTimeout != null) {
                result.complete(onTimeout);
            } else {
                result.completeExceptionally(new TimeoutException("request timed out"));
            }
        };
        if (p.partitionedAt(sent)) {
            world.at(timeoutAt, p, timedOut);
            return;
        }
        long there = net.delayNanos(world.random());
        long back = net.delayNanos(world.random());
        world.at(sent + there, null, () -> {
            T answer;
            RuntimeException failure = null;
            try {
                answer = onServer.get();
            } catch (RuntimeException e) {
                answer = null;
                failure = e;
            }
            long arrives = world.nanoTime() + back;
            if (arrives >= timeoutAt || p.partitionedAt(arrives)) {
                world.at(timeoutAt, p, timedOut);
            } else {
                T a = answer;
                RuntimeException f = failure;
                world.at(arrives, p, () -> {
                    if (f != null) {
                        result.completeExceptionally(f);
                    } else {
                        result.complete(a);
                    }
                });
            }
        });
    }

    private Lease store(Lease lease) {
        lease.getMetadata().setResourceVersion(Long.toString(++resourceVersion));
        leases.put(lease.getMetadata().getName(), lease);
        writes++;
        onWrite.accept(lease);
        for (SimPeer w : watchers) {
            if (!w.killed()) {
                w.deliver(lease, false);
            }
        }
        return lease;
    }

    /**
     * A copy of what a Lease write can change (metadata names, version, labels, annotations; the
     * spec): fabric8's builder copies deeply through every field and would dominate the run.
     */
    static Lease copy(Lease lease) {
        ObjectMeta m = lease.getMetadata();
        ObjectMeta meta = new ObjectMeta();
        meta.setName(m.getName());
        meta.setNamespace(m.getNamespace());
        meta.setResourceVersion(m.getResourceVersion());
        meta.setLabels(m.getLabels() == null ? null : new HashMap<>(m.getLabels()));
        meta.setAnnotations(m.getAnnotations() == null ? null : new HashMap<>(m.getAnnotations()));
        LeaseSpec s = lease.getSpec();
        LeaseSpec spec = s == null ? null : new LeaseSpec(s.getAcquireTime(), s.getHolderIdentity(), s.getLeaseDurationSeconds(),
                s.getLeaseTransitions(), s.getPreferredHolder(), s.getRenewTime(), s.getStrategy());
        Lease copy = new Lease();
        copy.setMetadata(meta);
        copy.setSpec(spec);
        return copy;
    }
}
