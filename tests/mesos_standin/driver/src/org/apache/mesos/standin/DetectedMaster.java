/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.util.Map;
import java.util.Objects;

/** The leading master as a detector found it: where to connect, plus its MasterInfo JSON if known. */
public final class DetectedMaster {

    public final String host;
    public final int port;
    /** MasterInfo JSON (from ZooKeeper), or null for a statically configured master. */
    public final Map<String, Object> masterInfo;

    public DetectedMaster(String host, int port, Map<String, Object> masterInfo) {
        this.host = host;
        this.port = port;
        this.masterInfo = masterInfo;
    }

    /** The master's id from its MasterInfo, or "" if unknown. */
    public String id() {
        Object id = masterInfo != null ? masterInfo.get("id") : null;
        return id instanceof String ? (String) id : "";
    }

    /**
     * Where to reach a master described by MasterInfo JSON. libmesos' own v1 scheduler library
     * (src/scheduler/scheduler.cpp) connects to the IP and port of the master's UPID, so the address is
     * taken in this order: {@code address.ip}, {@code address.hostname}, then the top-level
     * {@code hostname}, the IP packed in {@code ip}, the IP of {@code pid}; the port from
     * {@code address.port}, else {@code port}, else the port of {@code pid}.
     *
     * @throws IllegalArgumentException when no address can be found
     */
    @SuppressWarnings("unchecked")
    public static DetectedMaster fromMasterInfo(Map<String, Object> info) {
        String host = null;
        long port = -1;
        Object address = info.get("address");
        if (address instanceof Map) {
            Map<String, Object> a = (Map<String, Object>) address;
            host = nonEmptyString(a.get("ip"));
            if (host == null) {
                host = nonEmptyString(a.get("hostname"));
            }
            port = number(a.get("port"));
        }
        String pid = nonEmptyString(info.get("pid"));
        String pidHost = null;
        long pidPort = -1;
        if (pid != null && pid.contains("@") && pid.lastIndexOf(':') > pid.indexOf('@')) {
            pidHost = pid.substring(pid.indexOf('@') + 1, pid.lastIndexOf(':'));
            try {
                pidPort = Long.parseLong(pid.substring(pid.lastIndexOf(':') + 1));
            } catch (NumberFormatException e) {
                pidPort = -1;
            }
        }
        if (host == null) {
            host = nonEmptyString(info.get("hostname"));
        }
        if (host == null) {
            long ip = number(info.get("ip"));
            if (ip > 0) {
                host = (ip & 0xff) + "." + (ip >> 8 & 0xff) + "." + (ip >> 16 & 0xff) + "." + (ip >> 24 & 0xff);
            }
        }
        if (host == null) {
            host = pidHost;
        }
        if (port <= 0) {
            port = number(info.get("port"));
        }
        if (port <= 0) {
            port = pidPort;
        }
        if (host == null || port <= 0 || port > 65535) {
            throw new IllegalArgumentException("MasterInfo has no usable address: " + Json.write(info));
        }
        return new DetectedMaster(host, (int) port, info);
    }

    private static String nonEmptyString(Object value) {
        return value instanceof String && !((String) value).isEmpty() ? (String) value : null;
    }

    private static long number(Object value) {
        if (value instanceof Number) {
            return ((Number) value).longValue();
        }
        if (value instanceof String) {
            try {
                return Long.parseLong(((String) value).trim());
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    /** Same master: same address and same MasterInfo id. */
    public boolean sameAs(DetectedMaster other) {
        return other != null && host.equals(other.host) && port == other.port && id().equals(other.id());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DetectedMaster && sameAs((DetectedMaster) o);
    }

    @Override
    public int hashCode() {
        return Objects.hash(host, port, id());
    }

    @Override
    public String toString() {
        String id = id();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port + (id.isEmpty() ? "" : " (master " + id + ")");
    }
}
