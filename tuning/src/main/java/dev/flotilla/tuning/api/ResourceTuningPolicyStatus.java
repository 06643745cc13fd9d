package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What the tuner found and did. */
public class ResourceTuningPolicyStatus {

    @JsonPropertyDescription("The spec generation this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription("Ready, Invalid, SignalsMissing, Throttled, KillSwitch, Conflict, FieldConflict.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Per workload and container.")
    private List<ContainerRecommendation> containers = new ArrayList<>();

    @JsonPropertyDescription("The last action taken.")
    private TuningAction lastAction;

    public Long getObservedGeneration() {
        return observedGeneration;
    }

    public void setObservedGeneration(Long observedGeneration) {
        this.observedGeneration = observedGeneration;
    }

    public List<Condition> getConditions() {
        return conditions;
    }

    public void setConditions(List<Condition> conditions) {
        this.conditions = conditions;
    }

    public List<ContainerRecommendation> getContainers() {
        return containers;
    }

    public void setContainers(List<ContainerRecommendation> containers) {
        this.containers = containers;
    }

    public TuningAction getLastAction() {
        return lastAction;
    }

    public void setLastAction(TuningAction lastAction) {
        this.lastAction = lastAction;
    }


}
