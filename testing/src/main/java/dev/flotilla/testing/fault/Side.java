package dev.flotilla.testing.fault;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Which end of a proxied exchange an I/O failure came from. Streams are wrapped so that every
 * {@link IOException} they throw says its side, and the proxy can tell "the client went away" from
 * "the API server went away" without guessing.
 */
enum Side {
    CLIENT, UPSTREAM;

    /** An I/O failure on one side. */
    static final class SideException extends IOException {
        private final Side side;

        SideException(Side side, String message, Throwable cause) {
            super(side.name().toLowerCase(java.util.Locale.ROOT) + ": " + message, cause);
            this.side = side;
        }

        Side side() {
            return side;
        }
    }

    SideException failure(String message, Throwable cause) {
        return new SideException(this, message, cause);
    }

    private IOException tag(IOException e) {
        return e instanceof SideException ? e : failure(String.valueOf(e.getMessage()), e);
    }

    InputStream wrap(InputStream in) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                try {
                    return in.read();
                } catch (IOException e) {
                    throw tag(e);
                }
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    return in.read(b, off, len);
                } catch (IOException e) {
                    throw tag(e);
                }
            }

            @Override
            public int available() throws IOException {
                try {
                    return in.available();
                } catch (IOException e) {
                    throw tag(e);
                }
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    OutputStream wrap(OutputStream out) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                try {
                    out.write(b);
                } catch (IOException e) {
                    throw tag(e);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                try {
                    out.write(b, off, len);
                } catch (IOException e) {
                    throw tag(e);
                }
            }

            @Override
            public void flush() throws IOException {
                try {
                    out.flush();
                } catch (IOException e) {
                    throw tag(e);
                }
            }

            @Override
            public void close() throws IOException {
                out.close();
            }
        };
    }
}
