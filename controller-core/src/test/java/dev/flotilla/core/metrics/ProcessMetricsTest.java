package dev.flotilla.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The names as a Prometheus scrape shows them (Micrometer may add units or {@code _total}), and sane values. */
class ProcessMetricsTest {

    static final List<String> PROCESS = List.of(MetricNames.PROCESS_CPU_SECONDS_TOTAL, MetricNames.PROCESS_RESIDENT_MEMORY_BYTES,
            MetricNames.PROCESS_OPEN_FDS, MetricNames.PROCESS_MAX_FDS, MetricNames.PROCESS_START_TIME_SECONDS);

    @TempDir
    Path tmp;

    /** Unlabelled samples of a text scrape, by name. */
    static Map<String, Double> scrape(PrometheusMeterRegistry registry) {
        Map<String, Double> samples = new TreeMap<>();
        for (String line : registry.scrape().lines().toList()) {
            if (!line.startsWith("#") && !line.contains("{") && !line.isBlank()) {
                String[] parts = line.split(" ");
                samples.put(parts[0], Double.parseDouble(parts[1]));
            }
        }
        return samples;
    }

    @Test
    void procfsGivesTheClientLibrariesNamesAndPlausibleValues() throws Exception {
        assumeThat(Path.of("/proc/self/stat")).as("procfs (Linux)").isReadable();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ProcessMetrics metrics = new ProcessMetrics();
        assertThat(metrics.usesProcfs()).isTrue();
        metrics.bindTo(registry);
        Map<String, Double> s = scrape(registry);
        assertThat(s).containsOnlyKeys(PROCESS);
        double jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime() / 1000.0;
        // The kernel's start is a little before the JVM's own notion of it; both are this process's.
        assertThat(s.get(MetricNames.PROCESS_START_TIME_SECONDS)).isBetween(jvmStart - 30, jvmStart + 1);
        assertThat(s.get(MetricNames.PROCESS_CPU_SECONDS_TOTAL)).isGreaterThan(0);
        assertThat(s.get(MetricNames.PROCESS_RESIDENT_MEMORY_BYTES)).isGreaterThan(10e6);
        long fds;
        try (var list = Files.list(Path.of("/proc/self/fd"))) {
            fds = list.count();
        }
        assertThat(s.get(MetricNames.PROCESS_OPEN_FDS)).isBetween(fds - 5.0, fds + 5.0);
        assertThat(s.get(MetricNames.PROCESS_MAX_FDS)).isGreaterThanOrEqualTo(s.get(MetricNames.PROCESS_OPEN_FDS));
        // CPU time is cumulative: it reads the kernel afresh at each scrape.
        long until = System.nanoTime() + 300_000_000L;
        double x = 0;
        while (System.nanoTime() < until) {
            x += Math.sqrt(x + 1);
        }
        assertThat(scrape(registry).get(MetricNames.PROCESS_CPU_SECONDS_TOTAL)).as("after spinning (%s)", x)
                .isGreaterThan(s.get(MetricNames.PROCESS_CPU_SECONDS_TOTAL));
    }

    /** A process named with spaces and parentheses (comm is free text) does not shift the fields. */
    @Test
    void statFieldsAreCountedAfterTheLastParenthesis() throws Exception {
        Path self = Files.createDirectories(tmp.resolve("self"));
        // pid (comm) state ppid ... utime=14 stime=15 ... starttime=22
        StringBuilder stat = new StringBuilder("42 (a) b (c) S");
        for (int field = 4; field <= 52; field++) {
            stat.append(' ').append(switch (field) {
                case 14 -> "250";
                case 15 -> "50";
                case 22 -> "12345";
                default -> "0";
            });
        }
        Files.writeString(self.resolve("stat"), stat + "\n");
        Files.writeString(tmp.resolve("stat"), "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n");
        Files.writeString(self.resolve("status"), "Name:\tjava\nVmRSS:\t  2048 kB\n");
        Files.writeString(self.resolve("limits"),
                "Limit                     Soft Limit           Hard Limit           Units\n"
                        + "Max open files            1024                 524288               files\n");
        Files.createDirectories(self.resolve("fd"));
        Files.createFile(self.resolve("fd/0"));
        Files.createFile(self.resolve("fd/1"));
        ProcessMetrics metrics = new ProcessMetrics(tmp);
        assertThat(metrics.usesProcfs()).isTrue();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics.bindTo(registry);
        assertThat(scrape(registry)).containsExactlyInAnyOrderEntriesOf(Map.of(
                MetricNames.PROCESS_CPU_SECONDS_TOTAL, 3.0,
                MetricNames.PROCESS_RESIDENT_MEMORY_BYTES, 2048 * 1024.0,
                MetricNames.PROCESS_OPEN_FDS, 2.0,
                MetricNames.PROCESS_MAX_FDS, 1024.0,
                MetricNames.PROCESS_START_TIME_SECONDS, 1700000000 + 123.45));
    }

    /** Without /proc: the JVM's numbers under the same names, and no resident memory rather than a made-up one. */
    @Test
    void withoutProcfsTheJvmStandsIn() {
        ProcessMetrics metrics = new ProcessMetrics(tmp.resolve("absent"));
        assertThat(metrics.usesProcfs()).isFalse();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics.bindTo(registry);
        Map<String, Double> s = scrape(registry);
        assertThat(s).containsOnlyKeys(MetricNames.PROCESS_CPU_SECONDS_TOTAL, MetricNames.PROCESS_OPEN_FDS,
                MetricNames.PROCESS_MAX_FDS, MetricNames.PROCESS_START_TIME_SECONDS);
        assertThat(s.get(MetricNames.PROCESS_START_TIME_SECONDS))
                .isEqualTo(ManagementFactory.getRuntimeMXBean().getStartTime() / 1000.0);
        assertThat(s.get(MetricNames.PROCESS_CPU_SECONDS_TOTAL)).isGreaterThan(0);
    }

    /** With the JVM's meters, nothing clashes and the names stay the client libraries'. */
    @Test
    void runtimeMetricsBindTheJvmMetersBesideThem() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RuntimeMetrics.bindTo(registry);
        String text = registry.scrape();
        for (String name : PROCESS) {
            assertThat(text).as(name).containsPattern("(?m)^" + name + " ");
        }
        assertThat(text).contains("jvm_memory_used_bytes{", "jvm_threads_live_threads ", "jvm_classes_loaded_classes ",
                "jvm_gc_memory_allocated_bytes_total ");
        assertThat(text.lines().filter(l -> l.startsWith("process_start_time_seconds ")).count()).isEqualTo(1);
    }
}
