package dev.flotilla.chaos.engine;

import dev.flotilla.examples.mirror.ConfigMapMirror;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the replicas converge: source ConfigMaps of the mirror controller in several namespaces,
 * updated by a load generator (the admin, outside the replicas' budgets) that remembers every
 * value it wrote, so that the final state shows whether an update was lost.
 */
public final class Workload {

    /** The data key the generator writes: a counter per source. */
    public static final String KEY = "v";

    private final KubernetesClient admin;
    private final List<String> namespaces;
    private final int perNamespace;
    private final Map<String, Long> last = new ConcurrentHashMap<>();
    private final AtomicLong updates = new AtomicLong();
    private volatile Thread steady;
    private volatile boolean stopSteady;

    public Workload(KubernetesClient admin, int namespaceCount, int perNamespace) {
        this.admin = admin;
        List<String> ns = new ArrayList<>();
        for (int i = 0; i < namespaceCount; i++) {
            ns.add("chaos-%02d-work".formatted(i));
        }
        this.namespaces = List.copyOf(ns);
        this.perNamespace = perNamespace;
    }

    public List<String> namespaces() {
        return namespaces;
    }

    public int sources() {
        return namespaces.size() * perNamespace;
    }

    public long updates() {
        return updates.get();
    }

    /** Creates the namespaces and the sources (value 0). */
    public void populate() {
        for (String ns : namespaces) {
            admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
                    .serverSideApply();
            for (int i = 0; i < perNamespace; i++) {
                write(ns, name(i), 0);
            }
        }
    }

    private static String name(int i) {
        return "src-%02d".formatted(i);
    }

    private void write(String ns, String name, long value) {
        admin.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .addToLabels(ConfigMapMirror.SOURCE_LABEL, ConfigMapMirror.SOURCE_VALUE).endMetadata()
                .addToData(KEY, String.valueOf(value)).build()).fieldManager("chaos-load").forceConflicts().serverSideApply();
        last.put(ns + "/" + name, value);
        updates.incrementAndGet();
    }

    /** Updates every source once (a new value each). */
    public void wave() {
        for (String ns : namespaces) {
            for (int i = 0; i < perNamespace; i++) {
                bump(ns, name(i));
            }
        }
    }

    private void bump(String ns, String name) {
        write(ns, name, last.getOrDefault(ns + "/" + name, 0L) + 1);
    }

    /** Starts updating sources round-robin at {@code perSecond} until {@link #stopSteady}. */
    public void startSteady(double perSecond) {
        stopSteady = false;
        long periodNanos = (long) (1e9 / perSecond);
        steady = Thread.ofPlatform().daemon().name("chaos-load").start(() -> {
            long next = System.nanoTime();
            int i = 0;
            while (!stopSteady) {
                String ns = namespaces.get(i % namespaces.size());
                try {
                    bump(ns, name((i / namespaces.size()) % perNamespace));
                } catch (RuntimeException e) {
                    // the API server may be down (etcd killed): the generator retries the same source
                    i--;
                }
                i++;
                next += periodNanos;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                }
            }
        });
    }

    public void stopSteady() throws InterruptedException {
        stopSteady = true;
        if (steady != null) {
            steady.join(30_000);
        }
    }

    /** Where the cluster is now against what the generator wrote last. */
    public State state() {
        int converged = 0;
        List<String> lost = new ArrayList<>();
        List<String> overwritten = new ArrayList<>();
        // Two lists across the namespaces, not two per namespace: this runs every few hundred milliseconds.
        Map<String, ConfigMap> mirrors = new HashMap<>();
        for (ConfigMap m : admin.configMaps().inAnyNamespace().withLabel(ConfigMapMirror.ROLE_LABEL, ConfigMapMirror.ROLE_COPY)
                .list().getItems()) {
            mirrors.put(m.getMetadata().getNamespace() + "/" + m.getMetadata().getName(), m);
        }
        for (ConfigMap s : admin.configMaps().inAnyNamespace().withLabel(ConfigMapMirror.SOURCE_LABEL, ConfigMapMirror.SOURCE_VALUE)
                .list().getItems()) {
            String key = s.getMetadata().getNamespace() + "/" + s.getMetadata().getName();
            if (!last.containsKey(key)) {
                continue; // not this workload's
            }
            String wanted = String.valueOf(last.get(key));
            String source = s.getData() == null ? null : s.getData().get(KEY);
            if (!wanted.equals(source)) {
                overwritten.add(key + " holds " + source + ", the generator wrote " + wanted);
            }
            ConfigMap m = mirrors.get(key + ConfigMapMirror.MIRROR_SUFFIX);
            String mirrored = m == null || m.getData() == null ? null : m.getData().get(KEY);
            if (wanted.equals(mirrored)) {
                converged++;
            } else {
                lost.add(key + " mirrored " + mirrored + ", wanted " + wanted);
            }
        }
        return new State(converged, sources(), List.copyOf(lost), List.copyOf(overwritten));
    }

    /**
     * @param converged   sources whose mirror holds the generator's last value
     * @param total       sources
     * @param behind      the others, each naming what its mirror holds
     * @param overwritten sources whose own value is not the generator's last (someone else wrote them)
     */
    public record State(int converged, int total, List<String> behind, List<String> overwritten) {
        public boolean done() {
            return converged == total && overwritten.isEmpty();
        }
    }
}
