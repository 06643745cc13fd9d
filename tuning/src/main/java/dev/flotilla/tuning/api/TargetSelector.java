package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.generator.annotation.Size;
import io.fabric8.kubernetes.api.model.LabelSelector;
import java.util.ArrayList;
import java.util.List;

/** The workloads a policy applies to: Deployments and/or StatefulSets in the policy's namespace matching a label selector. */
public class TargetSelector {

    @Size(min = 1)
    @JsonPropertyDescription("Deployment and/or StatefulSet.")
    private List<WorkloadKind> kinds = new ArrayList<>(List.of(WorkloadKind.Deployment));

    @Required
    @ValidationRule(value = "(has(self.matchLabels) && size(self.matchLabels) > 0) "
            + "|| (has(self.matchExpressions) && size(self.matchExpressions) > 0)",
            message = "an empty selector would select every workload in the namespace: give matchLabels or matchExpressions")
    @JsonPropertyDescription("Label selector on the workloads; it must select at least one.")
    private LabelSelector selector = new LabelSelector();

    public List<WorkloadKind> getKinds() {
        return kinds;
    }

    public void setKinds(List<WorkloadKind> kinds) {
        this.kinds = kinds;
    }

    public LabelSelector getSelector() {
        return selector;
    }

    public void setSelector(LabelSelector selector) {
        this.selector = selector;
    }


}
