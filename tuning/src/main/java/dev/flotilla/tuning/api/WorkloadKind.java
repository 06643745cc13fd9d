package dev.flotilla.tuning.api;

/** The workload kinds a policy can target. */
public enum WorkloadKind {
    Deployment, StatefulSet
}
