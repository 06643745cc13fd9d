package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.kubernetes.api.model.Quantity;

/** Hard bounds for one container (or, with name '*', for every container not named). */
public class ContainerPolicy {

    @Default("\"*\"")
    @JsonPropertyDescription("Container name, or * for the others.")
    private String name = "*";

    @JsonPropertyDescription("Lowest CPU request the tuner may set.")
    private Quantity minCpu = new Quantity("10m");

    @JsonPropertyDescription("Highest CPU request or limit the tuner may set.")
    private Quantity maxCpu = new Quantity("4");

    @JsonPropertyDescription("Lowest memory request the tuner may set.")
    private Quantity minMemory = new Quantity("32Mi");

    @JsonPropertyDescription("Highest memory request or limit the tuner may set.")
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
