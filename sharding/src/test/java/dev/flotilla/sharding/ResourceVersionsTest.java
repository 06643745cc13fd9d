package dev.flotilla.sharding;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The order KEP-5504 gives resourceVersions, and what is left unordered. */
class ResourceVersionsTest {

    @Test
    void decimalVersionsAreOrderedByValueWhateverTheirLength() {
        assertThat(ResourceVersions.compare("1204", "987")).hasValue(1);
        assertThat(ResourceVersions.compare("987", "1204")).hasValue(-1);
        assertThat(ResourceVersions.compare("12345678901234567890123", "12345678901234567890124")).hasValue(-1);
        assertThat(ResourceVersions.compare("42", "42")).hasValue(0);
        assertThat(ResourceVersions.atLeast("1204", "987")).isTrue();
        assertThat(ResourceVersions.atLeast("987", "1204")).isFalse();
    }

    @Test
    void anythingButAPositiveIntegerWithoutLeadingZerosIsNotOrdered() {
        for (String opaque : new String[] {"", "0", "012", "12a", "-5", "1.0", " 12"}) {
            assertThat(ResourceVersions.compare(opaque, "12")).as(opaque).isEmpty();
            assertThat(ResourceVersions.compare("12", opaque)).as(opaque).isEmpty();
        }
        assertThat(ResourceVersions.compare(null, "12")).isEmpty();
        assertThat(ResourceVersions.atLeast("abc", "abc")).as("equal opaque versions are the same write").isTrue();
        assertThat(ResourceVersions.atLeast("abd", "abc")).isFalse();
        assertThat(ResourceVersions.atLeast(null, null)).isFalse();
    }
}
