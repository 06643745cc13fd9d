package dev.flotilla.core.manager;

import dev.flotilla.core.health.MetricsServing;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link Manager} runs. Every default lives here and nowhere else.
 *
 * <pre>{@code
 * ManagerOptions options = ManagerOptions.defaults().withHealthPort(0).withShutdownTimeout(Duration.ofSeconds(5));
 * }</pre>
 *
 * @param healthPort        port of /healthz and /readyz (and of /metrics with {@link MetricsServing#onHealthPort()});
 *                          0 picks a free port, -1 disables
 * @param healthBindAddress address the health server binds
 * @param cacheSyncTimeout  how long start() waits for every informer's first LIST
 * @param shutdownTimeout   how long stop() lets queued and in-flight reconciles finish
 * @param stripManagedFields drop metadata.managedFields before caching
 * @param metrics           where /metrics is served: on the health port (the default), off, or on a port of its own,
 *                          over HTTPS behind an authorizer
 */
public record ManagerOptions(int healthPort, String healthBindAddress, Duration cacheSyncTimeout,
        Duration shutdownTimeout, boolean stripManagedFields, MetricsServing metrics) {

    public static final int DEFAULT_HEALTH_PORT = 8081;
    public static final String DEFAULT_HEALTH_BIND_ADDRESS = "0.0.0.0";
    public static final Duration DEFAULT_CACHE_SYNC_TIMEOUT = Duration.ofMinutes(2);
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);

    public ManagerOptions {
        if (healthPort < -1 || healthPort > 65535) {
            throw new IllegalArgumentException("health port must be -1 (off), 0 (any) or 1-65535, got " + healthPort);
        }
        Objects.requireNonNull(healthBindAddress, "healthBindAddress");
        requirePositive("cache sync timeout", cacheSyncTimeout);
        requirePositive("shutdown timeout", shutdownTimeout);
        Objects.requireNonNull(metrics, "metrics");
    }

    private static void requirePositive(String what, Duration d) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, got " + d);
        }
    }

    public static ManagerOptions defaults() {
        return new ManagerOptions(DEFAULT_HEALTH_PORT, DEFAULT_HEALTH_BIND_ADDRESS, DEFAULT_CACHE_SYNC_TIMEOUT,
                DEFAULT_SHUTDOWN_TIMEOUT, true, MetricsServing.onHealthPort());
    }

    public ManagerOptions withHealthPort(int port) {
        return new ManagerOptions(port, healthBindAddress, cacheSyncTimeout, shutdownTimeout, stripManagedFields, metrics);
    }

    public ManagerOptions withHealthBindAddress(String address) {
        return new ManagerOptions(healthPort, address, cacheSyncTimeout, shutdownTimeout, stripManagedFields, metrics);
    }

    public ManagerOptions withCacheSyncTimeout(Duration timeout) {
        return new ManagerOptions(healthPort, healthBindAddress, timeout, shutdownTimeout, stripManagedFields, metrics);
    }

    public ManagerOptions withShutdownTimeout(Duration timeout) {
        return new ManagerOptions(healthPort, healthBindAddress, cacheSyncTimeout, timeout, stripManagedFields, metrics);
    }

    public ManagerOptions withMetrics(MetricsServing serving) {
        return new ManagerOptions(healthPort, healthBindAddress, cacheSyncTimeout, shutdownTimeout, stripManagedFields, serving);
    }

    public ManagerOptions withStripManagedFields(boolean strip) {
        return new ManagerOptions(healthPort, healthBindAddress, cacheSyncTimeout, shutdownTimeout, strip, metrics);
    }
}
