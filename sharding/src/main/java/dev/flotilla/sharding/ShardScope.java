package dev.flotilla.sharding;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.cache.InformerKey;
import dev.flotilla.core.cache.InformerScope;
import dev.flotilla.core.cache.Partition;
import dev.flotilla.core.cache.WatchedNamespaces;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Narrows a replica's informers to the shards it holds. Per resource type, the first LIST with a
 * {@code shardSelector} decides the mode: if the server echoes the selector in
 * {@code metadata.shardInfo} (KEP-5866, feature gate ShardedListAndWatch) each held shard is one
 * server-filtered watch; if not (the server ignores what it does not know), each namespace of a
 * held shard is one namespaced watch, fed by a cluster-wide watch on namespaces. Either way the
 * cache holds only this replica's share. With a fixed list of namespaces (a Role-only install) there is
 * neither probe nor namespace watch: each listed namespace of a held shard is one namespaced watch.
 */
final class ShardScope implements InformerScope {

    private static final Logger log = LoggerFactory.getLogger(ShardScope.class);

    enum Mode {
        SERVER_SIDE("server-side"), PER_NAMESPACE("per-namespace");

        final String label;

        Mode(String label) {
            this.label = label;
        }
    }

    private final KubernetesClient client;
    private final HeldRanges ranges;
    private final ShardMetrics metrics;
    private final String replica;
    private volatile Runnable namespacesChanged = () -> { };
    private final Map<Class<?>, Mode> modes = new ConcurrentHashMap<>();
    /** Every namespaced type asked about, so that {@link #probeAll} can decide their modes before any shard is held. */
    private final Set<Class<? extends HasMetadata>> types = ConcurrentHashMap.newKeySet();
    /** Every namespace seen by the namespace watch (per-namespace mode); a held shard's are those in its range. */
    private final Set<String> namespaces = ConcurrentHashMap.newKeySet();
    /** A fixed list of namespaces (a Role-only install): per-namespace mode without probing or a namespace watch. */
    private final boolean listed;
    private volatile Set<Integer> held = Set.of();
    private final Object probeLock = new Object();
    private SharedIndexInformer<Namespace> namespaceInformer;

    ShardScope(KubernetesClient client, HeldRanges ranges, ShardMetrics metrics, String replica, WatchedNamespaces watched) {
        this.client = client;
        this.ranges = ranges;
        this.metrics = metrics;
        this.replica = replica;
        this.listed = watched instanceof WatchedNamespaces.Listed;
        if (watched instanceof WatchedNamespaces.Listed l) {
            namespaces.addAll(l.names());
        }
    }

    /** Called (on the namespace watch's thread) when a namespace of a held shard appeared or went, in per-namespace mode. */
    void onNamespacesChanged(Runnable listener) {
        namespacesChanged = listener;
    }

    /** A copy of this scope holding {@code shards}. */
    void hold(Set<Integer> shards) {
        held = Set.copyOf(new TreeSet<>(shards));
    }

    Set<Integer> held() {
        return held;
    }

    @Override
    public Set<Partition> partitionsFor(InformerKey<?> key) {
        Set<Integer> now = held;
        types.add(key.type());
        if (now.isEmpty()) {
            return Set.of(); // nothing held: no partition, and no need to ask the server anything yet
        }
        Set<Partition> out = new LinkedHashSet<>();
        if (modeOf(key.type()) == Mode.SERVER_SIDE) {
            for (int shard : now) {
                ranges.of(shard).ifPresent(r -> out.add(Partition.shard("shard-" + shard, ShardSelector.of(r.shardRange()))));
            }
        } else {
            for (String ns : namespaces) {
                int shard = ranges.slotOf(ns);
                if (shard >= 0 && now.contains(shard)) {
                    out.add(Partition.namespace(ns));
                }
            }
        }
        return out;
    }

    /** Whether {@code partition} watches (part of) {@code shard}. */
    boolean belongsTo(Partition partition, int shard) {
        return partition.isNamespace() ? ranges.contains(shard, partition.namespace())
                : partition.name().equals("shard-" + shard);
    }

    /** Decides the mode of every type asked about so far (the manager's informers), so a server that cannot be probed fails the join. */
    void probeAll() {
        types.forEach(this::modeOf);
    }

    /** Decides (once per type) how its informers are narrowed. */
    Mode modeOf(Class<? extends HasMetadata> type) {
        Mode known = modes.get(type);
        if (known != null) {
            return known;
        }
        synchronized (probeLock) { // not `this`: informers call in here while holding their own lock
            return modes.computeIfAbsent(type, t -> {
                Mode mode = listed ? Mode.PER_NAMESPACE : probe(type);
                log.atInfo().addKeyValue("replica", replica).addKeyValue("resource", type.getSimpleName())
                        .addKeyValue("mode", mode.label).addKeyValue("namespaces", listed ? "listed" : "discovered")
                        .log("shard-scoped informers mode chosen");
                metrics.informerMode(type.getSimpleName(), mode.label);
                if (mode == Mode.PER_NAMESPACE && !listed) {
                    startNamespaceWatch();
                }
                return mode;
            });
        }
    }

    private Mode probe(Class<? extends HasMetadata> type) {
        var list = client.resources(type).inAnyNamespace().withShardSelector(ShardSelector.of(HashRange.all().shardRange()))
                .list(new ListOptionsBuilder().withLimit(1L).build());
        return list.getMetadata() != null && list.getMetadata().getShardInfo() != null ? Mode.SERVER_SIDE
                : Mode.PER_NAMESPACE;
    }

    private void startNamespaceWatch() {
        if (namespaceInformer != null) {
            return;
        }
        namespaceInformer = client.namespaces().runnableInformer(0);
        namespaceInformer.exceptionHandler((started, t) -> {
            log.atWarn().addKeyValue("error", FailureText.of(t)).log("namespace watch failed; retrying");
            return true;
        });
        namespaceInformer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Namespace ns) {
                change(ns, true);
            }

            @Override
            public void onUpdate(Namespace before, Namespace after) {
            }

            @Override
            public void onDelete(Namespace ns, boolean finalStateUnknown) {
                change(ns, false);
            }
        });
        try {
            namespaceInformer.start().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new ShardingSetupException("cannot watch namespaces, which per-namespace mode needs: " + e.getMessage(), e);
        }
    }

    private void change(Namespace ns, boolean added) {
        if (ns == null || ns.getMetadata() == null || ns.getMetadata().getName() == null) {
            return;
        }
        String name = ns.getMetadata().getName();
        boolean changed = added ? namespaces.add(name) : namespaces.remove(name);
        int shard = ranges.slotOf(name);
        if (changed && shard >= 0 && held.contains(shard)) {
            namespacesChanged.run();
        }
    }

    void close() {
        if (namespaceInformer != null) {
            namespaceInformer.stop();
        }
    }
}
