package dev.flotilla.bench.e2e;

import dev.flotilla.bench.protocol.EventLatency;
import dev.flotilla.bench.protocol.LatencySummary;
import dev.flotilla.examples.mirror.ConfigMapMirror;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The driver's view of convergence, from outside every contender: an informer on all mirrors,
 * and for each source the resourceVersion its mirror must carry. A source is converged when its
 * mirror's observed-resource-version annotation equals the source's current resourceVersion. The
 * same watch times each stamped update from send to mirror seen (end-to-end latency).
 */
final class MirrorTracker implements AutoCloseable {

    private final SharedIndexInformer<ConfigMap> informer;
    private final Map<String, String> expected = new HashMap<>();
    private final Map<String, String> observed = new HashMap<>();
    private final Map<String, Long> observedAtMicros = new HashMap<>();
    private final Map<String, Long> sentAtMicros = new HashMap<>();
    private long[] latencies = new long[1024];
    private int latencyCount;
    private int converged;
    private long convergedAtMillis;

    MirrorTracker(KubernetesClient client) throws Exception {
        informer = client.configMaps().inAnyNamespace().withLabelSelector(ConfigMapMirror.MIRROR_SELECTOR).runnableInformer(0);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap mirror) {
                observe(mirror);
            }

            @Override
            public void onUpdate(ConfigMap oldMirror, ConfigMap mirror) {
                observe(mirror);
            }

            @Override
            public void onDelete(ConfigMap mirror, boolean finalStateUnknown) {
                forget(mirror);
            }
        });
        informer.start().toCompletableFuture().get(2, TimeUnit.MINUTES);
    }

    private static String sourceKey(ConfigMap mirror) {
        String name = mirror.getMetadata().getName();
        String source = name.endsWith(ConfigMapMirror.MIRROR_SUFFIX)
                ? name.substring(0, name.length() - ConfigMapMirror.MIRROR_SUFFIX.length()) : name;
        return mirror.getMetadata().getNamespace() + "/" + source;
    }

    private synchronized void observe(ConfigMap mirror) {
        long now = EventLatency.nowMicros();
        String key = sourceKey(mirror);
        Map<String, String> a = mirror.getMetadata().getAnnotations();
        String rv = a == null ? null : a.get(ConfigMapMirror.OBSERVED_RESOURCE_VERSION);
        String before = observed.put(key, rv);
        observedAtMicros.put(key, now);
        String want = expected.get(key);
        boolean was = want != null && want.equals(before);
        boolean is = want != null && want.equals(rv);
        if (is && !was) {
            converged++;
            Long sent = sentAtMicros.remove(key);
            if (sent != null) {
                addLatency(now - sent);
            }
            if (converged == expected.size()) {
                convergedAtMillis = System.currentTimeMillis();
                notifyAll();
            }
        } else if (was && !is) {
            converged--;
        }
    }

    private synchronized void forget(ConfigMap mirror) {
        String key = sourceKey(mirror);
        String before = observed.remove(key);
        observedAtMicros.remove(key);
        if (before != null && before.equals(expected.get(key))) {
            converged--;
        }
        notifyAll();
    }

    /** The source {@code key} is now at {@code resourceVersion}; {@code sentAtMicros} (or -1) times it end to end. */
    synchronized void expect(String key, String resourceVersion, long sentMicros) {
        String old = expected.put(key, resourceVersion);
        String have = observed.get(key);
        boolean was = old != null && old.equals(have);
        boolean is = resourceVersion.equals(have);
        if (was && !is) {
            converged--;
        } else if (is && !was) {
            converged++; // the mirror was seen before the driver had the update's response
            if (converged == expected.size()) {
                convergedAtMillis = System.currentTimeMillis();
                notifyAll();
            }
            if (sentMicros >= 0) {
                addLatency(observedAtMicros.get(key) - sentMicros);
            }
            return;
        }
        if (sentMicros >= 0 && !is) {
            sentAtMicros.put(key, sentMicros);
        }
    }

    private void addLatency(long micros) {
        if (latencyCount == latencies.length) {
            latencies = Arrays.copyOf(latencies, latencyCount * 2);
        }
        latencies[latencyCount++] = Math.max(0, micros);
    }

    synchronized LatencySummary drainLatencies() {
        LatencySummary s = LatencySummary.of(Arrays.copyOf(latencies, latencyCount));
        latencyCount = 0;
        sentAtMicros.clear();
        return s;
    }

    /** The wall-clock millis at which every expected source had its mirror, waiting at most {@code timeout}. */
    synchronized long awaitConverged(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (converged < expected.size()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IllegalStateException("not converged within " + timeout + ": " + converged + " of "
                        + expected.size() + " mirrors up to date");
            }
            wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
        return convergedAtMillis;
    }

    /** Waits until the driver's cache holds no mirror. */
    synchronized void awaitNoMirrors(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!observed.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IllegalStateException(observed.size() + " mirrors still present after " + timeout);
            }
            wait(Math.max(1, Math.min(500, TimeUnit.NANOSECONDS.toMillis(left))));
        }
    }

    /**
     * Forgets every mirror seen so far, so that only mirrors written from now on count: called just
     * before deleting all mirrors while a controller runs, whose recreations overlap the deletions.
     * (A deleted mirror's event always precedes its recreation's in the watch.)
     */
    synchronized void forgetSeen() {
        observed.clear();
        observedAtMicros.clear();
        converged = 0;
    }

    @Override
    public void close() {
        informer.stop();
    }
}
