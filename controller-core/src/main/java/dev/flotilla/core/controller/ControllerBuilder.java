package dev.flotilla.core.controller;

import dev.flotilla.core.cache.InformerKey;
import dev.flotilla.core.cache.SharedInformer;
import dev.flotilla.core.cache.SharedInformers;
import dev.flotilla.core.metrics.ControllerMetrics;
import dev.flotilla.core.metrics.WorkQueueMetrics;
import dev.flotilla.core.queue.RateLimiter;
import dev.flotilla.core.queue.WorkQueue;
import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;
import dev.flotilla.core.names.DnsNames;

/**
 * Declares a controller, controller-runtime style. Obtain one from the manager.
 *
 * <pre>{@code
 * manager.controller(ConfigMap.class)
 *         .named("configmap-mirror")
 *         .withLabelSelector("flotilla.dev/mirror=true")
 *         .withPredicate(EventPredicate.resourceVersionChanged())
 *         .owns(ConfigMap.class, "flotilla.dev/mirror-role=copy")
 *         .workers(4)
 *         .complete(reconciler);
 * }</pre>
 */
public final class ControllerBuilder<T extends HasMetadata> {

    /** Default number of concurrent reconciles per controller. */
    public static final int DEFAULT_WORKERS = 2;


    /** What the manager lends a controller while it is built. */
    public record Context(SharedInformers informers, MeterRegistry registry, KeyGate gate,
            Consumer<Controller<?>> register) {
        public Context {
            Objects.requireNonNull(informers, "informers");
            Objects.requireNonNull(registry, "registry");
            Objects.requireNonNull(gate, "gate");
            Objects.requireNonNull(register, "register");
        }
    }

    private record Watch<S extends HasMetadata>(InformerKey<S> key, EventPredicate<S> predicate, KeyMapper<S> mapper) {
    }

    private final Class<T> type;
    private final Context context;
    private String name;
    private String labelSelector = "";
    private EventPredicate<T> predicate = EventPredicate.all();
    private final List<Watch<?>> watches = new ArrayList<>();
    private int workers = DEFAULT_WORKERS;
    private WorkerThreads threads = WorkerThreads.VIRTUAL;
    private RateLimiter<ObjectKey> rateLimiter;

    public ControllerBuilder(Class<T> type, Context context) {
        this.type = Objects.requireNonNull(type, "type");
        this.context = Objects.requireNonNull(context, "context");
        this.name = type.getSimpleName().toLowerCase(Locale.ROOT);
    }

    /** The controller's name: a DNS label, used in metrics, logs and thread names. */
    public ControllerBuilder<T> named(String name) {
        Objects.requireNonNull(name, "name");
        if (!DnsNames.isLabel(name, DnsNames.LABEL_MAX)) {
            throw new IllegalArgumentException("controller name '" + name
                    + "' must be a DNS label: lower-case letters, digits and '-', at most 63 characters");
        }
        this.name = name;
        return this;
    }

    /** Narrows the primary informer with a server-side label selector. */
    public ControllerBuilder<T> withLabelSelector(String selector) {
        this.labelSelector = Objects.requireNonNull(selector, "selector");
        return this;
    }

    /** Adds a predicate on primary events; several predicates must all accept. */
    public ControllerBuilder<T> withPredicate(EventPredicate<T> predicate) {
        this.predicate = this.predicate.and(Objects.requireNonNull(predicate, "predicate"));
        return this;
    }

    /** Watches objects of {@code ownedType} controlled by a primary (owner reference, controller=true). */
    public <S extends HasMetadata> ControllerBuilder<T> owns(Class<S> ownedType) {
        return owns(ownedType, "");
    }

    /** As {@link #owns(Class)}, narrowed by a label selector so the cache holds only owned objects. */
    public <S extends HasMetadata> ControllerBuilder<T> owns(Class<S> ownedType, String labelSelector) {
        return watches(ownedType, labelSelector, EventPredicate.all(),
                KeyMapper.controllerOwner(HasMetadata.getApiVersion(type), HasMetadata.getKind(type)));
    }

    /** Watches objects of any type, mapped to primary keys by {@code mapper}. */
    public <S extends HasMetadata> ControllerBuilder<T> watches(Class<S> watchedType, String labelSelector,
            EventPredicate<S> predicate, KeyMapper<S> mapper) {
        watches.add(new Watch<>(InformerKey.of(watchedType, labelSelector), predicate, mapper));
        return this;
    }

    /** How many keys are reconciled concurrently (never the same key twice). */
    public ControllerBuilder<T> workers(int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + workers);
        }
        this.workers = workers;
        return this;
    }

    public ControllerBuilder<T> threads(WorkerThreads threads) {
        this.threads = Objects.requireNonNull(threads, "threads");
        return this;
    }

    /** Replaces the default backoff ({@link RateLimiter#controllerDefault()}). */
    public ControllerBuilder<T> rateLimiter(RateLimiter<ObjectKey> rateLimiter) {
        this.rateLimiter = Objects.requireNonNull(rateLimiter, "rateLimiter");
        return this;
    }

    /** Builds the controller around {@code reconciler} and hands it to the manager. */
    public Controller<T> complete(Reconciler<T> reconciler) {
        Objects.requireNonNull(reconciler, "reconciler");
        WorkQueueMetrics queueMetrics = new WorkQueueMetrics(context.registry(), name);
        WorkQueue<ObjectKey> queue = new WorkQueue<>(
                rateLimiter != null ? rateLimiter : RateLimiter.controllerDefault(), queueMetrics);
        queueMetrics.bindGauges(queue);
        SharedInformer<T> primary = context.informers().informerFor(InformerKey.of(type, labelSelector));
        ReconcileLoop<T> loop = new ReconcileLoop<>(name, reconciler, primary, queue,
                new ControllerMetrics(context.registry(), name, workers), context.gate(), workers, threads);

        List<SharedInformer<?>> all = new ArrayList<>();
        all.add(primary);
        primary.addHandler(new EnqueueHandler<>(name, predicate, KeyMapper.self(), loop::enqueue));
        for (Watch<?> watch : watches) {
            all.add(attach(watch, loop));
        }
        Controller<T> controller = new Controller<>(name, primary, all, loop);
        context.register().accept(controller);
        return controller;
    }

    private <S extends HasMetadata> SharedInformer<S> attach(Watch<S> watch, ReconcileLoop<T> loop) {
        SharedInformer<S> informer = context.informers().informerFor(watch.key());
        informer.addHandler(new EnqueueHandler<>(name, watch.predicate(), watch.mapper(), loop::enqueue));
        return informer;
    }
}
