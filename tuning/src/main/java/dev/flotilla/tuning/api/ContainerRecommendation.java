package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;

/** The tuner's view of one container of one workload. */
public class ContainerRecommendation {

    @JsonPropertyDescription("Kind/name of the workload.")
    private String workload;

    @JsonPropertyDescription("Container name.")
    private String container;

    @JsonPropertyDescription("Resources it runs with now.")
    private ResourceValues current;

    @JsonPropertyDescription("What the tuner recommends.")
    private ResourceValues recommended;

    @JsonPropertyDescription("The rules that shaped the recommendation, with the signal values.")
    private List<String> findings = new ArrayList<>();

    @JsonPropertyDescription("Signals that were absent or stale.")
    private List<String> missingSignals = new ArrayList<>();

    @JsonPropertyDescription("True when no kernel signal was available: sized from usage alone.")
    private boolean usageOnly = false;

    @JsonPropertyDescription("What this pass did for each target (the workload, or each pod in place): Applied, Resized, NoChange, or Refused with the guardrail.")
    private List<String> actions = new ArrayList<>();

    @JsonPropertyDescription("When the tuner last changed this container's resources (RFC 3339); drives the cool-downs.")
    private String lastChanged;

    public String getWorkload() {
        return workload;
    }

    public void setWorkload(String workload) {
        this.workload = workload;
    }

    public String getContainer() {
        return container;
    }

    public void setContainer(String container) {
        this.container = container;
    }

    public ResourceValues getCurrent() {
        return current;
    }

    public void setCurrent(ResourceValues current) {
        this.current = current;
    }

    public ResourceValues getRecommended() {
        return recommended;
    }

    public void setRecommended(ResourceValues recommended) {
        this.recommended = recommended;
    }

    public List<String> getFindings() {
        return findings;
    }

    public void setFindings(List<String> findings) {
        this.findings = findings;
    }

    public List<String> getMissingSignals() {
        return missingSignals;
    }

    public void setMissingSignals(List<String> missingSignals) {
        this.missingSignals = missingSignals;
    }

    public List<String> getActions() {
        return actions;
    }

    public void setActions(List<String> actions) {
        this.actions = actions;
    }

    public String getLastChanged() {
        return lastChanged;
    }

    public void setLastChanged(String lastChanged) {
        this.lastChanged = lastChanged;
    }

    public boolean isUsageOnly() {
        return usageOnly;
    }

    public void setUsageOnly(boolean usageOnly) {
        this.usageOnly = usageOnly;
    }


}
