package dev.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flotilla.chaos.experiment.Action;
import dev.flotilla.chaos.experiment.ChaosDocuments;
import dev.flotilla.chaos.experiment.Experiment;
import dev.flotilla.chaos.experiment.InvalidExperimentException;
import dev.flotilla.chaos.experiment.Mode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChaosDocumentsTest {

    static Path home() {
        return Path.of(System.getProperty("flotilla.home", "..")).toAbsolutePath().normalize();
    }

    static List<Path> shipped() throws Exception {
        try (Stream<Path> deploy = Files.list(home().resolve("deploy/chaos"));
             Stream<Path> local = Files.list(home().resolve("chaos-tests/experiments"))) {
            return Stream.concat(deploy, local).filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void everyShippedExperimentIsReadAndAimsAtTheDeploysPods() throws Exception {
        List<Path> files = shipped();
        assertThat(files).hasSizeGreaterThanOrEqualTo(19);
        for (Path f : files) {
            Experiment e = ChaosDocuments.read(f);
            assertThat(e.name() + ".yaml").isEqualTo(f.getFileName().toString());
            if (!e.kind().equals("ClusterChaos")) {
                assertThat(e.selector().orElseThrow().matches("flotilla-system", "flotilla-abc-x",
                        java.util.Map.of("app.kubernetes.io/name", "flotilla", "flotilla.dev/role", "coordinator")))
                        .as(f.toString()).isTrue();
            }
        }
    }

    @Test
    void fieldsAreReadAsChaosMeshDefinesThem() throws Exception {
        Experiment delay = ChaosDocuments.read(home().resolve("deploy/chaos/network-delay-all.yaml"));
        assertThat(delay.action()).isInstanceOf(Action.NetDelay.class);
        Action.NetDelay d = (Action.NetDelay) delay.action();
        assertThat(d.latency()).isPositive();
        assertThat(delay.mode()).isEqualTo(new Mode.All());
        Experiment allButOne = ChaosDocuments.read(home().resolve("deploy/chaos/pod-kill-all-but-one.yaml"));
        assertThat(allButOne.mode()).isEqualTo(new Mode.Fixed(2));
        assertThat(allButOne.faultDuration()).isZero();
        Experiment back = ChaosDocuments.read(home().resolve("deploy/chaos/time-backward-5m-one.yaml"));
        assertThat(((Action.TimeShift) back.action()).offset()).isEqualTo(Duration.ofMinutes(-5));
        Experiment bandwidth = ChaosDocuments.read(home().resolve("deploy/chaos/network-bandwidth-one.yaml"));
        assertThat(((Action.NetBandwidth) bandwidth.action()).bytesPerSecond()).isPositive();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "unknown-kind.yaml|kind KernelChaos is not run by the local engine",
            "unknown-field.yaml|spec.selector.fieldSelectors is not carried out by the local engine",
            "bad-duration.yaml|spec.duration 'thirty seconds' is not a duration",
            "missing-duration.yaml|NetworkChaos/delay needs spec.duration",
            "fixed-without-value.yaml|mode fixed needs spec.value",
            "corrupt.yaml|NetworkChaos spec.action 'corrupt' is not run by the local engine",
            "two-documents.yaml|holds several documents",
            "not-yaml.yaml|not YAML",
            "pod-target.yaml|spec.target (pods as the other side) is not carried out",
            "monotonic-clock.yaml|spec.clockIds [CLOCK_MONOTONIC] is not carried out",
            "other-container.yaml|spec.containerNames names 'istio-proxy'",
            "percent-memory.yaml|a percent of the node's memory has no local meaning",
            "empty-selector.yaml|spec.selector is missing",
            "unknown-cluster-action.yaml|spec.action 'disk-full' is not a ClusterChaos action"})
    void anInvalidOrUnsupportedDocumentIsRefusedWithOneLineNamingIt(String file, String expected) throws Exception {
        Path p = Path.of(getClass().getResource("/invalid/" + file).toURI());
        assertThatThrownBy(() -> ChaosDocuments.read(p)).isInstanceOf(InvalidExperimentException.class)
                .hasMessageStartingWith(file + ": ").hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void modesPickAsChaosMeshDefinesThemAndASeedMakesThePickReproducible() {
        List<String> pods = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
        Comparator<String> order = Comparator.naturalOrder();
        assertThat(new Mode.One().pick(pods, order, new SplittableRandom(1))).hasSize(1);
        assertThat(new Mode.All().pick(pods, order, new SplittableRandom(1))).isEqualTo(pods);
        assertThat(new Mode.Fixed(3).pick(pods, order, new SplittableRandom(1))).hasSize(3);
        assertThat(new Mode.Fixed(30).pick(pods, order, new SplittableRandom(1))).hasSize(10);
        assertThat(new Mode.FixedPercent(25).pick(pods, order, new SplittableRandom(1))).hasSize(3);
        assertThat(new Mode.FixedPercent(66).pick(pods.subList(0, 3), order, new SplittableRandom(1))).hasSize(2);
        for (int seed = 0; seed < 50; seed++) {
            assertThat(new Mode.RandomMaxPercent(40).pick(pods, order, new SplittableRandom(seed)).size()).isBetween(0, 4);
        }
        assertThat(new Mode.Fixed(4).pick(pods, order, new SplittableRandom(7)))
                .isEqualTo(new Mode.Fixed(4).pick(pods, order, new SplittableRandom(7)));
    }
}
