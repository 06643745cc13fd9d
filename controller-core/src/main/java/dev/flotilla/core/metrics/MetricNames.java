package dev.flotilla.core.metrics;

import java.time.Duration;
import java.util.stream.DoubleStream;

/**
 * The one place that names Flotilla's metrics and their labels. Names are the ones
 * controller-runtime exports, so its dashboards and alerts work unchanged; each constant is the
 * name as Prometheus shows it.
 */
public final class MetricNames {

    private MetricNames() {
    }

    // controller-runtime: pkg/internal/controller/metrics
    public static final String RECONCILE_TOTAL = "controller_runtime_reconcile_total";
    public static final String RECONCILE_ERRORS_TOTAL = "controller_runtime_reconcile_errors_total";
    public static final String TERMINAL_RECONCILE_ERRORS_TOTAL = "controller_runtime_terminal_reconcile_errors_total";
    /** Flotilla: reconciles that ended because the write fence refused one of their writes (shard lost or expiring). */
    public static final String RECONCILE_FENCED_TOTAL = "flotilla_reconcile_fenced_total";
    public static final String RECONCILE_TIME_SECONDS = "controller_runtime_reconcile_time_seconds";
    public static final String MAX_CONCURRENT_RECONCILES = "controller_runtime_max_concurrent_reconciles";
    public static final String ACTIVE_WORKERS = "controller_runtime_active_workers";

    // client-go workqueue metrics as controller-runtime registers them
    public static final String WORKQUEUE_DEPTH = "workqueue_depth";
    public static final String WORKQUEUE_ADDS_TOTAL = "workqueue_adds_total";
    public static final String WORKQUEUE_QUEUE_DURATION_SECONDS = "workqueue_queue_duration_seconds";
    public static final String WORKQUEUE_WORK_DURATION_SECONDS = "workqueue_work_duration_seconds";
    public static final String WORKQUEUE_UNFINISHED_WORK_SECONDS = "workqueue_unfinished_work_seconds";
    public static final String WORKQUEUE_LONGEST_RUNNING_PROCESSOR_SECONDS = "workqueue_longest_running_processor_seconds";
    public static final String WORKQUEUE_RETRIES_TOTAL = "workqueue_retries_total";

    // client-go rest client metrics
    public static final String REST_CLIENT_REQUESTS_TOTAL = "rest_client_requests_total";

    // controller-runtime leader election
    public static final String LEADER_ELECTION_MASTER_STATUS = "leader_election_master_status";

    // The process metrics every Prometheus client library exports (client_golang's process collector)
    public static final String PROCESS_CPU_SECONDS_TOTAL = "process_cpu_seconds_total";
    public static final String PROCESS_RESIDENT_MEMORY_BYTES = "process_resident_memory_bytes";
    public static final String PROCESS_OPEN_FDS = "process_open_fds";
    public static final String PROCESS_MAX_FDS = "process_max_fds";
    public static final String PROCESS_START_TIME_SECONDS = "process_start_time_seconds";

    // Label keys
    public static final String LABEL_CONTROLLER = "controller";
    public static final String LABEL_NAME = "name";
    public static final String LABEL_RESULT = "result";
    public static final String LABEL_CODE = "code";
    public static final String LABEL_METHOD = "method";
    public static final String LABEL_HOST = "host";

    /** Values of {@link #LABEL_RESULT}, as controller-runtime spells them. */
    public enum ReconcileOutcome {
        SUCCESS("success"), ERROR("error"), REQUEUE("requeue"), REQUEUE_AFTER("requeue_after");

        private final String label;

        ReconcileOutcome(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** controller-runtime's reconcile_time_seconds buckets. */
    static Duration[] reconcileTimeBuckets() {
        return seconds(DoubleStream.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
                0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20,
                25, 30, 40, 50, 60));
    }

    /** client-go's workqueue duration buckets: 10 ns times powers of ten up to 1000 s. */
    static Duration[] workqueueDurationBuckets() {
        return seconds(DoubleStream.iterate(1e-8, b -> b * 10).limit(12));
    }

    private static Duration[] seconds(DoubleStream values) {
        return values.mapToObj(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new);
    }
}
