package dev.flotilla.testing.fault;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The start line and headers of one HTTP/1.x message, kept in order and as received. */
final class HttpHead {

    static final int MAX_LINE = 64 * 1024;
    static final int MAX_HEADERS = 256;
    static final int MAX_HEAD_BYTES = 512 * 1024;

    record Header(String name, String value) {
    }

    private final String startLine;
    private final List<Header> headers;

    HttpHead(String startLine, List<Header> headers) {
        this.startLine = startLine;
        this.headers = new ArrayList<>(headers);
    }

    /** Reads a head; null when the stream ends before its first byte (a clean close between messages). */
    static HttpHead read(InputStream in) throws IOException {
        String first;
        int blank = 0;
        do {
            first = readLine(in, MAX_LINE);
            if (first == null) {
                if (blank == 0) {
                    return null;
                }
                throw new EOFException("stream ended inside a message head");
            }
            blank++;
        } while (first.isEmpty() && blank < 8); // tolerate stray CRLFs between messages
        if (first.isEmpty()) {
            throw new ProtocolException("no start line");
        }
        List<Header> headers = new ArrayList<>();
        int total = first.length();
        while (true) {
            String line = readLine(in, MAX_LINE);
            if (line == null) {
                throw new EOFException("stream ended inside a message head");
            }
            if (line.isEmpty()) {
                break;
            }
            total += line.length();
            if (headers.size() >= MAX_HEADERS || total > MAX_HEAD_BYTES) {
                throw new ProtocolException("message head too large");
            }
            if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && !headers.isEmpty()) {
                // obsolete line folding: append to the previous value
                Header prev = headers.removeLast();
                headers.add(new Header(prev.name(), prev.value() + " " + line.strip()));
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new ProtocolException("malformed header line: " + line);
            }
            headers.add(new Header(line.substring(0, colon).strip(), line.substring(colon + 1).strip()));
        }
        return new HttpHead(first, headers);
    }

    /**
     * One line without its CRLF (a bare LF is accepted); null at end of stream before any byte.
     * Bytes are read as ISO-8859-1, which round-trips every octet.
     */
    static String readLine(InputStream in, int max) throws IOException {
        StringBuilder s = new StringBuilder(64);
        int b;
        boolean any = false;
        while ((b = in.read()) >= 0) {
            any = true;
            if (b == '\n') {
                int len = s.length();
                if (len > 0 && s.charAt(len - 1) == '\r') {
                    s.setLength(len - 1);
                }
                return s.toString();
            }
            if (s.length() >= max) {
                throw new ProtocolException("line longer than " + max + " bytes");
            }
            s.append((char) b);
        }
        if (!any) {
            return null;
        }
        throw new EOFException("stream ended inside a line");
    }

    String startLine() {
        return startLine;
    }

    List<Header> headers() {
        return List.copyOf(headers);
    }

    // ---- request line: METHOD SP target SP version

    String method() {
        return part(0);
    }

    String target() {
        return part(1);
    }

    String requestVersion() {
        return part(2);
    }

    // ---- status line: version SP code SP reason

    String responseVersion() {
        return part(0);
    }

    int status() throws ProtocolException {
        try {
            return Integer.parseInt(part(1));
        } catch (NumberFormatException e) {
            throw new ProtocolException("malformed status line: " + startLine);
        }
    }

    private String part(int index) {
        String[] parts = startLine.split(" ", 3);
        return index < parts.length ? parts[index] : "";
    }

    /**
     * Makes the request act as {@code user} in {@code groups}: whatever {@code Impersonate-*} headers the
     * client sent are replaced, so a client cannot choose another identity.
     */
    void impersonate(String user, List<String> groups) {
        headers.removeIf(h -> h.name().regionMatches(true, 0, "Impersonate-", 0, "Impersonate-".length()));
        headers.add(new Header("Impersonate-User", user));
        for (String g : groups) {
            headers.add(new Header("Impersonate-Group", g));
        }
    }

    /** The first value of a header (case-insensitive name), or null. */
    String header(String name) {
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase(name)) {
                return h.value();
            }
        }
        return null;
    }

    /** Whether a comma-separated header (all its occurrences) contains this token, case-insensitively. */
    boolean hasToken(String name, String token) {
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase(name)) {
                for (String t : h.value().split(",")) {
                    if (t.strip().equalsIgnoreCase(token)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    void remove(String name) {
        headers.removeIf(h -> h.name().equalsIgnoreCase(name));
    }

    /** Replaces every occurrence of the header with one value, keeping the first one's position. */
    void set(String name, String value) {
        for (int i = 0; i < headers.size(); i++) {
            if (headers.get(i).name().equalsIgnoreCase(name)) {
                headers.set(i, new Header(headers.get(i).name(), value));
                for (int j = headers.size() - 1; j > i; j--) {
                    if (headers.get(j).name().equalsIgnoreCase(name)) {
                        headers.remove(j);
                    }
                }
                return;
            }
        }
        headers.add(new Header(name, value));
    }

    /** Whether the body is chunked (the last transfer coding is chunked). */
    boolean chunked() {
        String te = null;
        for (Header h : headers) {
            if (h.name().equalsIgnoreCase("Transfer-Encoding")) {
                te = h.value();
            }
        }
        if (te == null) {
            return false;
        }
        String[] codings = te.split(",");
        return codings[codings.length - 1].strip().toLowerCase(Locale.ROOT).equals("chunked");
    }

    /** The declared Content-Length, or -1 when there is none. */
    long contentLength() throws ProtocolException {
        String v = header("Content-Length");
        if (v == null) {
            return -1;
        }
        try {
            // Repeated identical values ("5, 5") are allowed.
            long n = -1;
            for (String part : v.split(",")) {
                long p = Long.parseLong(part.strip());
                if (p < 0 || (n >= 0 && n != p)) {
                    throw new NumberFormatException();
                }
                n = p;
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ProtocolException("malformed Content-Length: " + v);
        }
    }

    void writeTo(OutputStream out) throws IOException {
        StringBuilder s = new StringBuilder(256);
        s.append(startLine).append("\r\n");
        for (Header h : headers) {
            s.append(h.name()).append(": ").append(h.value()).append("\r\n");
        }
        s.append("\r\n");
        out.write(s.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    @Override
    public String toString() {
        return startLine;
    }
}
