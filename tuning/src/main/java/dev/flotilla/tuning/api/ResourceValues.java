package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Quantity;

/** CPU and memory requests and limits of one container; absent means unset. */
public class ResourceValues {

    @JsonPropertyDescription("CPU request.")
    private Quantity cpuRequest;

    @JsonPropertyDescription("CPU limit.")
    private Quantity cpuLimit;

    @JsonPropertyDescription("Memory request.")
    private Quantity memoryRequest;

    @JsonPropertyDescription("Memory limit.")
    private Quantity memoryLimit;

    public Quantity getCpuRequest() {
        return cpuRequest;
    }

    public void setCpuRequest(Quantity cpuRequest) {
        this.cpuRequest = cpuRequest;
    }

    public Quantity getCpuLimit() {
        return cpuLimit;
    }

    public void setCpuLimit(Quantity cpuLimit) {
        this.cpuLimit = cpuLimit;
    }

    public Quantity getMemoryRequest() {
        return memoryRequest;
    }

    public void setMemoryRequest(Quantity memoryRequest) {
        this.memoryRequest = memoryRequest;
    }

    public Quantity getMemoryLimit() {
        return memoryLimit;
    }

    public void setMemoryLimit(Quantity memoryLimit) {
        this.memoryLimit = memoryLimit;
    }


    @Override
    public String toString() {
        return "cpu " + cpuRequest + "/" + cpuLimit + ", memory " + memoryRequest + "/" + memoryLimit;
    }
}
