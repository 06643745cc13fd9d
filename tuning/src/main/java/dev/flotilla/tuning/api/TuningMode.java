package dev.flotilla.tuning.api;

/** What the tuner does with a recommendation. */
public enum TuningMode {
    /** Nothing: the policy is parked. */
    Off,
    /** Writes the recommendation to status only. */
    Recommend,
    /** Patches the workload's pod template (server-side apply): pods pick it up on their next rollout. */
    Apply,
    /** Resizes running pods through {@code pods/resize}, without restarting or evicting them. */
    InPlace
}
