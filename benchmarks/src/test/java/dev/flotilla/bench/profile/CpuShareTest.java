package dev.flotilla.bench.profile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flotilla.bench.profile.CpuShare.Layer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CpuShareTest {

    @Test
    void aSampleIsChargedToItsTopmostFrameOutsideTheJdk() {
        assertThat(CpuShare.charge(List.of("java.util.HashMap", "io.github.resilience4j.ratelimiter.internal.AtomicRateLimiter",
                "dev.flotilla.resilience.guard.RequestGuard"))).isEqualTo(Layer.RESILIENCE4J);
        assertThat(CpuShare.charge(List.of("java.lang.String", "dev.flotilla.resilience.guard.RequestClassifier",
                "io.fabric8.kubernetes.client.http.StandardHttpClient"))).isEqualTo(Layer.FLOTILLA);
        assertThat(CpuShare.charge(List.of("tools.jackson.databind.ObjectMapper"))).isEqualTo(Layer.JACKSON);
        assertThat(CpuShare.charge(List.of("dev.flotilla.bench.josdk.JosdkContender"))).isEqualTo(Layer.BENCHMARK_HARNESS);
        assertThat(CpuShare.charge(List.of("dev.flotilla.examples.mirror.ConfigMapMirror"))).isEqualTo(Layer.MIRROR_CONTROLLER);
        assertThat(CpuShare.charge(List.of("io.netty.channel.nio.NioEventLoop"))).isEqualTo(Layer.HTTP);
        assertThat(CpuShare.charge(List.of("org.example.Thing"))).isEqualTo(Layer.OTHER_LIBRARY);
        assertThat(CpuShare.charge(List.of("java.lang.Thread", "jdk.internal.misc.Unsafe"))).isEqualTo(Layer.JDK_ONLY);
    }

    @Test
    void sharesAreOfAllSamples() {
        CpuShare.Profile p = new CpuShare.Profile(Map.of(Layer.FLOTILLA, 1L, Layer.FABRIC8, 3L));
        assertThat(p.total()).isEqualTo(4);
        assertThat(p.share(Layer.FLOTILLA)).isEqualTo(0.25);
        assertThat(p.share(Layer.JACKSON)).isZero();
    }
}
