package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Quantity;

/** Hard bounds for one container (or, with name '*', for every container not named). */
// Refused at admission (CEL, the API server's quantity library): bounds the tuner could never satisfy. The controller
// checks the same (PolicyValidator) for policies admitted before the CRD carried these rules.
@ValidationRule(value = "!has(self.minCpu) || !has(self.maxCpu) || !isQuantity(string(self.minCpu)) "
        + "|| !isQuantity(string(self.maxCpu)) || quantity(string(self.minCpu)).compareTo(quantity(string(self.maxCpu))) <= 0",
        message = "minCpu must not be above maxCpu")
@ValidationRule(value = "!has(self.minMemory) || !has(self.maxMemory) || !isQuantity(string(self.minMemory)) "
        + "|| !isQuantity(string(self.maxMemory)) "
        + "|| quantity(string(self.minMemory)).compareTo(quantity(string(self.maxMemory))) <= 0",
        message = "minMemory must not be above maxMemory")
@ValidationRule(value = "[has(self.minCpu) ? string(self.minCpu) : '0', has(self.maxCpu) ? string(self.maxCpu) : '0', "
        + "has(self.minMemory) ? string(self.minMemory) : '0', has(self.maxMemory) ? string(self.maxMemory) : '0']"
        + ".all(q, isQuantity(q))",
        message = "minCpu, maxCpu, minMemory and maxMemory must be Kubernetes quantities (e.g. 250m, 2, 512Mi)")
public class ContainerPolicy {

    @Default("\"*\"")
    @Size(min = 1, max = 63)
    @JsonPropertyDescription("Container name, or * for the others.")
    private String name = "*";

    @JsonPropertyDescription("Lowest CPU request the tuner may set.")
    @Size(max = 32)
    private Quantity minCpu = new Quantity("10m");

    @JsonPropertyDescription("Highest CPU request or limit the tuner may set.")
    @Size(max = 32)
    private Quantity maxCpu = new Quantity("4");

    @JsonPropertyDescription("Lowest memory request the tuner may set.")
    @Size(max = 32)
    private Quantity minMemory = new Quantity("32Mi");

    @JsonPropertyDescription("Highest memory request or limit the tuner may set.")
    @Size(max = 32)
    private Quantity maxMemory = new Quantity("8Gi");

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public Quantity getMinCpu() {
        return minCpu;
    }

    public void setMinCpu(Quantity minCpu) {
        this.minCpu = minCpu;
    }

    public Quantity getMaxCpu() {
        return maxCpu;
    }

    public void setMaxCpu(Quantity maxCpu) {
        this.maxCpu = maxCpu;
    }

    public Quantity getMinMemory() {
        return minMemory;
    }

    public void setMinMemory(Quantity minMemory) {
        this.minMemory = minMemory;
    }

    public Quantity getMaxMemory() {
        return maxMemory;
    }

    public void setMaxMemory(Quantity maxMemory) {
        this.maxMemory = maxMemory;
    }


}
