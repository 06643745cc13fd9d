package dev.flotilla.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ConfigMapList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.PodTemplateBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.ShardField;
import io.fabric8.kubernetes.client.dsl.base.ShardRange;
import io.fabric8.kubernetes.client.dsl.base.ShardSelector;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Pins the API server behaviour Flotilla relies on, against a real server. Each test names one
 * guarantee; if an upgrade of the server or of fabric8 breaks one, this class says which.
 */
@WithCluster
class ApiServerConformanceTest {

    private static ConfigMap cm(TestNamespace ns, String name, Map<String, String> labels) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).withLabels(labels)
                .endMetadata().withData(Map.of("v", "0")).build();
    }

    @Test
    void aWatchResumesFromAResourceVersionWithoutReplayingOlderEvents(KubernetesClient client, TestNamespace ns) throws Exception {
        ConfigMap created = client.resource(cm(ns, "w", Map.of())).create();
        String before = created.getMetadata().getResourceVersion();
        for (int i = 1; i <= 3; i++) {
            int v = i;
            client.configMaps().inNamespace(ns.name()).withName("w").edit(c -> {
                c.getData().put("v", Integer.toString(v));
                return c;
            });
        }
        List<String> seen = new CopyOnWriteArrayList<>();
        try (Watch ignored = client.configMaps().inNamespace(ns.name()).withResourceVersion(before).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, ConfigMap resource) {
                seen.add(action + ":" + resource.getData().get("v"));
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        })) {
            await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() >= 3);
            Thread.sleep(300);
        }
        assertThat(seen).containsExactly("MODIFIED:1", "MODIFIED:2", "MODIFIED:3");
    }

    @Test
    void anExpiredResourceVersionGives410AndTheInformerRelistsAndRecovers(TestCluster cluster, KubernetesClient client,
            TestNamespace ns) throws Exception {
        // PodTemplates have no watch cache on the REAL backend (see RealApiServer), so their history ends at
        // etcd's compaction, which this test runs itself, past the revisions it then resumes from.
        Assumptions.assumeTrue(cluster instanceof RealApiServer, "compacting on demand needs the REAL backend's etcd");
        RealApiServer real = (RealApiServer) cluster;
        PodTemplate first = client.resource(podTemplate(ns, "pt-0")).create();
        String expired = first.getMetadata().getResourceVersion();
        PodTemplate last = first;
        for (int i = 1; i <= 20; i++) {
            last = client.resource(podTemplate(ns, "pt-" + i)).create();
        }
        real.compactEtcd(Long.parseLong(last.getMetadata().getResourceVersion()));
        var gone = new AtomicReference<WatcherException>();
        try (Watch w = client.resources(PodTemplate.class).inNamespace(ns.name()).withResourceVersion(expired).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, PodTemplate resource) {
            }

            @Override
            public void onClose(WatcherException cause) {
                gone.set(cause);
            }
        })) {
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (gone.get() == null && System.nanoTime() < until) {
                Thread.sleep(50);
            }
        } catch (KubernetesClientException e) {
            gone.compareAndSet(null, new WatcherException(e.getMessage(), e));
        }
        assertThat(gone.get()).as("the watch from resourceVersion %s closed", expired).isNotNull();
        assertThat(gone.get().isHttpGone()).as("410 Gone for resourceVersion " + expired).isTrue();

        // An informer cut off long enough for its resourceVersion to expire must relist and catch up.
        try (TcpForwarder forwarder = TcpForwarder.to(URI.create(cluster.config().getMasterUrl()))) {
            Config viaForwarder = new ConfigBuilder(cluster.config()).withMasterUrl(forwarder.url())
                    .withRequestRetryBackoffInterval(200).withRequestRetryBackoffLimit(0).build();
            try (KubernetesClient cutOff = new KubernetesClientBuilder().withConfig(viaForwarder).build()) {
                var lists = new AtomicInteger();
                SharedIndexInformer<PodTemplate> informer = cutOff.resources(PodTemplate.class).inNamespace(ns.name()).inform(
                        new ResourceEventHandler<>() {
                            @Override
                            public void onList(String resourceVersion, boolean complete) {
                                lists.incrementAndGet();
                            }

                            @Override
                            public void onAdd(PodTemplate obj) {
                            }

                            @Override
                            public void onUpdate(PodTemplate oldObj, PodTemplate newObj) {
                            }

                            @Override
                            public void onDelete(PodTemplate obj, boolean deletedFinalStateUnknown) {
                            }
                        });
                try (informer) {
                    // Synced means listed; the watch is opened just after. Cut only once it is open, so that
                    // the cut, not a late first watch, is what the informer must recover from.
                    await().atMost(Duration.ofSeconds(20)).until(() -> informer.hasSynced() && informer.isWatching());
                    int listsBefore = lists.get();
                    forwarder.refuse(true);
                    forwarder.cutAll();
                    List<String> createdWhileCut = new ArrayList<>();
                    String newest = "";
                    for (int i = 0; i < 8; i++) {
                        String name = "while-cut-" + i;
                        newest = client.resource(podTemplate(ns, name)).create().getMetadata().getResourceVersion();
                        createdWhileCut.add(name);
                        Thread.sleep(250);
                    }
                    // Everything the informer saw before the cut is history now: its watch must come back 410 Gone.
                    real.compactEtcd(Long.parseLong(newest));
                    forwarder.refuse(false);
                    int expected = client.resources(PodTemplate.class).inNamespace(ns.name()).list().getItems().size();
                    await().atMost(Duration.ofSeconds(60)).until(() -> informer.getStore().list().size() == expected);
                    // The store is synced before the handlers hear of the list (fabric8 hands onList to each
                    // handler's own executor), so the relist is awaited, not read at the moment the store caught up.
                    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(lists.get())
                            .as("the informer relisted after its watch expired").isGreaterThan(listsBefore));
                    assertThat(informer.getStore().listKeys()).contains(ns.name() + "/" + createdWhileCut.getLast());
                }
            }
        }
    }

    private static PodTemplate podTemplate(TestNamespace ns, String name) {
        return new PodTemplateBuilder().withNewMetadata().withName(name).withNamespace(ns.name()).endMetadata()
                .withNewTemplate().withNewSpec().addNewContainer().withName("c").withImage("busybox").endContainer()
                .endSpec().endTemplate().build();
    }

    @Test
    void bookmarksArriveOnAWatchThatAsksForThem(KubernetesClient client, TestNamespace ns) throws Exception {
        client.resource(cm(ns, "b", Map.of())).create();
        String url = client.getConfiguration().getMasterUrl().replaceAll("/$", "") + "/api/v1/namespaces/" + ns.name()
                + "/configmaps?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan";
        var request = client.getHttpClient().newHttpRequestBuilder().uri(url).build();
        var response = client.getHttpClient().sendAsync(request, InputStream.class).get(10, TimeUnit.SECONDS);
        assertThat(response.code()).isEqualTo(200);
        List<String> types = new ArrayList<>();
        try (var reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String line;
            while (System.nanoTime() < deadline && (line = reader.readLine()) != null) {
                var event = client.getKubernetesSerialization().unmarshal(line, Map.class);
                types.add(String.valueOf(event.get("type")));
                if ("BOOKMARK".equals(event.get("type"))) {
                    break;
                }
            }
        }
        assertThat(types).first().isEqualTo("ADDED");
        assertThat(types).last().isEqualTo("BOOKMARK");
    }

    @Test
    void setBasedLabelSelectorsFilterOnTheServer(KubernetesClient client, TestNamespace ns) {
        client.resource(cm(ns, "a", Map.of("env", "prod", "tier", "web"))).create();
        client.resource(cm(ns, "b", Map.of("env", "staging", "tier", "web"))).create();
        client.resource(cm(ns, "c", Map.of("env", "dev"))).create();
        client.resource(cm(ns, "d", Map.of())).create();
        var in = client.configMaps().inNamespace(ns.name());
        assertThat(names(in.withLabelIn("env", "prod", "staging").list())).containsExactly("a", "b");
        assertThat(names(in.withLabelNotIn("env", "prod", "staging").list())).containsExactly("c", "d");
        assertThat(names(in.withLabel("tier").list())).containsExactly("a", "b");
        assertThat(names(in.withoutLabel("tier").list())).containsExactly("c", "d");
        assertThat(names(in.withLabelSelector("env in (prod,dev),!tier").list())).containsExactly("c");
    }

    private static List<String> names(ConfigMapList list) {
        return list.getItems().stream().map(c -> c.getMetadata().getName()).sorted().toList();
    }

    @Test
    void serverSideApplyTracksFieldManagersAndReportsConflicts(KubernetesClient client, TestNamespace ns) {
        ConfigMap mine = cm(ns, "ssa", Map.of());
        mine.setData(Map.of("owned", "by-a"));
        client.resource(mine).fieldManager("manager-a").serverSideApply();

        ConfigMap theirs = cm(ns, "ssa", Map.of());
        theirs.setData(Map.of("owned", "by-b"));
        assertThatThrownBy(() -> client.resource(theirs).fieldManager("manager-b").serverSideApply())
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(409);
                    assertThat(e.getMessage()).contains("conflict").contains("manager-a");
                });
        ConfigMap forced = client.resource(theirs).fieldManager("manager-b").forceConflicts().serverSideApply();
        assertThat(forced.getData()).containsEntry("owned", "by-b");
        assertThat(forced.getMetadata().getManagedFields()).extracting(m -> m.getManager()).contains("manager-b");
        // Applying the same intent again changes nothing.
        ConfigMap again = client.resource(theirs).fieldManager("manager-b").forceConflicts().serverSideApply();
        assertThat(again.getMetadata().getResourceVersion()).isEqualTo(forced.getMetadata().getResourceVersion());
    }

    @Test
    void theStatusSubresourceSeparatesSpecFromStatusWrites(KubernetesClient client, TestNamespace ns) {
        Deployment d = client.resource(new DeploymentBuilder().withNewMetadata().withName("s").withNamespace(ns.name())
                .endMetadata().withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("app", "s").endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", "s").endMetadata().withNewSpec().addNewContainer()
                .withName("c").withImage("busybox").endContainer().endSpec().endTemplate().endSpec().build()).create();
        d.setStatus(new io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder().withObservedGeneration(7L).build());
        d.getSpec().setReplicas(5);
        Deployment afterStatus = client.resource(d).updateStatus();
        assertThat(afterStatus.getStatus().getObservedGeneration()).isEqualTo(7L);
        assertThat(afterStatus.getSpec().getReplicas()).as("a status write ignores spec").isEqualTo(1);

        afterStatus.getSpec().setReplicas(3);
        afterStatus.getStatus().setObservedGeneration(99L);
        Deployment afterSpec = client.resource(afterStatus).update();
        assertThat(afterSpec.getSpec().getReplicas()).isEqualTo(3);
        assertThat(afterSpec.getStatus().getObservedGeneration()).as("a main-resource write ignores status").isEqualTo(7L);
        assertThat(afterSpec.getMetadata().getGeneration()).isEqualTo(2L);
    }

    @Test
    void aLeaseUpdateWithAStaleResourceVersionIsRejectedWith409(KubernetesClient client, TestNamespace ns) {
        Lease lease = client.resource(new LeaseBuilder().withNewMetadata().withName("shard-0").withNamespace(ns.name())
                .endMetadata().withNewSpec().withHolderIdentity("replica-a").withLeaseDurationSeconds(6).endSpec().build()).create();
        Lease stale = new LeaseBuilder(lease).build();
        lease.getSpec().setHolderIdentity("replica-b");
        client.resource(lease).update();
        stale.getSpec().setHolderIdentity("replica-c");
        assertThatThrownBy(() -> client.resource(stale).update())
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(409));
        assertThat(client.leases().inNamespace(ns.name()).withName("shard-0").get().getSpec().getHolderIdentity())
                .isEqualTo("replica-b");
    }

    @Test
    void theShardSelectorReturnsExactlyTheNamespacesWhoseFnv1aHashIsInRange(KubernetesClient client, TestNamespace ns) {
        String run = ns.name().substring(ns.name().length() - 6);
        List<String> namespaces = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String name = "shard-" + run + "-" + i;
            namespaces.add(name);
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
            client.resource(new ConfigMapBuilder().withNewMetadata().withName("probe").withNamespace(name)
                    .addToLabels("shard-run", run).endMetadata().build()).create();
        }
        try {
            for (int shard = 0; shard < 4; shard++) {
                BigInteger start = BigInteger.ONE.shiftLeft(64).multiply(BigInteger.valueOf(shard)).divide(BigInteger.valueOf(4));
                BigInteger end = BigInteger.ONE.shiftLeft(64).multiply(BigInteger.valueOf(shard + 1)).divide(BigInteger.valueOf(4));
                ShardSelector selector = ShardSelector.of(ShardRange.of(ShardField.NAMESPACE, start, end));
                ConfigMapList list = client.configMaps().inAnyNamespace().withLabel("shard-run", run)
                        .withShardSelector(selector).list();
                Set<String> got = list.getItems().stream().map(c -> c.getMetadata().getNamespace())
                        .collect(Collectors.toCollection(TreeSet::new));
                Set<String> expected = namespaces.stream().filter(n -> {
                    BigInteger h = new BigInteger(Long.toUnsignedString(fnv1a64(n)));
                    return h.compareTo(start) >= 0 && h.compareTo(end) < 0;
                }).collect(Collectors.toCollection(TreeSet::new));
                assertThat(got).as("shard %d of 4: %s", shard, selector.toExpression()).isEqualTo(expected);
                assertThat(list.getMetadata().getShardInfo()).as("the server echoes the selector it applied").isNotNull();
                assertThat(list.getMetadata().getShardInfo().getSelector()).isNotBlank();
            }
        } finally {
            namespaces.forEach(n -> client.namespaces().withName(n).delete());
        }
    }

    /** 64-bit FNV-1a over UTF-8 bytes: an independent reference for the server's shard hash. */
    static long fnv1a64(String s) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            hash ^= (b & 0xff);
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    @Test
    void fnvReferenceMatchesPublishedVectors() {
        assertThat(fnv1a64("")).isEqualTo(0xcbf29ce484222325L);
        assertThat(fnv1a64("a")).isEqualTo(0xaf63dc4c8601ec8cL);
        assertThat(fnv1a64("foobar")).isEqualTo(0x85944171f73967e8L);
    }
}
