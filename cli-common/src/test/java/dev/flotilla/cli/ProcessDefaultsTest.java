package dev.flotilla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class ProcessDefaultsTest {

    @Test
    void setsEveryDefaultThePropertiesLack() {
        Properties properties = new Properties();
        properties.setProperty("unrelated", "kept");

        ProcessDefaults.apply(properties);

        assertThat(properties).containsEntry(ProcessDefaults.NETTY_JFR, "false").containsEntry("unrelated", "kept");
        assertThat(properties).containsAllEntriesOf(ProcessDefaults.DEFAULTS);
    }

    @Test
    void keepsWhatTheUserSet() {
        Properties properties = new Properties();
        properties.setProperty(ProcessDefaults.NETTY_JFR, "true");

        ProcessDefaults.apply(properties);

        assertThat(properties.getProperty(ProcessDefaults.NETTY_JFR)).isEqualTo("true");
    }
}
