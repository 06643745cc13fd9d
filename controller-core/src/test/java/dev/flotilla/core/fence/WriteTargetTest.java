package dev.flotilla.core.fence;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class WriteTargetTest {

    @Test
    void namespacedPathsNameTheirNamespaceResourceAndObject() {
        assertThat(WriteTarget.fromPath("PUT", "/api/v1/namespaces/shop/configmaps/settings-mirror"))
                .contains(new WriteTarget("PUT", "shop", "configmaps", "settings-mirror"));
        assertThat(WriteTarget.fromPath("POST", "/api/v1/namespaces/shop/configmaps?fieldManager=x"))
                .contains(new WriteTarget("POST", "shop", "configmaps", ""));
        assertThat(WriteTarget.fromPath("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web/scale"))
                .contains(new WriteTarget("PATCH", "shop", "deployments/scale", "web"));
        assertThat(WriteTarget.fromPath("PATCH", "/api/v1/namespaces/shop/pods/web-0/resize"))
                .contains(new WriteTarget("PATCH", "shop", "pods/resize", "web-0"));
    }

    @Test
    void clusterScopedPathsHaveNoNamespaceANamespaceObjectIncluded() {
        WriteTarget role = WriteTarget.fromPath("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles").orElseThrow();
        assertThat(role.clusterScoped()).isTrue();
        assertThat(role.resource()).isEqualTo("clusterroles");
        assertThat(WriteTarget.fromPath("DELETE", "/api/v1/namespaces/shop"))
                .contains(new WriteTarget("DELETE", "", "namespaces", "shop"));
        assertThat(WriteTarget.fromPath("PUT", "/api/v1/namespaces/shop/finalize"))
                .as("namespaces/{name}/finalize is the Namespace's subresource, not a namespaced resource")
                .contains(new WriteTarget("PUT", "", "namespaces/finalize", "shop"));
    }

    @Test
    void pathsThatNameNoResourceAreNotWriteTargets() {
        assertThat(WriteTarget.fromPath("POST", "/version")).isEqualTo(Optional.empty());
        assertThat(WriteTarget.fromPath("GET", "/apis/apps/v1")).isEmpty();
        assertThat(WriteTarget.fromPath("GET", "/api/v1")).isEmpty();
    }

    @Test
    void aPrefixBeforeTheApiPathIsSkippedSoAProxiedWriteIsStillFenced() {
        assertThat(WriteTarget.fromPath("PUT", "/k8s/clusters/c-1/api/v1/namespaces/shop/configmaps/a"))
                .contains(new WriteTarget("PUT", "shop", "configmaps", "a"));
        assertThat(WriteTarget.fromPath("PATCH", "/proxy/apis/apps/v1/namespaces/shop/deployments/web"))
                .contains(new WriteTarget("PATCH", "shop", "deployments", "web"));
        // "api" as an object's name is not where the API path starts
        assertThat(WriteTarget.fromPath("PUT", "/api/v1/namespaces/api/configmaps/apis"))
                .contains(new WriteTarget("PUT", "api", "configmaps", "apis"));
    }

    @Test
    void reviewsStoreNothingAndAreNotWriteTargets() {
        assertThat(WriteTarget.fromPath("POST", "/apis/authentication.k8s.io/v1/tokenreviews")).isEmpty();
        assertThat(WriteTarget.fromPath("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews")).isEmpty();
        assertThat(WriteTarget.fromPath("POST", "/apis/authorization.k8s.io/v1/namespaces/shop/localsubjectaccessreviews"))
                .as("namespaced, and still nothing stored").isEmpty();
        assertThat(WriteTarget.storesNothing("/apis/authentication.k8s.io/v1/tokenreviews")).isTrue();
        // A custom resource that happens to be called like one is stored, and fenced.
        assertThat(WriteTarget.fromPath("POST", "/apis/example.com/v1/namespaces/shop/tokenreviews"))
                .contains(new WriteTarget("POST", "shop", "tokenreviews", ""));
        assertThat(WriteTarget.storesNothing("/apis/example.com/v1/namespaces/shop/tokenreviews")).isFalse();
    }

    @Test
    void aCustomResourceVersionOfAnyShapeIsReadAndAnUnreadablePathIsNeitherReadNorExempt() {
        assertThat(WriteTarget.fromPath("PUT", "/apis/example.com/foo1/namespaces/shop/widgets/a"))
                .contains(new WriteTarget("PUT", "shop", "widgets", "a"));
        assertThat(WriteTarget.fromPath("PUT", "/weird/place/widgets/a")).isEmpty();
        assertThat(WriteTarget.storesNothing("/weird/place/widgets/a")).as("so the guard refuses it").isFalse();
    }
}
