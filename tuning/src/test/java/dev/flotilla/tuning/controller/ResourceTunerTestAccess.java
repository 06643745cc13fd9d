package dev.flotilla.tuning.controller;

import dev.flotilla.testing.TestNamespace;
import dev.flotilla.tuning.api.ResourceTuningPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;

/** {@link ResourceTunerTest}'s fixtures for tests in other packages. */
public final class ResourceTunerTestAccess {

    private ResourceTunerTestAccess() {
    }

    /** Installs the tuner's CRD once and waits until it is established. */
    public static void installCrd(KubernetesClient client) throws Exception {
        ResourceTunerTest.installCrd(client);
    }

    /** A policy named "web" selecting app=web with bounds for every container ("*"), taking over fabric8's fields. */
    public static ResourceTuningPolicy policy(TestNamespace ns, String mode, String minCpu, String maxCpu) {
        return ResourceTunerTest.policy(ns, mode, minCpu, maxCpu);
    }
}
