package dev.flotilla.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The etcd compaction interval a server is started with: the tests' few seconds, or a cluster's minutes for measurements. */
class RealApiServerCompactionTest {

    @Test
    void theIntervalAskedForIsTheOneTheApiServerRunsWith() {
        try (RealApiServer server = RealApiServer.start(true, false, RealApiServer.DEFAULT_COMPACTION_INTERVAL)) {
            assertThat(String.join(" ", server.apiServerProcess().command()))
                    .containsPattern("--etcd-compaction-interval[= ]300000ms( |$)");
        }
    }

    @Test
    void aZeroOrNegativeIntervalIsRefusedBeforeAnythingStarts() {
        assertThatThrownBy(() -> RealApiServer.start(true, false, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the etcd compaction interval must be positive, got PT0S");
        assertThatThrownBy(() -> RealApiServer.start(true, false, Duration.ofSeconds(-3)))
                .hasMessage("the etcd compaction interval must be positive, got PT-3S");
    }
}
