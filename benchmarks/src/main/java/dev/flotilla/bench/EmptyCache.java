package dev.flotilla.bench;

import dev.flotilla.core.reconcile.Cache;
import dev.flotilla.core.reconcile.ObjectKey;
import java.util.List;
import java.util.Optional;

/** An in-memory cache holding nothing: a reconcile that reads it sees every object as deleted. */
final class EmptyCache<T> implements Cache<T> {

    @Override
    public Optional<T> get(ObjectKey key) {
        return Optional.empty();
    }

    @Override
    public List<T> list() {
        return List.of();
    }

    @Override
    public List<T> list(String namespace) {
        return List.of();
    }

    @Override
    public int size() {
        return 0;
    }
}
