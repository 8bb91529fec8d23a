/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A parsed scheduler master URL, in the forms libmesos accepts (MesosSchedulerDriver javadoc,
 * src/master/detector and src/zookeeper/url.cpp):
 * <ul>
 * <li>{@code host:port} (also {@code master@host:port} and {@code http://host:port[/]})</li>
 * <li>{@code zk://host1:port1,host2:port2,.../path} and {@code zk://user:password@host1:port1,.../path}</li>
 * <li>{@code file:///path/to/file}, the file holding one of the above</li>
 * </ul>
 * ZooKeeper URLs are split like Mesos' {@code zookeeper::URL::parse}: the path starts at the first '/',
 * the credentials end at the last '@' before it, the path defaults to "/".
 */
public final class MasterUrl {

    /** How the leading master is found. */
    public enum Kind { STATIC, ZOOKEEPER }

    public final Kind kind;
    /** The URL as given (for a file:// URL: the file's content). */
    public final String url;
    /** STATIC: the master's host and port. */
    public final String host;
    public final int port;
    /** ZOOKEEPER: "h1:p1,h2:p2", the znode path, and "user:password" or null. */
    public final String zkServers;
    public final String zkPath;
    public final String zkCredentials;

    private MasterUrl(Kind kind, String url, String host, int port, String zkServers, String zkPath,
                      String zkCredentials) {
        this.kind = kind;
        this.url = url;
        this.host = host;
        this.port = port;
        this.zkServers = zkServers;
        this.zkPath = zkPath;
        this.zkCredentials = zkCredentials;
    }

    /** The ZooKeeper servers as a list of "host:port". */
    public List<String> zkServerList() {
        if (zkServers == null) {
            return Collections.emptyList();
        }
        List<String> out = new ArrayList<>();
        for (String s : zkServers.split(",")) {
            if (!s.trim().isEmpty()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    /** The URL with any ZooKeeper password masked, for logs. */
    public String redacted() {
        if (kind == Kind.ZOOKEEPER && zkCredentials != null) {
            int colon = zkCredentials.indexOf(':');
            String user = colon >= 0 ? zkCredentials.substring(0, colon) : zkCredentials;
            return "zk://" + user + ":***@" + zkServers + zkPath;
        }
        return url;
    }

    @Override
    public String toString() {
        return redacted();
    }

    /**
     * Parses a master URL.
     *
     * @throws IllegalArgumentException with a message saying what is wrong
     */
    public static MasterUrl parse(String value) {
        if (value == null) {
            throw new IllegalArgumentException("no master URL");
        }
        String text = value.trim();
        if (text.startsWith("file://")) {
            String path = text.substring("file://".length());
            String content;
            try {
                content = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8).trim();
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("Failed to read from file at '" + path + "': " + e, e);
            }
            if (content.startsWith("file://")) {
                throw new IllegalArgumentException("the file '" + path + "' names another file: " + content);
            }
            return parse(content);
        }
        if (text.startsWith("zk://")) {
            return parseZk(text);
        }
        String rest = text;
        if (rest.startsWith("http://")) {
            rest = rest.substring("http://".length());
            int slash = rest.indexOf('/');
            if (slash >= 0) {
                String path = rest.substring(slash);
                if (!path.equals("/")) {
                    throw new IllegalArgumentException("unexpected path '" + path + "' in master URL '" + text
                            + "': give the master as http://host:port");
                }
                rest = rest.substring(0, slash);
            }
        } else if (rest.contains("://")) {
            throw new IllegalArgumentException("unsupported master URL scheme in '" + text
                    + "' (expected host:port, http://host:port, zk:// or file://)");
        } else if (rest.startsWith("master@")) {
            rest = rest.substring("master@".length());
        }
        HostPort hp = HostPort.parse(rest, "master URL '" + text + "'");
        return new MasterUrl(Kind.STATIC, text, hp.host, hp.port, null, null, null);
    }

    private static MasterUrl parseZk(String text) {
        String s = text.substring("zk://".length());
        int slash = s.indexOf('/');
        String path = slash >= 0 ? s.substring(slash) : "/";
        String authority = slash >= 0 ? s.substring(0, slash) : s;
        String credentials = null;
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            credentials = authority.substring(0, at);
            authority = authority.substring(at + 1);
        }
        if (authority.isEmpty()) {
            throw new IllegalArgumentException("Expecting at least one ZooKeeper server in '"
                    + redactZk(text) + "'");
        }
        for (String server : authority.split(",")) {
            HostPort.parse(server, "ZooKeeper server in '" + redactZk(text) + "'");
        }
        if (credentials != null && !credentials.contains(":")) {
            throw new IllegalArgumentException("ZooKeeper credentials must be user:password in '"
                    + redactZk(text) + "'");
        }
        return new MasterUrl(Kind.ZOOKEEPER, text, null, -1, authority, path, credentials);
    }

    private static String redactZk(String text) {
        return text.replaceFirst("^zk://([^:@/]*):[^@/]*@", "zk://$1:***@");
    }

    /** A host and port. */
    public static final class HostPort {
        public final String host;
        public final int port;

        public HostPort(String host, int port) {
            this.host = host;
            this.port = port;
        }

        public static HostPort parse(String text, String what) {
            String t = text.trim();
            String host;
            String portText;
            if (t.startsWith("[")) { // [ipv6]:port
                int close = t.indexOf(']');
                if (close < 0 || close + 1 >= t.length() || t.charAt(close + 1) != ':') {
                    throw new IllegalArgumentException("Failed to parse " + what + ": expected [address]:port");
                }
                host = t.substring(1, close);
                portText = t.substring(close + 2);
            } else {
                int colon = t.lastIndexOf(':');
                if (colon <= 0) {
                    throw new IllegalArgumentException("Failed to parse " + what + ": expected host:port, got '"
                            + t + "'");
                }
                host = t.substring(0, colon);
                portText = t.substring(colon + 1);
            }
            int port;
            try {
                port = Integer.parseInt(portText);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Failed to parse " + what + ": bad port '" + portText + "'");
            }
            if (port <= 0 || port > 65535 || host.isEmpty()) {
                throw new IllegalArgumentException("Failed to parse " + what + ": bad host or port in '" + t + "'");
            }
            return new HostPort(host, port);
        }

        @Override
        public String toString() {
            return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
        }
    }
}
