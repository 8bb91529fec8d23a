/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.KeeperException;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.Version;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.WatchedEvent;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.Watcher;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leader detection the way Mesos masters publish themselves in ZooKeeper (src/master/detector,
 * src/zookeeper/group.cpp): every master holds an ephemeral sequential znode {@code json.info_NNNNNNNNNN}
 * under the path of the zk:// URL whose data is its MasterInfo as JSON; the lowest sequence number is the
 * leader. Uses the ZooKeeper client that Flink already ships (flink-shaded-zookeeper, relocated under
 * {@code org.apache.flink.shaded.zookeeper3}); digest authentication when the URL has user:password.
 */
final class ZooKeeperMasterDetector implements MasterDetector {

    static final String PREFIX = "json.info_";
    private static final int SESSION_TIMEOUT_MS = 10_000;
    private static final long CONNECT_WAIT_MS = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(ZooKeeperMasterDetector.class);

    private final MasterUrl url;
    private final Runnable onChange;
    private final Watcher watcher;
    private ZooKeeper zk; // guarded by this
    private boolean closed; // guarded by this

    ZooKeeperMasterDetector(MasterUrl url, Runnable onChange) {
        this.url = url;
        this.onChange = onChange;
        this.watcher = this::process;
    }

    private void process(WatchedEvent event) {
        Watcher.Event.KeeperState state = event.getState();
        Watcher.Event.EventType type = event.getType();
        if (type == Watcher.Event.EventType.None) {
            if (state == Watcher.Event.KeeperState.AuthFailed) {
                // The 3.4 client reports AuthFailed when its SASL login fails (Flink installs a JAAS file without
                // a 'Client' section) and then goes on without SASL ("Will continue connection to Zookeeper
                // server without SASL authentication"). Not fatal: reads that are really refused fail on their own.
                LOG.info("ZooKeeper SASL authentication for {} failed; continuing without SASL", url.redacted());
            } else if (state == Watcher.Event.KeeperState.Expired) {
                LOG.warn("ZooKeeper session for {} {}: re-detecting the leading master", url.redacted(), state);
                synchronized (this) {
                    closeClient();
                }
                fireChange();
            } else if (state == Watcher.Event.KeeperState.SyncConnected) {
                LOG.debug("ZooKeeper session for {} connected", url.redacted());
            }
            return;
        }
        // NodeChildrenChanged on the group path, NodeCreated when the path appears, NodeDeleted, ...
        LOG.debug("ZooKeeper event {} on {}", type, event.getPath());
        fireChange();
    }

    private void fireChange() {
        if (onChange != null) {
            try {
                onChange.run();
            } catch (RuntimeException e) {
                LOG.warn("master change listener failed", e);
            }
        }
    }

    private synchronized ZooKeeper client() throws Exception {
        if (closed) {
            throw new IllegalStateException("detector closed");
        }
        if (zk != null && zk.getState().isAlive()) {
            return zk;
        }
        closeClient();
        LOG.info("Connecting to ZooKeeper {} to detect the leading Mesos master under {}", url.zkServers, url.zkPath);
        zk = new ZooKeeper(url.zkServers, SESSION_TIMEOUT_MS, watcher);
        workAroundZookeeper3779(zk);
        if (url.zkCredentials != null) {
            zk.addAuthInfo("digest", url.zkCredentials.getBytes(StandardCharsets.UTF_8));
        }
        return zk;
    }

    private void closeClient() {
        if (zk != null) {
            try {
                zk.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                LOG.debug("closing the ZooKeeper client failed", e);
            }
            zk = null;
        }
    }

    /**
     * ZooKeeper 3.4 clients cannot connect on JDK 14 and newer (ZOOKEEPER-3779): they keep the servers as
     * unresolved addresses and recover the host name by cutting {@code InetSocketAddress.toString()} at its
     * last ':', which since JDK 14 yields "host/&lt;unresolved&gt;". Flink 1.13 ships exactly such a client
     * (lib/flink-shaded-zookeeper-3.4.14.jar). On that combination the client's host name resolver is
     * replaced, by reflection, with one that drops the "/&lt;unresolved&gt;" suffix. A connection attempt made
     * before the swap fails and is retried by the client about a second later. ZooKeeper 3.5+ clients are
     * left alone.
     */
    static void workAroundZookeeper3779(ZooKeeper zk) {
        String version = Version.getVersion();
        if (version == null || !version.startsWith("3.4.") || Runtime.version().feature() < 14) {
            return;
        }
        try {
            Field cnxnField = ZooKeeper.class.getDeclaredField("cnxn");
            cnxnField.setAccessible(true);
            Object cnxn = cnxnField.get(zk);
            Field providerField = cnxn.getClass().getDeclaredField("hostProvider");
            providerField.setAccessible(true);
            Object provider = providerField.get(cnxn);
            Field resolverField = provider.getClass().getDeclaredField("resolver");
            resolverField.setAccessible(true);
            Class<?> resolverType = resolverField.getType();
            Object resolver = Proxy.newProxyInstance(resolverType.getClassLoader(), new Class<?>[] {resolverType},
                    (proxy, method, args) -> {
                        switch (method.getName()) {
                            case "getAllByName":
                                String name = (String) args[0];
                                int cut = name.indexOf("/<unresolved>");
                                return InetAddress.getAllByName(cut >= 0 ? name.substring(0, cut) : name);
                            case "hashCode":
                                return System.identityHashCode(proxy);
                            case "equals":
                                return proxy == args[0];
                            case "toString":
                                return "ZOOKEEPER-3779 resolver";
                            default:
                                throw new UnsupportedOperationException(method.getName());
                        }
                    });
            resolverField.set(provider, resolver);
            LOG.info("ZooKeeper client {} on Java {}: applied the ZOOKEEPER-3779 host name workaround",
                    version.split(" ")[0].replace(",", ""), Runtime.version().feature());
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("ZooKeeper client {} on Java {} cannot connect (ZOOKEEPER-3779) and the workaround failed ({});"
                    + " put a 3.5+ flink-shaded-zookeeper jar in Flink's lib/", version, Runtime.version().feature(),
                    e.toString());
        }
    }

    private static String child(String parent, String name) {
        return parent.endsWith("/") ? parent + name : parent + "/" + name;
    }

    static long sequence(String name) {
        try {
            return Long.parseLong(name.substring(name.lastIndexOf('_') + 1));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The {@code json.info_} children, lowest sequence (the leader) first. */
    static List<String> contenders(List<String> children) {
        List<String> out = new ArrayList<>();
        for (String c : children) {
            if (c.startsWith(PREFIX)) {
                out.add(c);
            }
        }
        out.sort(Comparator.comparingLong(ZooKeeperMasterDetector::sequence).thenComparing(Comparator.naturalOrder()));
        return out;
    }

    @Override
    public DetectedMaster detect() throws Exception {
        ZooKeeper z = client();
        long deadline = System.nanoTime() + CONNECT_WAIT_MS * 1_000_000L;
        while (!z.getState().isConnected()) {
            if (!z.getState().isAlive() || System.nanoTime() > deadline) {
                LOG.warn("ZooKeeper {} not reachable (state {}): no leading master known", url.zkServers, z.getState());
                return null;
            }
            Thread.sleep(50);
        }
        List<String> children;
        try {
            children = z.getChildren(url.zkPath, watcher);
        } catch (KeeperException.NoNodeException e) {
            z.exists(url.zkPath, watcher); // be told when the first master creates the path
            return null;
        } catch (KeeperException.SessionExpiredException e) {
            synchronized (this) {
                closeClient();
            }
            return null;
        }
        for (String name : contenders(children)) {
            byte[] data;
            try {
                data = z.getData(child(url.zkPath, name), false, null);
            } catch (KeeperException.NoNodeException e) {
                continue; // went away between the listing and the read
            }
            Map<String, Object> info;
            try {
                info = Json.parseObject(data);
            } catch (IllegalArgumentException e) {
                LOG.warn("ZooKeeper node {} does not hold MasterInfo JSON: {}", child(url.zkPath, name), e.getMessage());
                continue;
            }
            DetectedMaster master = DetectedMaster.fromMasterInfo(info);
            LOG.debug("leading master from ZooKeeper node {}: {}", name, master);
            return master;
        }
        return null;
    }

    @Override
    public synchronized void close() {
        closed = true;
        closeClient();
    }
}
