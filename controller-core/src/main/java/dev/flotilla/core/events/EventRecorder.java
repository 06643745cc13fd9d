package dev.flotilla.core.events;

import dev.flotilla.core.logging.FailureText;
import dev.flotilla.core.ratelimit.TokenBucket;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records Kubernetes Events (core/v1) about objects, aggregated and rate-limited like client-go's
 * event correlator: identical events (same object, type, reason and message) within
 * {@link #AGGREGATION_WINDOW} update one Event's {@code count} instead of creating new ones, and
 * each object may cause at most {@link #BURST} writes, refilled one per {@link #REFILL_PERIOD}.
 * Suppressed repeats are still counted and show up in the next write. Writes happen in the
 * background; a failed write is logged at debug and never fails a reconcile.
 *
 * <pre>{@code
 * ConfigMap configMap; // what the event is about
 * EventRecorder events = new EventRecorder(client, "flotilla-mirror", "replica-0", Clock.systemUTC());
 * events.normal(configMap, "Mirrored", "mirror shop/settings-mirror is up to date");
 * }</pre>
 */
public final class EventRecorder implements AutoCloseable {

    public static final Duration AGGREGATION_WINDOW = Duration.ofMinutes(10);
    public static final int BURST = 25;
    public static final Duration REFILL_PERIOD = Duration.ofMinutes(5);
    /** Objects tracked at once before the oldest state is dropped (bounds memory). */
    static final int MAX_TRACKED = 4096;

    private static final Logger log = LoggerFactory.getLogger(EventRecorder.class);

    public enum Type { Normal, Warning }

    private record SeriesKey(String namespace, String uid, String name, String kind, Type type, String reason,
            String message) {
    }

    private static final class Series {
        final String eventName;
        final Instant first;
        Instant last;
        int count;
        int written;

        Series(String eventName, Instant first) {
            this.eventName = eventName;
            this.first = first;
            this.last = first;
        }
    }

    private final KubernetesClient client;
    private final String component;
    private final String instance;
    private final Clock clock;
    private final Map<SeriesKey, Series> series = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong sequence = new java.util.concurrent.atomic.AtomicLong();
    private final Map<String, TokenBucket> budgets = new ConcurrentHashMap<>();
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "event-recorder");
        t.setDaemon(true);
        return t;
    });

    public EventRecorder(KubernetesClient client, String component, String instance, Clock clock) {
        this.client = Objects.requireNonNull(client, "client");
        this.component = Objects.requireNonNull(component, "component");
        this.instance = Objects.requireNonNull(instance, "instance");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public void normal(HasMetadata regarding, String reason, String message) {
        record(regarding, Type.Normal, reason, message);
    }

    public void warning(HasMetadata regarding, String reason, String message) {
        record(regarding, Type.Warning, reason, message);
    }

    public void record(HasMetadata regarding, Type type, String reason, String message) {
        Objects.requireNonNull(regarding, "regarding");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(reason, "reason");
        String namespace = regarding.getMetadata().getNamespace() == null ? "default" : regarding.getMetadata().getNamespace();
        String uid = String.valueOf(regarding.getMetadata().getUid());
        SeriesKey key = new SeriesKey(namespace, uid, regarding.getMetadata().getName(), regarding.getKind(), type,
                reason, message == null ? "" : message);
        Instant now = Instant.now(clock);
        if (series.size() > MAX_TRACKED) {
            series.entrySet().removeIf(e -> e.getValue().last.plus(AGGREGATION_WINDOW).isBefore(now));
            if (series.size() > MAX_TRACKED) {
                series.clear();
            }
        }
        if (budgets.size() > MAX_TRACKED) {
            budgets.clear();
        }
        Series s = series.compute(key, (k, existing) -> {
            Series next = existing == null || existing.last.plus(AGGREGATION_WINDOW).isBefore(now)
                    ? new Series(eventName(regarding, now), now)
                    : existing;
            next.count++;
            next.last = now;
            return next;
        });
        TokenBucket budget = budgets.computeIfAbsent(namespace + "/" + uid,
                k -> new TokenBucket(1.0 / REFILL_PERIOD.toSeconds(), BURST));
        if (!budget.tryAcquire()) {
            return; // counted; reaches the API server with the next allowed write of this series
        }
        writer.execute(() -> write(key, s, regarding));
    }

    /** client-go names events {@code <object>.<hex time>}; the sequence keeps names unique on a coarse clock. */
    private String eventName(HasMetadata regarding, Instant now) {
        return regarding.getMetadata().getName() + "." + Long.toHexString(now.toEpochMilli()) + Long.toHexString(sequence.incrementAndGet());
    }

    private void write(SeriesKey key, Series s, HasMetadata regarding) {
        int count;
        Instant last;
        synchronized (s) {
            count = s.count;
            last = s.last;
            if (count <= s.written) {
                return;
            }
        }
        try {
            if (s.written == 0) {
                Event event = new EventBuilder()
                        .withNewMetadata().withName(s.eventName).withNamespace(key.namespace()).endMetadata()
                        .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion(regarding.getApiVersion())
                                .withKind(key.kind()).withName(key.name()).withNamespace(regarding.getMetadata().getNamespace())
                                .withUid(regarding.getMetadata().getUid())
                                .withResourceVersion(regarding.getMetadata().getResourceVersion()).build())
                        .withType(key.type().name()).withReason(key.reason()).withMessage(key.message())
                        .withCount(count).withFirstTimestamp(ts(s.first)).withLastTimestamp(ts(last))
                        .withNewSource().withComponent(component).endSource()
                        .withReportingComponent(component).withReportingInstance(instance)
                        .build();
                try {
                    client.v1().events().inNamespace(key.namespace()).resource(event).create();
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409) {
                        throw e;
                    }
                    patchCount(key.namespace(), s.eventName, count, last);
                }
            } else {
                patchCount(key.namespace(), s.eventName, count, last);
            }
            synchronized (s) {
                s.written = Math.max(s.written, count);
            }
        } catch (RuntimeException e) {
            log.atDebug().addKeyValue("namespace", key.namespace()).addKeyValue("name", key.name())
                    .addKeyValue("reason", key.reason()).addKeyValue("error", FailureText.of(e)).log("event not recorded");
        }
    }

    private void patchCount(String namespace, String name, int count, Instant last) {
        // On a resource, not withName(): fabric8 would GET the Event first, which needs a permission (get events)
        // nothing else uses; the API server's audit log showed those GETs refused under the shipped RBAC.
        Event named = new EventBuilder().withNewMetadata().withName(name).withNamespace(namespace).endMetadata().build();
        client.v1().events().inNamespace(namespace).resource(named).patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"count\":" + count + ",\"lastTimestamp\":\"" + ts(last) + "\"}");
    }

    private static String ts(Instant i) {
        return i.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /** Waits up to {@code timeout} for queued writes; for tests and shutdown. */
    public boolean flush(Duration timeout) throws InterruptedException {
        var done = new java.util.concurrent.CountDownLatch(1);
        writer.execute(done::countDown);
        return done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        writer.shutdown();
    }
}
