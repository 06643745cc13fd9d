package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** The last change the tuner made (or tried). */
public class TuningAction {

    @JsonPropertyDescription("When (RFC 3339).")
    private String time;

    @JsonPropertyDescription("Kind/name, or pod name for InPlace.")
    private String workload;

    @JsonPropertyDescription("Container name.")
    private String container;

    @JsonPropertyDescription("Apply or InPlace.")
    private String mode;

    @JsonPropertyDescription("Applied, ResizePending, ResizeInProgress, Refused (with the guardrail) or Failed.")
    private String result;

    @JsonPropertyDescription("Details, e.g. the guardrail that stopped it.")
    private String message;

    public String getTime() {
        return time;
    }

    public void setTime(String time) {
        this.time = time;
    }

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

    public String getMode() {
        return mode;
    }

    public void setMode(String mode) {
        this.mode = mode;
    }

    public String getResult() {
        return result;
    }

    public void setResult(String result) {
        this.result = result;
    }

    public String getMessage() {
        return message;
    }

    public void setMessage(String message) {
        this.message = message;
    }


}
