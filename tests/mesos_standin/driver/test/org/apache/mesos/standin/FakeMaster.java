/*
 * TEST-ONLY: self tests of the stand-in scheduler driver.
 */
package org.apache.mesos.standin;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * An in-process imitation of a Mesos master's /api/v1/scheduler endpoint, driven by the test: it records
 * every POST, answers calls with 202, and hands SUBSCRIBE streams to the test, which writes RecordIO
 * events into them and closes them at will. Modes: normal, redirect (307 to another master), or a fixed
 * status for SUBSCRIBE (e.g. 503, 401).
 */
final class FakeMaster implements AutoCloseable {

    /** One received POST. */
    static final class Req {
        final String type;
        final Map<String, Object> json;
        final Headers headers;
        final long atNanos = System.nanoTime();

        Req(Map<String, Object> json, Headers headers) {
            this.json = json;
            this.type = String.valueOf(json.get("type"));
            this.headers = headers;
        }

        String header(String name) {
            return headers.getFirst(name);
        }

        @Override
        public String toString() {
            return type + " " + Json.write(json);
        }
    }

    /** An open SUBSCRIBE response. */
    static final class Stream {
        final Req request;
        final String streamId;
        private final HttpExchange exchange;
        private final OutputStream out;

        Stream(Req request, String streamId, HttpExchange exchange, OutputStream out) {
            this.request = request;
            this.streamId = streamId;
            this.exchange = exchange;
            this.out = out;
        }

        synchronized void send(String eventJson) throws IOException {
            out.write(RecordIO.encode(eventJson.getBytes(StandardCharsets.UTF_8)));
            out.flush();
        }

        /** Sends raw bytes (e.g. half a record). */
        synchronized void sendRaw(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
        }

        void close() {
            try {
                out.close();
            } catch (IOException e) {
                // the client went away first
            }
            exchange.close();
        }
    }

    final HttpServer server;
    final int port;
    final BlockingQueue<Req> requests = new LinkedBlockingQueue<>();
    final BlockingQueue<Stream> streams = new LinkedBlockingQueue<>();
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-master");
        t.setDaemon(true);
        return t;
    });
    volatile String redirectTo; // "//host:port/path" -> every POST gets 307
    volatile int subscribeStatus = 200;
    private int streamCounter;

    FakeMaster() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
        server.setExecutor(pool);
        server.createContext("/api/v1/scheduler", this::handle);
        server.start();
        port = server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readAllBytes();
        }
        Req req;
        try {
            req = new Req(Json.parseObject(body), ex.getRequestHeaders());
        } catch (IllegalArgumentException e) {
            byte[] msg = ("Failed to parse body into Call: " + e.getMessage()).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(400, msg.length);
            ex.getResponseBody().write(msg);
            ex.close();
            return;
        }
        requests.add(req);
        String redirect = redirectTo;
        if (redirect != null) {
            ex.getResponseHeaders().add("Location", redirect);
            ex.sendResponseHeaders(307, -1);
            ex.close();
            return;
        }
        if (!"POST".equals(ex.getRequestMethod())) {
            ex.sendResponseHeaders(405, -1);
            ex.close();
            return;
        }
        if ("SUBSCRIBE".equals(req.type)) {
            int status = subscribeStatus;
            if (status != 200) {
                byte[] msg = ("fake master says " + status).getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(status, msg.length);
                ex.getResponseBody().write(msg);
                ex.close();
                return;
            }
            String streamId;
            synchronized (this) {
                streamId = "stream-" + (++streamCounter);
            }
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.getResponseHeaders().add("Mesos-Stream-Id", streamId);
            ex.sendResponseHeaders(200, 0); // chunked, kept open
            streams.add(new Stream(req, streamId, ex, ex.getResponseBody()));
            return;
        }
        ex.sendResponseHeaders(202, -1);
        ex.close();
    }

    Req nextRequest(long timeoutMs) throws InterruptedException {
        Req r = requests.poll(timeoutMs, TimeUnit.MILLISECONDS);
        if (r == null) {
            throw new AssertionError("no request reached the fake master on port " + port + " within " + timeoutMs + " ms");
        }
        return r;
    }

    Req nextRequest(String type, long timeoutMs) throws InterruptedException {
        Req r = nextRequest(timeoutMs);
        Check.eq(type, r.type, "call type (" + r + ")");
        return r;
    }

    Stream nextStream(long timeoutMs) throws InterruptedException {
        Stream s = streams.poll(timeoutMs, TimeUnit.MILLISECONDS);
        if (s == null) {
            throw new AssertionError("no SUBSCRIBE reached the fake master on port " + port + " within " + timeoutMs + " ms");
        }
        return s;
    }

    void expectNoRequest(long ms) throws InterruptedException {
        Req r = requests.poll(ms, TimeUnit.MILLISECONDS);
        if (r != null) {
            throw new AssertionError("unexpected request at port " + port + ": " + r);
        }
    }

    String masterInfoJson(String id, String hostname) {
        return "{\"id\":\"" + id + "\",\"ip\":16777343,\"port\":" + port + ",\"pid\":\"master@127.0.0.1:" + port
                + "\",\"hostname\":\"" + hostname + "\",\"version\":\"1.11.0\",\"address\":{\"hostname\":\""
                + hostname + "\",\"ip\":\"127.0.0.1\",\"port\":" + port + "}}";
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
