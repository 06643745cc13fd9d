package dev.flotilla.testing.fault;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/** The few pieces of RFC 6455 the proxy writes itself: the handshake answer and server frames. */
final class WebSockets {

    static final int OP_TEXT = 0x1;
    static final int OP_CLOSE = 0x8;
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private WebSockets() {
    }

    static String acceptKey(String secWebSocketKey) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1")
                    .digest((secWebSocketKey.strip() + GUID).getBytes(StandardCharsets.ISO_8859_1));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JDK", e);
        }
    }

    /** One unmasked, final frame, as a server sends. */
    static byte[] frame(int opcode, byte[] payload) {
        int n = payload.length;
        int headerLength = n < 126 ? 2 : n < 65536 ? 4 : 10;
        byte[] f = new byte[headerLength + n];
        f[0] = (byte) (0x80 | opcode);
        if (n < 126) {
            f[1] = (byte) n;
        } else if (n < 65536) {
            f[1] = 126;
            f[2] = (byte) (n >>> 8);
            f[3] = (byte) n;
        } else {
            f[1] = 127;
            for (int i = 0; i < 8; i++) {
                f[2 + i] = (byte) (((long) n) >>> (56 - 8 * i));
            }
        }
        System.arraycopy(payload, 0, f, headerLength, n);
        return f;
    }

    /** A close frame with status 1000 (normal closure). */
    static byte[] normalClose() {
        return frame(OP_CLOSE, new byte[] {0x03, (byte) 0xE8});
    }
}
