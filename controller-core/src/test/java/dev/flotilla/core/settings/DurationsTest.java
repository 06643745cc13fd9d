package dev.flotilla.core.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void parsesGoStyleAndIso() {
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Durations.parse("1m30s250ms")).isEqualTo(Duration.ofMillis(90_250));
        assertThat(Durations.parse("PT30S")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("pt2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse(" 10S ")).isEqualTo(Duration.ofSeconds(10));
        assertThat(Durations.parse("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(Durations.parse("1500ns")).isEqualTo(Duration.ofNanos(1500));
        assertThat(Durations.parse("2us")).isEqualTo(Duration.ofNanos(2000));
        assertThat(Durations.parse("pt0.25s")).isEqualTo(Duration.ofMillis(250));
    }

    @Test
    void zeroOnlyWhereAllowed() {
        assertThat(Durations.parseNonNegative("0s")).isEqualTo(Duration.ZERO);
        assertThat(Durations.parseNonNegative("PT0S")).isEqualTo(Duration.ZERO);
        assertThatThrownBy(() -> Durations.parse("0s")).hasMessage("'0s' must be a positive duration");
        assertThatThrownBy(() -> Durations.parseNonNegative("-5s")).hasMessage("'-5s' must not be negative");
        assertThatThrownBy(() -> Durations.parseNonNegative("PT-5S")).hasMessage("'PT-5S' must not be negative");
        assertThatThrownBy(() -> Durations.parseNonNegative("9999999999h")).hasMessageContaining("too long");
    }

    @Test
    void rejectsWhatIsNotAPositiveDuration() {
        for (String bad : new String[] {"", "3x", "30", "s", "1.5", ".5s", "-5s", "0s", "PT0S", "PT-1S", "P", "10 s"}) {
            assertThatThrownBy(() -> Durations.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Durations.parse("3x")).hasMessageContaining("'3x' is not a duration").hasMessageContaining("30s");
    }

    @Test
    void formatsLikeGo() {
        assertThat(Durations.format(Duration.ofSeconds(120))).isEqualTo("2m");
        assertThat(Durations.format(Duration.ofSeconds(90))).isEqualTo("1m30s");
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1.5s");
        assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250ms");
        assertThat(Durations.format(Duration.ofHours(1))).isEqualTo("1h");
    }
}
