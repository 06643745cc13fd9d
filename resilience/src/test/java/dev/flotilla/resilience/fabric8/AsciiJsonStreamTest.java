package dev.flotilla.resilience.fabric8;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@link AsciiJsonStream} judged the way fabric8 8.0.0's HTTP watch reads what it passes on: every buffer decoded on
 * its own with {@code UTF_8.decode(buffer).array()}, the characters concatenated, the text parsed as JSON.
 */
class AsciiJsonStreamTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** What fabric8's WatchHTTPManager makes of a response's buffers. */
    private static String asFabric8Reads(List<ByteBuffer> buffers) {
        StringBuilder text = new StringBuilder();
        for (ByteBuffer b : buffers) {
            text.append(StandardCharsets.UTF_8.decode(b).array());
        }
        return text.toString();
    }

    private static List<ByteBuffer> split(byte[] bytes, Random random) {
        List<ByteBuffer> buffers = new ArrayList<>();
        int from = 0;
        while (from < bytes.length) {
            int to = Math.min(bytes.length, from + 1 + random.nextInt(Math.max(1, bytes.length / 3)));
            buffers.add(ByteBuffer.wrap(bytes, from, to - from).slice());
            from = to;
        }
        return buffers;
    }

    private static String randomText(Random random) {
        StringBuilder s = new StringBuilder();
        int n = random.nextInt(40);
        for (int i = 0; i < n; i++) {
            int cp = switch (random.nextInt(5)) {
                case 0 -> 0x20 + random.nextInt(0x5F); // ASCII, quotes and backslashes included
                case 1 -> 0xA0 + random.nextInt(0x700); // 2 bytes: é, ß, Greek, Cyrillic
                case 2 -> 0x800 + random.nextInt(0xD000 - 0x800); // 3 bytes, below the surrogates: CJK, €
                case 3 -> 0xE000 + random.nextInt(0x2000); // 3 bytes, above them
                default -> 0x10000 + random.nextInt(0x10FFFF - 0x10000); // 4 bytes: emoji, as surrogate pairs
            };
            s.appendCodePoint(cp);
        }
        return s.toString();
    }

    @Test
    void fabric8ReadsEveryValueBackExactlyHoweverTheBytesAreSplit() {
        Random random = new Random(20261207);
        for (int round = 0; round < 2_000; round++) {
            String value = randomText(random);
            byte[] event = JSON.writeValueAsString(Map.of("type", "MODIFIED", "v", value)).getBytes(StandardCharsets.UTF_8);
            AsciiJsonStream ascii = new AsciiJsonStream();
            List<ByteBuffer> out = new ArrayList<>();
            for (ByteBuffer b : split(event, random)) {
                ByteBuffer next = ascii.next(b);
                for (int i = next.position(); i < next.limit(); i++) {
                    assertThat(next.get(i)).as("ASCII only").isNotNegative();
                }
                out.add(next);
            }
            assertThat(JSON.readTree(asFabric8Reads(out)).get("v").asString()).as("round %d", round).isEqualTo(value);
        }
    }

    @Test
    void withoutItFabric8LosesASplitCharacterAndPadsWithNulls() {
        byte[] event = "{\"v\":\"café\"}\n".getBytes(StandardCharsets.UTF_8);
        int inside = "{\"v\":\"caf".length() + 1; // between the two bytes of é
        List<ByteBuffer> raw = List.of(ByteBuffer.wrap(event, 0, inside).slice(),
                ByteBuffer.wrap(event, inside, event.length - inside).slice());
        assertThat(asFabric8Reads(raw)).as("the flaw this class works around").contains("\ufffd").doesNotContain("é");
        assertThat(asFabric8Reads(List.of(ByteBuffer.wrap("{\"v\":\"ééé\"}".getBytes(StandardCharsets.UTF_8)))))
                .contains("\u0000");

        AsciiJsonStream ascii = new AsciiJsonStream();
        List<ByteBuffer> fixed = new ArrayList<>();
        for (ByteBuffer b : List.of(ByteBuffer.wrap(event, 0, inside).slice(),
                ByteBuffer.wrap(event, inside, event.length - inside).slice())) {
            fixed.add(ascii.next(b));
        }
        assertThat(asFabric8Reads(fixed)).isEqualTo("{\"v\":\"caf\\u00e9\"}\n");
    }

    @Test
    void anAsciiBufferPassesAsItIsAndMalformedBytesBecomeReplacementCharacters() {
        AsciiJsonStream ascii = new AsciiJsonStream();
        ByteBuffer plain = ByteBuffer.wrap("{\"v\":\"plain\"}\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(ascii.next(plain)).isSameAs(plain);

        byte[] malformed = {'"', (byte) 0xC3, '(', (byte) 0x80, (byte) 0xC0, (byte) 0xAF, (byte) 0xED, (byte) 0xA0,
                (byte) 0x80, (byte) 0xF0, (byte) 0x9F, '"'};
        String text = StandardCharsets.US_ASCII.decode(ascii.next(ByteBuffer.wrap(malformed))).toString();
        // é cut short by '(', a stray continuation byte, an invalid lead byte, its continuation, an encoded surrogate,
        // and an emoji cut short by the closing quote: one U+FFFD each, and the JSON stays readable.
        assertThat(JSON.readTree(text).asString()).isEqualTo("\ufffd(\ufffd\ufffd\ufffd\ufffd\ufffd");

        AsciiJsonStream split = new AsciiJsonStream(); // a character cut short across two buffers
        String across = StandardCharsets.US_ASCII.decode(split.next(ByteBuffer.wrap(new byte[] {'"', (byte) 0xE2, (byte) 0x82})))
                .toString() + StandardCharsets.US_ASCII.decode(split.next(ByteBuffer.wrap(new byte[] {'"'})));
        assertThat(JSON.readTree(across).asString()).isEqualTo("\ufffd");
    }
}
