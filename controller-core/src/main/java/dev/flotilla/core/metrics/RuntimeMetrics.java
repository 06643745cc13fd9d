package dev.flotilla.core.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;

/**
 * The process's own meters: {@link ProcessMetrics} under the Prometheus client libraries' names, and
 * Micrometer's JVM memory, GC, thread and class-loading meters ({@code jvm_*}). Bind once per process,
 * where the registry that {@code /metrics} serves is created: the GC meters listen to the JVM's GC
 * notifications for as long as the process runs. Micrometer's {@code ProcessorMetrics} and
 * {@code UptimeMetrics} are left out on purpose: they would register {@code process_start_time_seconds}
 * a second time, from another source.
 *
 * <pre>{@code
 * RuntimeMetrics.bindTo(registry);
 * }</pre>
 */
public final class RuntimeMetrics {

    private RuntimeMetrics() {
    }

    /** Binds the process and JVM meters to {@code registry}. */
    public static void bindTo(MeterRegistry registry) {
        new ProcessMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry); // lives as long as the process; never closed
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
    }
}
