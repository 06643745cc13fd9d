package dev.flotilla.resilience.fabric8;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.http.WebSocket;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AbnormalClosureListenerTest {

    /** What the listener heard, and the close codes it sent back through the socket it was given. */
    private static final class Heard implements WebSocket.Listener {
        final List<String> calls = new ArrayList<>();
        final List<Throwable> errors = new ArrayList<>();

        @Override
        public void onClose(WebSocket webSocket, int code, String reason) {
            calls.add("close " + code);
            webSocket.sendClose(code, reason); // fabric8's watch listener echoes the code it received
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            calls.add("error");
            errors.add(error);
        }

        @Override
        public void onMessage(WebSocket webSocket, String text) {
            calls.add("text " + text);
        }
    }

    private static final class Sent implements WebSocket {
        final List<Integer> closes = new ArrayList<>();

        @Override
        public boolean send(ByteBuffer buffer) {
            return true;
        }

        @Override
        public boolean sendClose(int code, String reason) {
            closes.add(code);
            return true;
        }

        @Override
        public long queueSize() {
            return 0;
        }

        @Override
        public void request() {
        }
    }

    @Test
    void aConnectionEndedWithoutACloseFrameIsAnError() {
        Heard heard = new Heard();
        Sent socket = new Sent();
        new AbnormalClosureListener(heard).onClose(socket, 1006, "");
        assertThat(heard.calls).containsExactly("error");
        assertThat(heard.errors).singleElement().isInstanceOf(EOFException.class)
                .extracting(Throwable::getMessage).asString().contains("1006");
        assertThat(socket.closes).as("nothing to echo to a connection already gone").isEmpty();
    }

    @Test
    void aCloseFrameStaysACloseAndItsEchoCarriesACodeAClientMaySend() {
        Heard heard = new Heard();
        Sent socket = new Sent();
        var listener = new AbnormalClosureListener(heard);
        listener.onClose(socket, 1005, ""); // a close frame without a status code
        listener.onClose(socket, 1015, "");
        listener.onClose(socket, 1000, "done");
        listener.onClose(socket, 1001, "going away");
        listener.onClose(socket, 4000, "application");
        assertThat(heard.calls).containsExactly("close 1005", "close 1015", "close 1000", "close 1001", "close 4000");
        assertThat(socket.closes).containsExactly(1000, 1000, 1000, 1001, 4000);
    }

    @Test
    void messagesAndErrorsPassThrough() {
        Heard heard = new Heard();
        var listener = new AbnormalClosureListener(heard);
        listener.onMessage(new Sent(), "event");
        listener.onError(new Sent(), new IllegalStateException("boom"));
        assertThat(heard.calls).containsExactly("text event", "error");
        assertThat(heard.errors).singleElement().isInstanceOf(IllegalStateException.class);
    }
}
