package dev.flotilla.demo;

import dev.flotilla.core.reconcile.ObjectKey;
import dev.flotilla.core.reconcile.Reconciler;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * Makes a fraction of first reconcile attempts fail with a transient exception, so the demo shows
 * retries with backoff. Which keys fail is a pure function of the key and the seed, so a run is
 * reproducible; a key fails at most once (its first attempt), later attempts go through.
 */
final class FailureInjector implements UnaryOperator<Reconciler<ConfigMap>> {

    /** The exception the demo throws; its message says it was injected on purpose. */
    static final class InjectedFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedFailure(ObjectKey key) {
            super("injected transient failure for " + key + " (demo --failure-rate)", null, false, false);
        }
    }

    private final double rate;
    private final long seed;
    private final Set<ObjectKey> attempted = ConcurrentHashMap.newKeySet();
    private final AtomicLong injected = new AtomicLong();

    FailureInjector(double rate, long seed) {
        if (rate < 0 || rate > 1) {
            throw new IllegalArgumentException("failure rate must be within 0..1, got " + rate);
        }
        this.rate = rate;
        this.seed = seed;
    }

    @Override
    public Reconciler<ConfigMap> apply(Reconciler<ConfigMap> inner) {
        return request -> {
            if (rate > 0 && attempted.add(request.key()) && fails(request.key())) {
                injected.incrementAndGet();
                throw new InjectedFailure(request.key());
            }
            return inner.reconcile(request);
        };
    }

    boolean fails(ObjectKey key) {
        return new SplittableRandom(seed ^ key.toString().hashCode()).nextDouble() < rate;
    }

    long injected() {
        return injected.get();
    }
}
