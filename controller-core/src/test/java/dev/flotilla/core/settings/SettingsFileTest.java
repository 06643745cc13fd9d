package dev.flotilla.core.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsFileTest {

    static final SettingsSection GUARD = SettingsSection.of("resilience", "qps", "burst", "retry.max-backoff");
    static final SettingsSection SHARDS = SettingsSection.of("sharding", "shards", "enabled");

    @Test
    void aMistypedPrefixIsRefusedNamingTheKeyAndTheFile() {
        SettingsFile file = SettingsFile.of("config f.properties", Map.of("resiliance.qps", "5", "resilience.qps", "5"));
        assertThatThrownBy(() -> file.requireKnownKeys(List.of(GUARD, SHARDS)))
                .isInstanceOf(InvalidSettingsException.class)
                .hasMessage("config f.properties: resiliance.qps: unknown key: no component reads keys under 'resiliance.' "
                        + "(known prefixes: resilience., sharding.)");
    }

    @Test
    void anUnknownKeyUnderAKnownPrefixIsRefusedWithTheSectionsKeys() {
        SettingsFile file = SettingsFile.of("config f.properties", Map.of("resilience.qsp", "5"));
        assertThatThrownBy(() -> file.requireKnownKeys(List.of(GUARD, SHARDS)))
                .hasMessage("config f.properties: resilience.qsp: unknown key (resilience.* keys: resilience.burst, "
                        + "resilience.qps, resilience.retry.max-backoff)");
    }

    @Test
    void everyBadKeyIsListedOnOneLine() {
        SettingsFile file = SettingsFile.of("config f", Map.of("qps", "5", "sharding.shard", "4", "sharding.shards", "4"));
        var e = (InvalidSettingsException) org.assertj.core.api.Assertions.catchThrowable(
                () -> file.requireKnownKeys(List.of(GUARD, SHARDS)));
        assertThat(e.problems()).hasSize(2);
        assertThat(e.problems().get(0)).startsWith("config f: qps: unknown key: no component reads keys under 'qps'");
        assertThat(e.problems().get(1)).startsWith("config f: sharding.shard: unknown key (sharding.* keys:");
        assertThat(e.getMessage()).doesNotContain("\n");
    }

    @Test
    void knownKeysPassAndReadTyped() {
        SettingsFile file = SettingsFile.of("config f", Map.of("resilience.qps", " 7.5 ", "resilience.burst", "9",
                "resilience.retry.max-backoff", "2s", "sharding.enabled", "FALSE"));
        file.requireKnownKeys(List.of(GUARD, SHARDS));
        var guard = file.section(GUARD);
        assertThat(guard.number("resilience.qps")).contains(7.5);
        assertThat(guard.wholeNumber("resilience.burst")).contains(9);
        assertThat(guard.duration("resilience.retry.max-backoff")).contains(Duration.ofSeconds(2));
        assertThat(file.section(SHARDS).flag("sharding.enabled")).contains(false);
        assertThat(file.section(SHARDS).wholeNumber("sharding.shards")).isEmpty();
        assertThat(file.section(SHARDS).isEmpty()).isFalse();
    }

    @Test
    void anUnusableValueNamesFileKeyAndValue() {
        SettingsFile file = SettingsFile.of("config f", Map.of("resilience.burst", "ten", "resilience.qps", "NaN",
                "resilience.retry.max-backoff", "5 parsecs"));
        assertThatThrownBy(() -> file.section(GUARD).wholeNumber("resilience.burst"))
                .hasMessage("config f: resilience.burst=ten: not a whole number");
        assertThatThrownBy(() -> file.section(GUARD).number("resilience.qps")).hasMessage("config f: resilience.qps=NaN: not a number");
        assertThatThrownBy(() -> file.section(GUARD).duration("resilience.retry.max-backoff"))
                .hasMessageStartingWith("config f: resilience.retry.max-backoff=5 parsecs: ");
    }

    @Test
    void readingAKeyTheSectionDoesNotDefineIsAProgrammingError() {
        assertThatThrownBy(() -> SettingsFile.empty().section(GUARD).text("resilience.nope"))
                .isNotInstanceOf(InvalidSettingsException.class).hasMessageContaining("does not define");
    }

    @Test
    void aFileIsReadAndAMissingOneNamed(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("flotilla.properties");
        Files.writeString(f, "# comment\nresilience.qps = 5\n");
        SettingsFile file = SettingsFile.read(f);
        assertThat(file.origin()).isEqualTo("config " + f);
        assertThat(file.values()).isEqualTo(Map.of("resilience.qps", "5"));
        assertThatThrownBy(() -> SettingsFile.read(dir.resolve("missing.properties")))
                .isInstanceOf(InvalidSettingsException.class)
                .hasMessageStartingWith("config " + dir.resolve("missing.properties") + ": cannot read: ");
    }

    @Test
    void sectionsValidateTheirKeys() {
        assertThatThrownBy(() -> SettingsSection.of("Bad", "x")).hasMessageContaining("lower case");
        assertThatThrownBy(() -> new SettingsSection("a", new java.util.TreeSet<>(List.of("b.c")))).hasMessageContaining("not under 'a.'");
        assertThat(GUARD.key("qps")).isEqualTo("resilience.qps");
        assertThatThrownBy(() -> GUARD.key("qsp")).hasMessageContaining("no key");
    }
}
