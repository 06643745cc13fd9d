package dev.flotilla.tuning.policy;

import dev.flotilla.tuning.api.ContainerPolicy;
import dev.flotilla.tuning.api.ResourceTuningPolicySpec;
import dev.flotilla.tuning.api.TuningMode;
import dev.flotilla.tuning.quantity.Resources;
import dev.flotilla.tuning.recommend.ResourceBounds;
import dev.flotilla.tuning.recommend.TuningRules;
import dev.flotilla.tuning.signals.SignalMetric;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a {@code ResourceTuningPolicy} spec into typed settings, or says precisely what is wrong:
 * the field, the value, and why. The CRD's schema already refuses most mistakes at admission;
 * this catches the rest (min above max, bounds no node could ever satisfy) and anything written
 * while an older schema was installed.
 *
 * <pre>{@code
 * dev.flotilla.tuning.api.ResourceTuningPolicy policy; // as read from the cache
 * Optional<long[]> largestNode = Optional.of(new long[] {4000, 16L << 30}); // millicores, bytes
 * String verdict = switch (PolicyValidator.check(policy.getSpec(), largestNode)) {
 *     case PolicyCheck.Valid v -> "tune in mode " + v.mode();
 *     case PolicyCheck.Invalid i -> "condition Invalid: " + i.message();
 * };
 * }</pre>
 */
public final class PolicyValidator {

    private static final Pattern DURATION = Pattern.compile("^([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h)$");

    private PolicyValidator() {
    }

    /**
     * @param largestNode the largest node's allocatable CPU (millicores) and memory (bytes), if known: a minimum
     *                    above it could never be scheduled
     */
    public static PolicyCheck check(ResourceTuningPolicySpec spec, Optional<long[]> largestNode) {
        if (spec == null) {
            return new PolicyCheck.Invalid("spec is missing");
        }
        if (spec.getTarget() == null || spec.getTarget().getSelector() == null) {
            return new PolicyCheck.Invalid("spec.target.selector is required");
        }
        if (spec.getTarget().getKinds() == null || spec.getTarget().getKinds().isEmpty()) {
            return new PolicyCheck.Invalid("spec.target.kinds must name Deployment and/or StatefulSet");
        }
        TuningMode mode;
        try {
            mode = TuningMode.valueOf(String.valueOf(spec.getMode()));
        } catch (IllegalArgumentException e) {
            return new PolicyCheck.Invalid("spec.mode '" + spec.getMode() + "' is not one of "
                    + Arrays.toString(TuningMode.values()));
        }
        var selector = spec.getTarget().getSelector();
        if ((selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty())
                && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty())) {
            return new PolicyCheck.Invalid("spec.target.selector is empty: it would select every workload in the namespace");
        }
        if (selector.getMatchExpressions() != null) {
            for (var e : selector.getMatchExpressions()) {
                String op = e == null ? null : e.getOperator();
                boolean needsValues = "In".equals(op) || "NotIn".equals(op);
                boolean noValues = "Exists".equals(op) || "DoesNotExist".equals(op);
                int values = e == null || e.getValues() == null ? 0 : e.getValues().size();
                if (e == null || e.getKey() == null || e.getKey().isBlank() || !(needsValues || noValues)
                        || (needsValues && values == 0) || (noValues && values > 0)) {
                    return new PolicyCheck.Invalid("spec.target.selector.matchExpressions has an invalid requirement "
                            + (e == null ? "null" : "{key: " + e.getKey() + ", operator: " + op + ", values: " + e.getValues() + "}")
                            + ": operators are In and NotIn (with values), Exists and DoesNotExist (without)");
                }
            }
        }
        Map<String, ResourceBounds> bounds = new HashMap<>();
        if (spec.getContainers() != null) {
            for (ContainerPolicy c : spec.getContainers()) {
                if (c == null || c.getName() == null || c.getName().isBlank()) {
                    return new PolicyCheck.Invalid("spec.containers has an entry without a name (use * for all containers)");
                }
                String where = "spec.containers[" + c.getName() + "]";
                if (bounds.containsKey(c.getName())) {
                    return new PolicyCheck.Invalid(where + " is listed twice");
                }
                OptionalLong minCpu = Resources.millis(c.getMinCpu());
                OptionalLong maxCpu = Resources.millis(c.getMaxCpu());
                OptionalLong minMem = Resources.bytes(c.getMinMemory());
                OptionalLong maxMem = Resources.bytes(c.getMaxMemory());
                if (minCpu.isEmpty() || maxCpu.isEmpty() || minMem.isEmpty() || maxMem.isEmpty()) {
                    return new PolicyCheck.Invalid(where + " needs minCpu, maxCpu, minMemory and maxMemory as positive quantities");
                }
                if (minCpu.getAsLong() > maxCpu.getAsLong()) {
                    return new PolicyCheck.Invalid(where + ".minCpu " + c.getMinCpu() + " is above maxCpu " + c.getMaxCpu());
                }
                if (minMem.getAsLong() > maxMem.getAsLong()) {
                    return new PolicyCheck.Invalid(where + ".minMemory " + c.getMinMemory() + " is above maxMemory "
                            + c.getMaxMemory());
                }
                if (largestNode.isPresent()) {
                    long[] node = largestNode.get();
                    if (minCpu.getAsLong() > node[0]) {
                        return new PolicyCheck.Invalid(where + ".minCpu " + c.getMinCpu()
                                + " is more than the largest node can allocate (" + node[0] + "m)");
                    }
                    if (minMem.getAsLong() > node[1]) {
                        return new PolicyCheck.Invalid(where + ".minMemory " + c.getMinMemory()
                                + " is more than the largest node can allocate (" + node[1] / (1 << 20) + "Mi)");
                    }
                }
                bounds.put(c.getName(), new ResourceBounds(minCpu.getAsLong(), maxCpu.getAsLong(), minMem.getAsLong(),
                        maxMem.getAsLong()));
            }
        }
        if (bounds.isEmpty()) {
            return new PolicyCheck.Invalid("spec.containers must give bounds for at least one container (or '*')");
        }
        TuningRules rules;
        try {
            var o = spec.getObjectives();
            var s = spec.getSteps();
            var cd = spec.getCoolDowns();
            var l = spec.getLimits();
            rules = new TuningRules(duration("spec.objectives.runqueueLatencyP99", o.getRunqueueLatencyP99()),
                    o.getThrottledRatioCeiling(), o.getMemoryPressureCeiling(), o.getUsagePercentile(), o.getSafetyMargin(),
                    duration("spec.objectives.histogramHalfLife", o.getHistogramHalfLife()), s.getMaxStepUp(), s.getMaxStepDown(),
                    s.getOomBump(), duration("spec.coolDowns.up", cd.getUp()), duration("spec.coolDowns.down", cd.getDown()),
                    l.isManaged(), l.isLiftCpuLimit(), spec.isKernelSignals(), Duration.ofMinutes(5));
        } catch (IllegalArgumentException | NullPointerException e) {
            return new PolicyCheck.Invalid(e.getMessage() == null ? "spec has a missing section" : e.getMessage());
        }
        if (spec.getLimits().isLiftCpuLimit() && !spec.getLimits().isManaged()) {
            return new PolicyCheck.Invalid("spec.limits.liftCpuLimit needs spec.limits.managed: true");
        }
        List<String> takeOver = spec.getTakeOverFrom() == null ? List.of() : spec.getTakeOverFrom();
        for (String m : takeOver) {
            if (m == null || m.isBlank() || m.length() > 128) {
                return new PolicyCheck.Invalid("spec.takeOverFrom has an entry that is not a field manager name: '" + m + "'");
            }
        }
        Map<SignalMetric, String> names = spec.getSignalMetrics() == null ? Map.of() : spec.getSignalMetrics().overrides();
        for (Map.Entry<SignalMetric, String> e : names.entrySet()) {
            try {
                e.getKey().checkName(e.getValue());
            } catch (IllegalArgumentException bad) {
                return new PolicyCheck.Invalid("spec.signalMetrics." + bad.getMessage());
            }
        }
        return new PolicyCheck.Valid(mode, rules, bounds, spec.getTarget().getKinds(), spec.getTarget().getSelector(), takeOver,
                names);
    }

    static Duration duration(String field, String value) {
        Matcher m = value == null ? null : DURATION.matcher(value.strip());
        if (m == null || !m.matches()) {
            throw new IllegalArgumentException(field + " '" + value + "' is not a duration like 5ms, 30s, 5m or 24h");
        }
        double n = Double.parseDouble(m.group(1));
        long nanos = (long) (n * switch (m.group(2)) {
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "m" -> 60e9;
            default -> 3600e9;
        });
        if (nanos <= 0) {
            throw new IllegalArgumentException(field + " '" + value + "' must be positive");
        }
        return Duration.ofNanos(nanos);
    }

}
