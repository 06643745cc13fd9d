package dev.flotilla.tuning.recommend;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Sizes one container from its signals. Usage sets the baseline, as the Vertical Pod Autoscaler
 * does (a decayed CPU percentile, the memory peak, each plus a margin); kernel signals explain
 * what usage cannot: a container waiting in the run queue behind its neighbours while using less
 * than its request needs a larger request (more CFS weight); one throttled by its own limit needs
 * a larger limit, not a larger request; memory stalls or an OOM kill call for more memory before
 * the next kill. Raises are fast, decreases wait for a longer cool-down and move in bounded steps,
 * and memory is never lowered below the recent peak plus the margin. Pure: the same inputs give
 * the same recommendation, so it is tested with synthetic series.
 *
 * <pre>{@code
 * ContainerResources current;  // requests and limits now
 * ContainerSignals signals;     // usage, throttling, run-queue latency, PSI, OOM kills
 * TuningHistory history;        // when CPU and memory last changed
 * ResourceBounds bounds = new ResourceBounds(100, 4000, 128L << 20, 8L << 30);
 * Recommendation r = new Recommender(TuningRules.defaults(), bounds)
 *         .recommend(current, signals, history, Instant.now());
 * }</pre>
 */
public final class Recommender {

    /** The span whose mean decides whether a pressure signal is "now" above its ceiling. */
    static final Duration RECENT = Duration.ofMinutes(10);
    /** A usage target within 10% below the current request is not worth a change. */
    static final double DECREASE_HYSTERESIS = 0.9;
    private static final long MIB = 1L << 20;

    private final TuningRules rules;
    private final ResourceBounds bounds;

    public Recommender(TuningRules rules, ResourceBounds bounds) {
        this.rules = Objects.requireNonNull(rules, "rules");
        this.bounds = Objects.requireNonNull(bounds, "bounds");
    }

    public Recommendation recommend(ContainerResources current, ContainerSignals signals, TuningHistory history, Instant now) {
        List<Finding> findings = new ArrayList<>();
        Set<String> missing = new LinkedHashSet<>();
        boolean[] kernelUsed = new boolean[1];
        Cpu cpu = cpu(current, signals, history, now, findings, missing, kernelUsed);
        Memory memory = memory(current, signals, history, now, findings, missing, kernelUsed);
        ContainerResources target = new ContainerResources(cpu.request, cpu.limit, memory.request, memory.limit);
        if (current.isGuaranteed()) {
            // Guaranteed QoS is a promise to the workload (no eviction before others, exclusive CPUs with the static
            // policy): requests and limits move together and a limit is never lifted.
            target = new ContainerResources(target.cpuRequestMillis(), target.cpuRequestMillis(), target.memoryRequestBytes(),
                    target.memoryRequestBytes());
        }
        return new Recommendation(target, findings, missing, !kernelUsed[0]);
    }

    private record Cpu(OptionalLong request, OptionalLong limit) {
    }

    private record Memory(OptionalLong request, OptionalLong limit) {
    }

    private Optional<Series> fresh(Optional<Series> series, String name, Instant now, Set<String> missing,
            List<Finding> findings) {
        if (series.isPresent() && series.get().isFresh(now, rules.staleAfter())) {
            return series;
        }
        missing.add(name);
        findings.add(new Finding(Rule.SIGNAL_MISSING, name, series.isEmpty() || series.get().isEmpty()
                ? "no samples; rules that need it were skipped"
                : "latest sample older than " + rules.staleAfter() + "; rules that need it were skipped"));
        return Optional.empty();
    }

    private static OptionalDouble recentMean(Series s, Instant now) {
        return s.since(now.minus(RECENT)).mean();
    }

    private Cpu cpu(ContainerResources current, ContainerSignals signals, TuningHistory history, Instant now,
            List<Finding> findings, Set<String> missing, boolean[] kernelUsed) {
        OptionalLong request = current.cpuRequestMillis();
        OptionalLong limit = current.cpuLimitMillis();
        Optional<Series> usage = fresh(Optional.of(signals.cpuUsageCores()), "cpu usage", now, missing, findings);
        if (usage.isEmpty()) {
            return new Cpu(request, limit); // nothing to size from: change nothing
        }
        DecayingHistogram histogram = DecayingHistogram.forCpuCores(rules.halfLife(), now);
        usage.get().samples().forEach(s -> histogram.add(s.value(), Instant.ofEpochSecond(s.epochSecond())));
        double percentile = histogram.percentile(rules.usagePercentile());
        long target = millis(percentile * (1 + rules.safetyMargin()));
        findings.add(new Finding(Rule.USAGE_PERCENTILE, "cpu", String.format("p%.0f usage %.3f cores + %.0f%% margin = %dm",
                rules.usagePercentile() * 100, percentile, rules.safetyMargin() * 100, target)));
        boolean holdDecrease = false;
        boolean urgent = false;
        if (rules.ebpfRules()) {
            Optional<Series> runq = fresh(signals.runqueueLatencyP99(), "run-queue latency", now, missing, findings);
            if (runq.isPresent() && request.isPresent()) {
                kernelUsed[0] = true;
                double p99 = recentMean(runq.get(), now).orElse(0);
                double used = recentMean(usage.get(), now).orElse(0) * 1000;
                double targetSeconds = rules.runqueueLatencyTarget().toNanos() / 1e9;
                if (p99 > targetSeconds && used < request.getAsLong()) {
                    double factor = Math.max(1.25, Math.min(rules.maxStepUp(), Math.sqrt(p99 / targetSeconds)));
                    long raised = (long) Math.ceil(request.getAsLong() * factor);
                    target = Math.max(target, raised);
                    holdDecrease = true;
                    findings.add(new Finding(Rule.NOISY_NEIGHBOUR, "cpu", String.format(
                            "run-queue p99 %.1f ms above target %.1f ms while using %.0fm of a %dm request: "
                                    + "raising the request x%.2f to %dm for more CPU weight",
                            p99 * 1000, targetSeconds * 1000, used, request.getAsLong(), factor, raised)));
                }
            }
            Optional<Series> throttled = fresh(signals.throttledRatio(), "cpu throttling", now, missing, findings);
            if (throttled.isPresent()) {
                kernelUsed[0] = true;
                // Only what was seen since the last change counts: the limit just raised needs time to show its effect.
                Series sinceChange = history.lastCpuChange().map(t -> throttled.get().since(t)).orElse(throttled.get());
                double ratio = recentMean(sinceChange, now).orElse(0);
                if (ratio > rules.throttledRatioCeiling()) {
                    holdDecrease = true; // usage is capped by the limit: its percentile understates the need
                    if (!rules.manageLimits()) {
                        findings.add(new Finding(Rule.SELF_THROTTLING, "cpu", String.format(
                                "%.0f%% of periods throttled (ceiling %.0f%%); limits are not managed by this policy",
                                ratio * 100, rules.throttledRatioCeiling() * 100)));
                    } else if (rules.liftCpuLimit() && !current.isGuaranteed()) {
                        findings.add(new Finding(Rule.SELF_THROTTLING, "cpu", String.format(
                                "%.0f%% of periods throttled (ceiling %.0f%%): lifting the CPU limit",
                                ratio * 100, rules.throttledRatioCeiling() * 100)));
                        limit = OptionalLong.empty();
                    } else if (limit.isPresent()) {
                        double factor = Math.max(1.25, Math.min(rules.maxStepUp(), 1 + 2 * ratio));
                        long raised = bounds.clampCpu((long) Math.ceil(limit.getAsLong() * factor));
                        if (current.isGuaranteed()) {
                            // Guaranteed means requests equal limits: a raised limit alone would be undone below (the
                            // limit follows the request) or turn the pod Burstable. The request goes up with it.
                            findings.add(new Finding(Rule.SELF_THROTTLING, "cpu", raised > limit.getAsLong()
                                    ? String.format("%.0f%% of periods throttled (ceiling %.0f%%): raising the limit and "
                                            + "the request together x%.2f to %dm (Guaranteed: requests stay equal to limits)",
                                            ratio * 100, rules.throttledRatioCeiling() * 100, factor, raised)
                                    : String.format("%.0f%% of periods throttled (ceiling %.0f%%): cannot relieve it, the "
                                            + "limit %dm is already at the policy's maxCpu and a Guaranteed container's "
                                            + "request cannot exceed its limit", ratio * 100,
                                            rules.throttledRatioCeiling() * 100, limit.getAsLong())));
                            target = Math.max(target, raised);
                        } else {
                            findings.add(new Finding(Rule.SELF_THROTTLING, "cpu", String.format(
                                    "%.0f%% of periods throttled (ceiling %.0f%%): raising the limit x%.2f to %dm",
                                    ratio * 100, rules.throttledRatioCeiling() * 100, factor, raised)));
                        }
                        limit = OptionalLong.of(raised);
                        urgent = true;
                    }
                }
            }
        }
        OptionalLong newRequest = direct("cpu", request, target, history.lastCpuChange(), now, holdDecrease, urgent, findings);
        long clamped = bounds.clampCpu(newRequest.orElse(target));
        if (clamped != newRequest.orElse(target)) {
            findings.add(new Finding(Rule.BOUNDS, "cpu", newRequest.orElse(target) + "m clamped to " + clamped + "m"));
        }
        if (limit.isPresent() && clamped > limit.getAsLong()) {
            if (rules.manageLimits()) {
                limit = OptionalLong.of(clamped);
            } else {
                findings.add(new Finding(Rule.BOUNDS, "cpu", "request capped at the unmanaged limit " + limit.getAsLong() + "m"));
                clamped = limit.getAsLong();
            }
        }
        return new Cpu(OptionalLong.of(clamped), limit);
    }

    private Memory memory(ContainerResources current, ContainerSignals signals, TuningHistory history, Instant now,
            List<Finding> findings, Set<String> missing, boolean[] kernelUsed) {
        OptionalLong request = current.memoryRequestBytes();
        OptionalLong limit = current.memoryLimitBytes();
        Optional<Series> workingSet = fresh(Optional.of(signals.memoryWorkingSetBytes()), "memory working set", now, missing,
                findings);
        if (workingSet.isEmpty()) {
            return new Memory(request, limit);
        }
        double peak = workingSet.get().max().orElse(0);
        long floor = roundUpMib(peak * (1 + rules.safetyMargin()));
        long target = floor;
        findings.add(new Finding(Rule.MEMORY_PEAK, "memory", String.format("peak working set %d MiB + %.0f%% margin = %d MiB",
                (long) (peak / MIB), rules.safetyMargin() * 100, target / MIB)));
        boolean urgent = false;
        boolean holdDecrease = false;
        long base = Math.max(request.orElse(0), limit.orElse(0));
        if (rules.ebpfRules()) {
            Optional<Series> ooms = fresh(signals.oomKills(), "oom kills", now, missing, findings);
            if (ooms.isPresent()) {
                kernelUsed[0] = true;
                // Kills already answered by a raise do not count again: only those since the last memory change.
                double kills = history.lastMemoryChange().map(t -> ooms.get().since(t)).orElse(ooms.get()).counterIncrease();
                if (kills > 0 && base > 0) {
                    // The request grows by the factor; the limit (below) by the same factor: a Burstable pod stays Burstable.
                    long bumped = roundUpMib(request.orElse(base) * rules.oomBump());
                    target = Math.max(target, bumped);
                    urgent = true;
                    holdDecrease = true;
                    findings.add(new Finding(Rule.OOM_BUMP, "memory", String.format(
                            "%.0f OOM kill(s) in the window: raising memory x%.2f to %d MiB", kills, rules.oomBump(),
                            bumped / MIB)));
                }
            }
            Optional<Series> pressure = fresh(signals.memoryPressure(), "memory pressure", now, missing, findings);
            if (pressure.isPresent()) {
                kernelUsed[0] = true;
                double stalled = recentMean(pressure.get(), now).orElse(0);
                if (stalled > rules.memoryPressureCeiling() && request.isPresent()) {
                    long raised = roundUpMib(request.getAsLong() * 1.2);
                    target = Math.max(target, raised);
                    holdDecrease = true;
                    findings.add(new Finding(Rule.MEMORY_PRESSURE, "memory", String.format(
                            "memory stalls %.1f%% of the time (ceiling %.1f%%): raising to %d MiB before an OOM",
                            stalled * 100, rules.memoryPressureCeiling() * 100, raised / MIB)));
                }
            }
        }
        OptionalLong newRequest = direct("memory", request, target, history.lastMemoryChange(), now, holdDecrease, urgent,
                findings);
        long value = roundUpMib(newRequest.orElse(target)); // whole MiB: a step of x0.8 need not land on one
        long clamped = bounds.clampMemory(value);
        if (clamped != value) {
            findings.add(new Finding(Rule.BOUNDS, "memory", value / MIB + " MiB clamped to " + clamped / MIB + " MiB"));
        }
        if (limit.isPresent()) {
            if (rules.manageLimits()) {
                long newLimit = limit.getAsLong();
                if (urgent) {
                    newLimit = Math.max(newLimit, roundUpMib(limit.getAsLong() * rules.oomBump()));
                }
                // Bounds may stop a limit from growing, never push an existing one down (below the peak it would OOM).
                long wanted = Math.max(newLimit, clamped);
                limit = OptionalLong.of(wanted > limit.getAsLong() ? Math.max(limit.getAsLong(), bounds.clampMemory(wanted)) : wanted);
            } else if (clamped > limit.getAsLong()) {
                findings.add(new Finding(Rule.BOUNDS, "memory", "request capped at the unmanaged limit "
                        + limit.getAsLong() / MIB + " MiB"));
                clamped = limit.getAsLong();
            }
        }
        return new Memory(OptionalLong.of(clamped), limit);
    }

    /**
     * Moves {@code current} toward {@code target}: a raise after the fast cool-down and at most
     * {@code maxStepUp} (an urgent raise, after an OOM kill or throttling, skips both); a decrease
     * only beyond the hysteresis, after the slow cool-down, to no less than {@code maxStepDown}.
     */
    private OptionalLong direct(String resource, OptionalLong current, long target, Optional<Instant> lastChange,
            Instant now, boolean holdDecrease, boolean urgent, List<Finding> findings) {
        if (current.isEmpty()) {
            return OptionalLong.of(target);
        }
        long value = current.getAsLong();
        if (target > value) {
            if (!urgent && lastChange.isPresent() && lastChange.get().plus(rules.coolDownUp()).isAfter(now)) {
                findings.add(new Finding(Rule.COOL_DOWN, resource, "raise held until " + lastChange.get().plus(rules.coolDownUp())));
                return current;
            }
            long cap = (long) Math.floor(value * rules.maxStepUp());
            if (!urgent && target > cap) {
                findings.add(new Finding(Rule.STEP_LIMIT, resource, "raise to " + target + " cut to x" + rules.maxStepUp()));
                return OptionalLong.of(cap);
            }
            return OptionalLong.of(target);
        }
        if (target < value * DECREASE_HYSTERESIS && !holdDecrease) {
            if (lastChange.isPresent() && lastChange.get().plus(rules.coolDownDown()).isAfter(now)) {
                findings.add(new Finding(Rule.COOL_DOWN, resource, "decrease held until "
                        + lastChange.get().plus(rules.coolDownDown())));
                return current;
            }
            long floor = (long) Math.ceil(value * rules.maxStepDown());
            if (target < floor) {
                findings.add(new Finding(Rule.STEP_LIMIT, resource, "decrease to " + target + " cut to x" + rules.maxStepDown()));
                return OptionalLong.of(floor);
            }
            return OptionalLong.of(target);
        }
        return current;
    }

    private static long millis(double cores) {
        return Math.max(1, (long) Math.ceil(cores * 1000));
    }

    private static long roundUpMib(double bytes) {
        return Math.max(MIB, (long) Math.ceil(bytes / MIB) * MIB);
    }
}
