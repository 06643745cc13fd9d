package dev.flotilla.resilience.fabric8;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Re-encodes a UTF-8 JSON byte stream, buffer by buffer, as plain ASCII: each non-ASCII character becomes the JSON
 * escape {@code \}{@code uXXXX} (a surrogate pair above U+FFFF), which any JSON parser reads back as the same
 * character. Outside string literals JSON is ASCII, so the escapes only ever land inside strings.
 *
 * <p>Why: fabric8 8.0.0's HTTP watch ({@code WatchHTTPManager}) turns each received buffer into text with
 * {@code UTF_8.decode(buffer).array()}. That array is sized for as many characters as the buffer has bytes, so a
 * buffer holding multi-byte characters leaves {@code \u0000}s behind its text, and a character split between two
 * buffers decodes to U+FFFD on both sides: an event is then unparseable (the informer relists) or carries a
 * corrupted value (which a controller copies). Fed only ASCII, that decoding is exact.
 *
 * <p>One instance per stream, fed in order from one thread at a time (a response body delivers its buffers
 * sequentially); a character split between buffers is carried over. A malformed sequence (one the API server never
 * sends: Go's encoder replaces invalid UTF-8) becomes one U+FFFD.
 */
final class AsciiJsonStream {

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final int REPLACEMENT = 0xFFFD;

    /** The code point being assembled from a multi-byte sequence. */
    private int codePoint;
    /** Continuation bytes still expected for it (0: between characters). */
    private int expected;
    /** The smallest code point its sequence length may encode (an overlong encoding is malformed). */
    private int minimum;

    /** The same text as ASCII; {@code in} itself when it holds ASCII only and no character is pending. */
    ByteBuffer next(ByteBuffer in) {
        int nonAscii = nonAscii(in);
        if (expected == 0 && nonAscii == 0) {
            return in;
        }
        // Worst case: an ASCII byte stays 1 byte, any other becomes at most 6 (a malformed one's U+FFFD; a 4-byte
        // character's surrogate pair is 12), plus 6 for a character carried in from the last buffer.
        ByteBuffer out = ByteBuffer.allocate(in.remaining() + 5 * nonAscii + 6);
        for (int i = in.position(); i < in.limit(); i++) {
            int b = in.get(i) & 0xFF;
            if (expected > 0) {
                if ((b & 0xC0) == 0x80) {
                    codePoint = (codePoint << 6) | (b & 0x3F);
                    if (--expected == 0) {
                        boolean valid = codePoint >= minimum && codePoint <= Character.MAX_CODE_POINT
                                && !(codePoint >= Character.MIN_SURROGATE && codePoint <= Character.MAX_SURROGATE);
                        escape(out, valid ? codePoint : REPLACEMENT);
                    }
                    continue;
                }
                expected = 0; // cut short: what was read is malformed, and this byte starts afresh
                escape(out, REPLACEMENT);
            }
            if (b < 0x80) {
                out.put((byte) b);
            } else if (b >= 0xC2 && b <= 0xDF) {
                start(b & 0x1F, 1, 0x80);
            } else if (b >= 0xE0 && b <= 0xEF) {
                start(b & 0x0F, 2, 0x800);
            } else if (b >= 0xF0 && b <= 0xF4) {
                start(b & 0x07, 3, 0x10000);
            } else {
                escape(out, REPLACEMENT); // a stray continuation byte, or a lead byte UTF-8 never uses
            }
        }
        in.position(in.limit());
        return out.flip();
    }

    private void start(int bits, int continuationBytes, int smallest) {
        codePoint = bits;
        expected = continuationBytes;
        minimum = smallest;
    }

    private static int nonAscii(ByteBuffer in) {
        int n = 0;
        for (int i = in.position(); i < in.limit(); i++) {
            if (in.get(i) < 0) {
                n++;
            }
        }
        return n;
    }

    private static void escape(ByteBuffer out, int cp) {
        if (cp > 0xFFFF) {
            unit(out, Character.highSurrogate(cp));
            unit(out, Character.lowSurrogate(cp));
        } else {
            unit(out, (char) cp);
        }
    }

    private static void unit(ByteBuffer out, char c) {
        out.put((byte) '\\').put((byte) 'u').put(HEX[(c >> 12) & 0xF]).put(HEX[(c >> 8) & 0xF]).put(HEX[(c >> 4) & 0xF])
                .put(HEX[c & 0xF]);
    }
}
