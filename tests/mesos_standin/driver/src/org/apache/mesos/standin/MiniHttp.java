/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A minimal HTTP/1.1 client for the scheduler API: one POST per TCP connection, explicit connect and read
 * timeouts, a streaming response body (chunked, Content-Length or until close), and no automatic
 * redirects or retries (a POST must never be sent twice behind the driver's back, which
 * {@code HttpURLConnection} may do).
 */
final class MiniHttp {

    private static final int MAX_HEADER_BYTES = 64 * 1024;

    private MiniHttp() {
    }

    /** Where a request goes. */
    static final class Target {
        final String host;
        final int port;
        final String path;

        Target(String host, int port, String path) {
            this.host = host;
            this.port = port;
            this.path = path == null || path.isEmpty() ? "/" : path;
        }

        String authority() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }

        @Override
        public String toString() {
            return "http://" + authority() + path;
        }

        /**
         * Resolves a redirect's Location against this target. Accepted: {@code http://host:port/path},
         * {@code //host:port/path} (what a Mesos master sends), {@code /path}, and {@code host:port[/path]}
         * (the form shown in docs/scheduler-http-api.md). A missing path keeps this target's path.
         */
        Target resolve(String location) throws IOException {
            if (location == null || location.trim().isEmpty()) {
                throw new IOException("redirect without a Location header");
            }
            String loc = location.trim();
            if (loc.matches("(?i)https://.*")) {
                throw new IOException("redirect to an https URL is not supported: " + loc);
            }
            if (!loc.startsWith("/") && !loc.matches("(?i)http://.*")) {
                loc = "//" + loc; // host:port[/path]
            }
            try {
                URI base = new URI("http", null, host, port, path, null, null);
                URI uri = base.resolve(new URI(loc));
                String h = uri.getHost();
                int p = uri.getPort() > 0 ? uri.getPort() : 80;
                if (h == null) {
                    throw new IOException("cannot follow redirect to '" + location + "'");
                }
                if (h.startsWith("[") && h.endsWith("]")) {
                    h = h.substring(1, h.length() - 1);
                }
                String newPath = uri.getRawPath();
                if (newPath == null || newPath.isEmpty()) {
                    newPath = path;
                }
                if (uri.getRawQuery() != null) {
                    newPath = newPath + "?" + uri.getRawQuery();
                }
                return new Target(h, p, newPath);
            } catch (URISyntaxException e) {
                throw new IOException("cannot follow redirect to '" + location + "': " + e.getMessage());
            }
        }
    }

    /** A response whose body may still be streaming. Close it to release the connection. */
    static final class Response implements Closeable {
        final int status;
        final String reason;
        final Map<String, String> headers; // lower-case names
        final InputStream body;
        final Socket socket;

        Response(int status, String reason, Map<String, String> headers, InputStream body, Socket socket) {
            this.status = status;
            this.reason = reason;
            this.headers = headers;
            this.body = body;
            this.socket = socket;
        }

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** Reads at most {@code max} bytes of the body as text (for error messages). */
        String bodyText(int max) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                int n;
                while (out.size() < max && (n = body.read(buf, 0, Math.min(buf.length, max - out.size()))) > 0) {
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                // what we have is enough for a message
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8).trim();
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }

    /**
     * Sends one POST and returns once the status line and headers have arrived.
     *
     * @param onConnected called with the socket right after it connected (so another thread can close
     *                    it to abort a blocked read), may be null
     */
    static Response post(Target target, Map<String, String> headers, byte[] body, int connectTimeoutMs,
                         int readTimeoutMs, java.util.function.Consumer<Socket> onConnected) throws IOException {
        Socket socket = new Socket();
        boolean ok = false;
        try {
            if (onConnected != null) {
                onConnected.accept(socket);
            }
            socket.connect(new InetSocketAddress(target.host, target.port), connectTimeoutMs);
            socket.setSoTimeout(readTimeoutMs);
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            StringBuilder head = new StringBuilder();
            head.append("POST ").append(target.path).append(" HTTP/1.1\r\n");
            head.append("Host: ").append(target.authority()).append("\r\n");
            for (Map.Entry<String, String> h : headers.entrySet()) {
                head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
            }
            head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();

            InputStream in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            String statusLine;
            do {
                statusLine = readLine(in);
                if (statusLine == null) {
                    throw new EOFException("connection closed before the response status line");
                }
            } while (statusLine.isEmpty());
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                throw new IOException("malformed HTTP status line: " + statusLine);
            }
            int status;
            try {
                status = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                throw new IOException("malformed HTTP status line: " + statusLine);
            }
            Map<String, String> responseHeaders = new TreeMap<>();
            int headerBytes = 0;
            while (true) {
                String line = readLine(in);
                if (line == null) {
                    throw new EOFException("connection closed inside the response headers");
                }
                if (line.isEmpty()) {
                    break;
                }
                headerBytes += line.length();
                if (headerBytes > MAX_HEADER_BYTES) {
                    throw new IOException("response headers exceed " + MAX_HEADER_BYTES + " bytes");
                }
                int colon = line.indexOf(':');
                if (colon > 0) {
                    String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                    String value = line.substring(colon + 1).trim();
                    responseHeaders.merge(name, value, (a, b) -> a + ", " + b);
                }
            }
            InputStream responseBody;
            String te = responseHeaders.get("transfer-encoding");
            String cl = responseHeaders.get("content-length");
            if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
                responseBody = new BoundedInputStream(in, 0);
            } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
                responseBody = new ChunkedInputStream(in);
            } else if (cl != null) {
                try {
                    responseBody = new BoundedInputStream(in, Long.parseLong(cl.trim()));
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length: " + cl);
                }
            } else {
                responseBody = in; // until the server closes the connection
            }
            ok = true;
            return new Response(status, parts.length > 2 ? parts[2] : "", responseHeaders, responseBody, socket);
        } finally {
            if (!ok) {
                try {
                    socket.close();
                } catch (IOException e) {
                    // ignore
                }
            }
        }
    }

    /** Reads a CRLF (or LF) terminated ISO-8859-1 line; null at EOF before any byte. */
    static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        boolean any = false;
        while ((c = in.read()) >= 0) {
            any = true;
            if (c == '\n') {
                int len = sb.length();
                if (len > 0 && sb.charAt(len - 1) == '\r') {
                    sb.setLength(len - 1);
                }
                return sb.toString();
            }
            sb.append((char) c);
            if (sb.length() > MAX_HEADER_BYTES) {
                throw new IOException("HTTP line longer than " + MAX_HEADER_BYTES + " bytes");
            }
        }
        if (!any) {
            return null;
        }
        throw new EOFException("connection closed inside an HTTP line");
    }

    /** A body of known length. */
    /** A stream whose subclasses only implement the bulk read; the single-byte read goes through it. */
    abstract static class BulkInputStream extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }
    }

    static final class BoundedInputStream extends BulkInputStream {
        private final InputStream in;
        private long remaining;

        BoundedInputStream(InputStream in, long length) {
            this.in = in;
            this.remaining = length;
        }


        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new EOFException("connection closed " + remaining + " bytes before the end of the body");
            }
            remaining -= n;
            return n;
        }
    }

    /** Transfer-Encoding: chunked (RFC 7230 4.1); chunk extensions and trailers are skipped. */
    static final class ChunkedInputStream extends BulkInputStream {
        private final InputStream in;
        private long remaining; // in the current chunk
        private boolean eof;

        ChunkedInputStream(InputStream in) {
            this.in = in;
        }


        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (eof) {
                return -1;
            }
            if (remaining == 0) {
                String line = readLine(in);
                if (line == null) {
                    throw new EOFException("connection closed before the next chunk");
                }
                int semicolon = line.indexOf(';');
                String size = (semicolon >= 0 ? line.substring(0, semicolon) : line).trim();
                try {
                    remaining = Long.parseLong(size, 16);
                } catch (NumberFormatException e) {
                    throw new IOException("bad chunk size line: '" + line + "'");
                }
                if (remaining < 0) {
                    throw new IOException("bad chunk size line: '" + line + "'");
                }
                if (remaining == 0) {
                    String trailer;
                    do {
                        trailer = readLine(in);
                    } while (trailer != null && !trailer.isEmpty());
                    eof = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new EOFException("connection closed inside a chunk");
            }
            remaining -= n;
            if (remaining == 0) {
                String crlf = readLine(in);
                if (crlf == null || !crlf.isEmpty()) {
                    throw new IOException("missing CRLF after a chunk");
                }
            }
            return n;
        }
    }

    /** True for exceptions that mean "the socket was closed under us". */
    static boolean isClosedSocket(IOException e) {
        return e instanceof SocketException && String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("closed");
    }
}
