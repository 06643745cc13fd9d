package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;

/** Whether and how the tuner changes limits. */
@ValidationRule(value = "self.managed || !self.liftCpuLimit",
        message = "liftCpuLimit needs managed: true (the tuner never lifts a limit it does not manage)")
public class LimitPolicy {

    @Default("true")
    @JsonPropertyDescription("Raise limits with requests and on self-throttling or OOM; false leaves limits as they are.")
    private boolean managed = true;

    @Default("false")
    @JsonPropertyDescription("On self-throttling, remove the CPU limit instead of raising it (never for Guaranteed pods).")
    private boolean liftCpuLimit = false;

    public boolean isManaged() {
        return managed;
    }

    public void setManaged(boolean managed) {
        this.managed = managed;
    }

    public boolean isLiftCpuLimit() {
        return liftCpuLimit;
    }

    public void setLiftCpuLimit(boolean liftCpuLimit) {
        this.liftCpuLimit = liftCpuLimit;
    }


}
