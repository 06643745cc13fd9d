package dev.flotilla.resilience.guard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.resilience.guard.RequestKind.Budget;
import dev.flotilla.resilience.guard.RequestKind.RetryPolicy;
import java.net.URI;
import org.junit.jupiter.api.Test;

class RequestClassifierTest {

    private static final String CM = "https://api:6443/api/v1/namespaces/shop/configmaps";
    private static final String LEASES = "https://api:6443/apis/coordination.k8s.io/v1/namespaces/flotilla/leases";

    private static OutgoingRequest request(String method, String uri, String contentType, String body) {
        return OutgoingRequest.of(method, URI.create(uri), contentType == null ? "" : contentType,
                body == null ? "" : body);
    }

    private static RequestKind kind(String method, String uri, String contentType, String body) {
        return RequestClassifier.classify(request(method, uri, contentType, body)).kind();
    }

    @Test
    void readsAreSafeToRepeat() {
        assertThat(kind("GET", CM + "/settings", null, null)).isEqualTo(RequestKind.READ);
        assertThat(kind("GET", CM + "?labelSelector=a%3Db&limit=500", null, null)).isEqualTo(RequestKind.READ);
        assertThat(kind("GET", "https://api:6443/version", null, null)).isEqualTo(RequestKind.READ);
        assertThat(RequestKind.READ.retryPolicy()).isEqualTo(RetryPolicy.IDEMPOTENT);
    }

    @Test
    void watchesAndStreamsAreLongRunningAndNeverRetried() {
        assertThat(kind("GET", CM + "?watch=true&resourceVersion=10&allowWatchBookmarks=true", null, null))
                .isEqualTo(RequestKind.WATCH);
        assertThat(kind("GET", "https://api:6443/api/v1/watch/namespaces/shop/configmaps", null, null))
                .isEqualTo(RequestKind.WATCH);
        assertThat(kind("GET", "https://api:6443/api/v1/namespaces/shop/pods/web/log?follow=true", null, null))
                .isEqualTo(RequestKind.STREAM);
        assertThat(kind("GET", "https://api:6443/api/v1/namespaces/shop/pods/web/log", null, null))
                .isEqualTo(RequestKind.READ);
        assertThat(RequestClassifier.classifyWebSocket(URI.create(CM + "?watch=true")).kind()).isEqualTo(RequestKind.WATCH);
        assertThat(RequestClassifier.classifyWebSocket(
                URI.create("https://api:6443/api/v1/namespaces/shop/pods/web/exec?command=ls")).kind())
                .isEqualTo(RequestKind.STREAM);
        for (RequestKind k : new RequestKind[] {RequestKind.WATCH, RequestKind.STREAM}) {
            assertThat(k.longRunning()).isTrue();
            assertThat(k.retryPolicy()).isEqualTo(RetryPolicy.NEVER);
            assertThat(k.gatedByBreaker()).isTrue();
        }
    }

    @Test
    void createsAreNotSafeToRepeat() {
        assertThat(kind("POST", CM, "application/json", "{\"metadata\":{\"name\":\"x\"}}"))
                .isEqualTo(RequestKind.UNGUARDED_WRITE);
        assertThat(RequestKind.UNGUARDED_WRITE.retryPolicy()).isEqualTo(RetryPolicy.NOT_PROCESSED_ONLY);
        // A dry run stores nothing; an access review stores nothing.
        assertThat(kind("POST", CM + "?dryRun=All", "application/json", "{}")).isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(kind("POST", "https://api:6443/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                "application/json", "{}")).isEqualTo(RequestKind.READ);
    }

    @Test
    void updatesAreSafeOnlyWithAResourceVersionPrecondition() {
        assertThat(kind("PUT", CM + "/settings", "application/json",
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"settings\",\"labels\":{\"a\":\"b\"},"
                        + "\"resourceVersion\":\"42\"},\"data\":{\"resourceVersion\":\"\"}}"))
                .isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(kind("PUT", CM + "/settings", "application/json",
                "{\"metadata\":{\"name\":\"settings\"},\"data\":{\"resourceVersion\":\"42\"}}"))
                .isEqualTo(RequestKind.UNGUARDED_WRITE);
        assertThat(kind("PUT", CM + "/settings", "application/json",
                "{\"metadata\":{\"name\":\"settings\",\"resourceVersion\":\"\"}}"))
                .isEqualTo(RequestKind.UNGUARDED_WRITE);
        assertThat(kind("PUT", CM + "/settings/status", "application/json", "not json"))
                .isEqualTo(RequestKind.UNGUARDED_WRITE);
    }

    @Test
    void patchesAreSafeWhenTheyCannotApplyTwice() {
        assertThat(RequestClassifier.classify(request("PATCH", CM + "/settings?fieldManager=flotilla&force=true",
                "application/apply-patch+yaml", "{\"apiVersion\":\"v1\"}")))
                .isEqualTo(RequestClassifier.Classification.of(RequestKind.GUARDED_WRITE, "server-side apply"));
        assertThat(kind("PATCH", CM + "/settings", "application/json-patch+json",
                "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/0\",\"value\":\"a\"},"
                        + "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]"))
                .isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(kind("PATCH", CM + "/settings", "application/json-patch+json",
                "[{\"op\":\"add\",\"path\":\"/data/test\",\"value\":\"test\"}]"))
                .isEqualTo(RequestKind.UNGUARDED_WRITE);
        assertThat(kind("PATCH", CM + "/settings", "application/merge-patch+json",
                "{\"metadata\":{\"resourceVersion\":\"9\"},\"data\":{\"a\":\"b\"}}"))
                .isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(kind("PATCH", CM + "/settings", "application/strategic-merge-patch+json",
                "{\"data\":{\"a\":\"b\"}}"))
                .isEqualTo(RequestKind.UNGUARDED_WRITE);
    }

    @Test
    void deletesAreSafeOnlyWithPreconditions() {
        assertThat(kind("DELETE", CM + "/settings", "application/json",
                "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\",\"preconditions\":{\"uid\":\"1234\"}}"))
                .isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(kind("DELETE", CM + "/settings", "application/json",
                "{\"preconditions\":{\"resourceVersion\":\"5\"},\"propagationPolicy\":\"Background\"}"))
                .isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(kind("DELETE", CM + "/settings", "application/json",
                "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\",\"propagationPolicy\":\"Background\"}"))
                .isEqualTo(RequestKind.UNGUARDED_WRITE);
    }

    @Test
    void leaseRequestsHaveTheirOwnBudgetAndBypassTheBreaker() {
        assertThat(kind("GET", LEASES + "/shard-07", null, null)).isEqualTo(RequestKind.LEASE);
        assertThat(kind("PUT", LEASES + "/shard-07", "application/json",
                "{\"metadata\":{\"name\":\"shard-07\",\"resourceVersion\":\"3\"}}")).isEqualTo(RequestKind.LEASE);
        assertThat(kind("POST", LEASES, "application/json", "{\"metadata\":{\"name\":\"shard-07\"}}"))
                .isEqualTo(RequestKind.LEASE);
        assertThat(kind("DELETE", LEASES + "/shard-07", "application/json", "{}")).isEqualTo(RequestKind.LEASE);
        assertThat(RequestKind.LEASE.budget()).isEqualTo(Budget.LEASES);
        assertThat(RequestKind.LEASE.gatedByBreaker()).isFalse();
        // Listing and watching Leases too: a replica's view of its group must not wait for the breaker.
        assertThat(kind("GET", LEASES, null, null)).isEqualTo(RequestKind.LEASE);
        assertThat(kind("GET", LEASES + "?labelSelector=flotilla.dev%2Fgroup%3Dflotilla&watch=true", null, null))
                .isEqualTo(RequestKind.LEASE_WATCH);
        assertThat(RequestClassifier.classifyWebSocket(URI.create(LEASES + "?watch=true")).kind())
                .isEqualTo(RequestKind.LEASE_WATCH);
        assertThat(RequestKind.LEASE_WATCH.budget()).isEqualTo(Budget.LEASES);
        assertThat(RequestKind.LEASE_WATCH.gatedByBreaker()).isFalse();
        assertThat(RequestKind.LEASE_WATCH.longRunning()).isTrue();
        assertThat(kind("GET", "https://api:6443/apis/coordination.k8s.io/v1/leases", null, null))
                .isEqualTo(RequestKind.LEASE);
        // Same resource name in another group is not a lease.
        assertThat(kind("GET", "https://api:6443/apis/example.com/v1/namespaces/x/leases/y", null, null))
                .isEqualTo(RequestKind.READ);
    }

    @Test
    void aStreamedBodyIsNeverSentTwice() {
        OutgoingRequest upload = OutgoingRequest.streamed("POST", URI.create(CM), "application/json");
        assertThat(RequestClassifier.classify(upload).kind()).isEqualTo(RequestKind.UPLOAD);
        assertThat(RequestKind.UPLOAD.retryPolicy()).isEqualTo(RetryPolicy.NEVER);
    }

    @Test
    void theMethodAndContentTypeAreReadInAnyCase() {
        assertThat(kind("get", CM, "", "")).isEqualTo(RequestKind.READ);
        assertThat(kind("patch", CM + "/settings", " Application/Apply-Patch+YAML ", "{}")).isEqualTo(RequestKind.GUARDED_WRITE);
    }

    @Test
    void bodyProbesToleratesMalformedJson() {
        assertThat(RequestClassifier.hasNestedString("{\"metadata\":", "metadata", "resourceVersion")).isFalse();
        assertThat(RequestClassifier.hasNestedString("[1,2]", "metadata", "resourceVersion")).isFalse();
        assertThat(RequestClassifier.hasNestedString("{\"metadata\":{\"resourceVersion\":7}}", "metadata",
                "resourceVersion")).isFalse();
        assertThat(RequestClassifier.jsonPatchHasTest("[{\"op\":")).isFalse();
        assertThat(RequestClassifier.jsonPatchHasTest("{\"op\":\"test\"}")).isFalse();
    }

    @Test
    void aWritesPreconditionIsReadFromItsBodyOnlyWhenAskedAndOnlyOnce() {
        CountedBodyRequest put = new CountedBodyRequest("PUT", URI.create(CM + "/settings"),
                "{\"metadata\":{\"name\":\"settings\",\"resourceVersion\":\"42\"}}");
        RequestClassifier.Classification c = RequestClassifier.classify(put);
        // What the guard needs to send it is known without the body, and is the same for both write kinds.
        assertThat(c.isWrite()).isTrue();
        assertThat(c.budget()).isEqualTo(Budget.REQUESTS).isEqualTo(RequestKind.GUARDED_WRITE.budget());
        assertThat(c.gatedByBreaker()).isTrue();
        assertThat(c.longRunning()).isFalse();
        assertThat(c.mayRetry()).isTrue();
        assertThat(put.reads).hasValue(0);
        assertThat(c).isInstanceOfSatisfying(RequestClassifier.Classification.PreconditionInBody.class,
                pending -> assertThat(pending.decidedYet()).isFalse());

        assertThat(c.kind()).isEqualTo(RequestKind.GUARDED_WRITE);
        assertThat(c.retryPolicy()).isEqualTo(RetryPolicy.IDEMPOTENT);
        assertThat(c.reason()).isEqualTo("update with metadata.resourceVersion");
        assertThat(put.reads).hasValue(1);
    }
}
