package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/** The desired behaviour of a {@link ResourceTuningPolicy}. */
public class ResourceTuningPolicySpec {

    @Required
    @JsonPropertyDescription("The workloads this policy sizes.")
    private TargetSelector target = new TargetSelector();

    // A string, not the enum: a policy with a mode this version does not know must still reach the controller,
    // which reports it as Invalid, instead of failing to decode in the informer.
    @Default("\"Recommend\"")
    @Pattern("^(Off|Recommend|Apply|InPlace)$")
    @JsonPropertyDescription("Off, Recommend (status only), Apply (patch the pod template) or InPlace (resize running pods).")
    private String mode = TuningMode.Recommend.name();

    @Size(max = 16)
    @ValidationRule(value = "self.all(a, self.exists_one(b, b.name == a.name))",
            message = "each container name (and '*') may be listed once")
    @JsonPropertyDescription("Per-container bounds; name '*' applies to containers not listed by name.")
    private List<ContainerPolicy> containers = new ArrayList<>();

    @Size(max = 16)
    @ValidationRule(value = "self.all(m, size(m) >= 1 && size(m) <= 128)",
            message = "each entry is a field manager name of 1-128 characters, or *")
    @JsonPropertyDescription("Apply mode: field managers (e.g. kubectl-client-side-apply, helm, argocd-controller) whose "
            + "container resources the tuner may take over; * for any. Empty (the default): the tuner never takes a field "
            + "another manager owns and reports the conflict in the FieldConflict condition.")
    private List<String> takeOverFrom = new ArrayList<>();

    @JsonPropertyDescription("What the tuner aims for.")
    private Objectives objectives = new Objectives();

    @JsonPropertyDescription("How far one action may move a value.")
    private Steps steps = new Steps();

    @JsonPropertyDescription("Minimum time between actions: short before a raise, long before a decrease.")
    private CoolDowns coolDowns = new CoolDowns();

    @JsonPropertyDescription("Whether limits are managed: raised with requests, or the CPU limit lifted when the container throttles itself.")
    private LimitPolicy limits = new LimitPolicy();

    @Default("true")
    @JsonPropertyDescription("Use the kernel signals (run-queue latency, throttling, PSI, OOM kills); false sizes from usage only.")
    private boolean kernelSignals = true;

    @JsonPropertyDescription("Metric names for this policy's signals, each overriding the replica's (--signal-metric); "
            + "for a cluster whose exporters name them otherwise. Every series must carry namespace, pod and container labels.")
    private SignalMetricNames signalMetrics = new SignalMetricNames();

    public TargetSelector getTarget() {
        return target;
    }

    public void setTarget(TargetSelector target) {
        this.target = target;
    }

    public String getMode() {
        return mode;
    }

    public void setMode(String mode) {
        this.mode = mode;
    }

    public List<ContainerPolicy> getContainers() {
        return containers;
    }

    public void setContainers(List<ContainerPolicy> containers) {
        this.containers = containers;
    }

    public List<String> getTakeOverFrom() {
        return takeOverFrom;
    }

    public void setTakeOverFrom(List<String> takeOverFrom) {
        this.takeOverFrom = takeOverFrom;
    }

    public Objectives getObjectives() {
        return objectives;
    }

    public void setObjectives(Objectives objectives) {
        this.objectives = objectives;
    }

    public Steps getSteps() {
        return steps;
    }

    public void setSteps(Steps steps) {
        this.steps = steps;
    }

    public CoolDowns getCoolDowns() {
        return coolDowns;
    }

    public void setCoolDowns(CoolDowns coolDowns) {
        this.coolDowns = coolDowns;
    }

    public LimitPolicy getLimits() {
        return limits;
    }

    public void setLimits(LimitPolicy limits) {
        this.limits = limits;
    }

    public SignalMetricNames getSignalMetrics() {
        return signalMetrics;
    }

    public void setSignalMetrics(SignalMetricNames signalMetrics) {
        this.signalMetrics = signalMetrics;
    }

    public boolean isKernelSignals() {
        return kernelSignals;
    }

    public void setKernelSignals(boolean kernelSignals) {
        this.kernelSignals = kernelSignals;
    }
}
