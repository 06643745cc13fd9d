package dev.flotilla.core.metrics;

import static dev.flotilla.core.metrics.MetricNames.*;

import dev.flotilla.core.queue.WorkQueue;
import dev.flotilla.core.queue.WorkQueueListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/**
 * client-go's workqueue metrics for one controller's queue, labelled {@code name} and
 * {@code controller} with the controller's name as controller-runtime does.
 *
 * <pre>{@code
 * var metrics = new WorkQueueMetrics(registry, "configmap-mirror");
 * var queue = new WorkQueue<String>(dev.flotilla.core.queue.RateLimiter.controllerDefault(), metrics);
 * metrics.bindGauges(queue);
 * }</pre>
 */
public final class WorkQueueMetrics implements WorkQueueListener {

    private final MeterRegistry registry;
    private final Tags tags;
    private final Counter adds;
    private final Counter retries;
    private final Timer queueDuration;
    private final Timer workDuration;

    public WorkQueueMetrics(MeterRegistry registry, String controller) {
        this.registry = registry;
        this.tags = Tags.of(LABEL_NAME, controller, LABEL_CONTROLLER, controller);
        adds = Counter.builder(WORKQUEUE_ADDS_TOTAL).description("Total number of adds handled by workqueue")
                .tags(tags).register(registry);
        retries = Counter.builder(WORKQUEUE_RETRIES_TOTAL).description("Total number of retries handled by workqueue")
                .tags(tags).register(registry);
        queueDuration = Timer.builder(WORKQUEUE_QUEUE_DURATION_SECONDS)
                .description("How long in seconds an item stays in workqueue before being requested")
                .tags(tags).serviceLevelObjectives(workqueueDurationBuckets()).register(registry);
        workDuration = Timer.builder(WORKQUEUE_WORK_DURATION_SECONDS)
                .description("How long in seconds processing an item from workqueue takes")
                .tags(tags).serviceLevelObjectives(workqueueDurationBuckets()).register(registry);
    }

    /** Registers the gauges that read the queue's live state. */
    public void bindGauges(WorkQueue<?> queue) {
        Gauge.builder(WORKQUEUE_DEPTH, queue, WorkQueue::depth).description("Current depth of workqueue")
                .tags(tags).register(registry);
        Gauge.builder(WORKQUEUE_UNFINISHED_WORK_SECONDS, queue, WorkQueue::unfinishedWorkSeconds)
                .description("How many seconds of work has been done that is in progress and hasn't been observed by work_duration")
                .tags(tags).register(registry);
        Gauge.builder(WORKQUEUE_LONGEST_RUNNING_PROCESSOR_SECONDS, queue, WorkQueue::longestRunningProcessorSeconds)
                .description("How many seconds has the longest running processor for workqueue been running")
                .tags(tags).register(registry);
    }

    @Override
    public void added() {
        adds.increment();
    }

    @Override
    public void started(Duration waited) {
        queueDuration.record(waited);
    }

    @Override
    public void finished(Duration worked) {
        workDuration.record(worked);
    }

    @Override
    public void retried() {
        retries.increment();
    }
}
