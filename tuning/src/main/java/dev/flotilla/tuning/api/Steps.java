package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** How far one action may move a value. */
public class Steps {

    @Min(1.01)
    @Max(10)
    @Default("2.0")
    @JsonPropertyDescription("Largest factor one raise may apply (above 1).")
    private double maxStepUp = 2.0;

    @Min(0.1)
    @Max(0.99)
    @Default("0.8")
    @JsonPropertyDescription("Smallest factor one decrease may apply (0-1): 0.8 lowers by at most 20%.")
    private double maxStepDown = 0.8;

    @Min(1.2)
    @Max(10)
    @Default("1.3")
    @JsonPropertyDescription("Factor memory is raised by after an OOM kill (at least 1.2).")
    private double oomBump = 1.3;

    public double getMaxStepUp() {
        return maxStepUp;
    }

    public void setMaxStepUp(double maxStepUp) {
        this.maxStepUp = maxStepUp;
    }

    public double getMaxStepDown() {
        return maxStepDown;
    }

    public void setMaxStepDown(double maxStepDown) {
        this.maxStepDown = maxStepDown;
    }

    public double getOomBump() {
        return oomBump;
    }

    public void setOomBump(double oomBump) {
        this.oomBump = oomBump;
    }


}
