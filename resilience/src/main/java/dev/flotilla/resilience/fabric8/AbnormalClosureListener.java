package dev.flotilla.resilience.fabric8;

import io.fabric8.kubernetes.client.http.WebSocket;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A WebSocket listener decorator that reports a connection lost without a closing handshake as the error it
 * is, whichever HTTP client carries the socket.
 *
 * <p>Why: the JDK's client reports a connection that ended without a close frame as {@code onClose(1006)}
 * (RFC 6455, section 7.1.5, "abnormal closure"), where Vert.x reports an error. fabric8 8.0.0 takes a close
 * of a watch younger than 2 s that has seen no event for a stale-resourceVersion rejection and makes its
 * informer relist; on an error it reconnects from the last resourceVersion. So on the JDK client every
 * dropped young watch cost a full LIST. Here 1006 becomes {@link WebSocket.Listener#onError} with an
 * {@link EOFException}, as on Vert.x; the JDK completes its side of the close by itself.
 *
 * <p>A real close frame still reaches the listener as a close. Its echo goes out with a code a client may
 * send: fabric8 echoes the code it received, and 1005, 1006 and 1015 (RFC 6455, section 7.4.1) must never
 * be sent in a frame; the JDK refuses them and fabric8 logged the refusal with a stack trace on every such
 * close. They are echoed as 1000.
 */
final class AbnormalClosureListener implements WebSocket.Listener {

    /** RFC 6455: the connection closed without a close frame; reported locally, never sent. */
    static final int ABNORMAL_CLOSURE = 1006;
    static final int NORMAL_CLOSURE = 1000;

    private final WebSocket.Listener delegate;

    AbnormalClosureListener(WebSocket.Listener delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** Whether a client may put {@code code} in a close frame (RFC 6455, section 7.4.1). */
    static boolean sendable(int code) {
        return code != 1005 && code != ABNORMAL_CLOSURE && code != 1015;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        delegate.onOpen(webSocket);
    }

    @Override
    public void onMessage(WebSocket webSocket, String text) {
        delegate.onMessage(webSocket, text);
    }

    @Override
    public void onMessage(WebSocket webSocket, ByteBuffer bytes) {
        delegate.onMessage(webSocket, bytes);
    }

    @Override
    public void onClose(WebSocket webSocket, int code, String reason) {
        if (code == ABNORMAL_CLOSURE) {
            delegate.onError(webSocket, new EOFException("WebSocket connection ended without a close frame (1006)"));
        } else {
            delegate.onClose(new SendableCloseCodes(webSocket), code, reason);
        }
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        delegate.onError(webSocket, error);
    }

    /** The socket as the listener sees it on a close: an echo of an unsendable code goes out as 1000. */
    private record SendableCloseCodes(WebSocket delegate) implements WebSocket {

        @Override
        public boolean send(ByteBuffer buffer) {
            return delegate.send(buffer);
        }

        @Override
        public boolean sendClose(int code, String reason) {
            return delegate.sendClose(sendable(code) ? code : NORMAL_CLOSURE, reason);
        }

        @Override
        public long queueSize() {
            return delegate.queueSize();
        }

        @Override
        public void request() {
            delegate.request();
        }
    }
}
