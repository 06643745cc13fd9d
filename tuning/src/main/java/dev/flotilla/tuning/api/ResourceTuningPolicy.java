package dev.flotilla.tuning.api;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * Which workloads the resource tuner sizes, within which bounds, how boldly, and what it found.
 * The CRD ({@code resourcetuningpolicies.flotilla.dev}) is generated from this class by fabric8's
 * crd-generator at build time.
 *
 * <pre class="yaml">{@code
 * apiVersion: flotilla.dev/v1alpha1
 * kind: ResourceTuningPolicy
 * metadata: {name: web, namespace: shop}
 * spec:
 *   target: {kinds: [Deployment], selector: {matchLabels: {app: web}}}
 *   mode: Recommend
 *   containers: [{name: "*", minCpu: 100m, maxCpu: "4", minMemory: 128Mi, maxMemory: 8Gi}]
 * }</pre>
 */
@Group(ResourceTuningPolicy.GROUP)
@Version(ResourceTuningPolicy.VERSION)
@Kind("ResourceTuningPolicy")
@Plural("resourcetuningpolicies")
@ShortNames("rtp")
public class ResourceTuningPolicy extends CustomResource<ResourceTuningPolicySpec, ResourceTuningPolicyStatus>
        implements Namespaced {

    public static final String GROUP = "flotilla.dev";
    public static final String VERSION = "v1alpha1";
}
