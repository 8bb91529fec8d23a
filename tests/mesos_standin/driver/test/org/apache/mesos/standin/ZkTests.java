/*
 * TEST-ONLY: self tests of the stand-in scheduler driver.
 */
package org.apache.mesos.standin;

import static org.apache.mesos.standin.Check.eq;
import static org.apache.mesos.standin.Check.isTrue;

import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.CreateMode;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooDefs;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.server.ZooKeeperServer;
import org.apache.mesos.MesosSchedulerDriver;
import org.apache.mesos.Protos;
import org.apache.mesos.Protos.Status;

/**
 * Leader detection against a real ZooKeeper server (the one inside flink-shaded-zookeeper, run in-process),
 * with masters published the way Mesos (and tests/mesos_standin/mesos_standin.py) publish themselves:
 * ephemeral sequential json.info_ znodes holding MasterInfo JSON.
 */
final class ZkTests {

    private static final long T = 8_000;

    static final class Zk implements AutoCloseable {
        final ZooKeeperServer server;
        final ServerCnxnFactory factory;
        final int port;
        final File dir;

        Zk() throws Exception {
            dir = Files.createTempDirectory("standin-zk").toFile();
            server = new ZooKeeperServer(dir, dir, 2000);
            factory = ServerCnxnFactory.createFactory(new InetSocketAddress("127.0.0.1", 0), 60);
            factory.startup(server);
            port = factory.getLocalPort();
        }

        /** n connected sessions, opened in parallel (a 3.4 client's first attempt fails on JDK 14+). */
        ZooKeeper[] clients(int n) throws Exception {
            ZooKeeper[] out = new ZooKeeper[n];
            for (int i = 0; i < n; i++) {
                out[i] = new ZooKeeper("127.0.0.1:" + port, 10_000, e -> { });
                ZooKeeperMasterDetector.workAroundZookeeper3779(out[i]); // the test's own 3.4 clients need it too
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (ZooKeeper zk : out) {
                while (!zk.getState().isConnected()) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("in-process ZooKeeper did not accept a session");
                    }
                    Thread.sleep(20);
                }
            }
            return out;
        }

        @Override
        public void close() {
            factory.shutdown();
            server.shutdown();
            deleteTree(dir);
        }

        private static void deleteTree(File f) {
            File[] children = f.listFiles();
            if (children != null) {
                for (File c : children) {
                    deleteTree(c);
                }
            }
            f.delete();
        }
    }

    static String publish(ZooKeeper zk, String path, String masterInfoJson) throws Exception {
        return zk.create(path + "/json.info_", masterInfoJson.getBytes(StandardCharsets.UTF_8),
                ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL_SEQUENTIAL);
    }

    static void waitFor(AtomicInteger counter, int atLeast, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(T);
        while (counter.get() < atLeast) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static void register(Check c) {
        c.run("zk.detector_follows_the_lowest_json_info", () -> {
            try (Zk zk = new Zk()) {
                AtomicInteger changes = new AtomicInteger();
                ZooKeeperMasterDetector detector = new ZooKeeperMasterDetector(
                        MasterUrl.parse("zk://alice:secret@127.0.0.1:" + zk.port + "/mesos"), changes::incrementAndGet);
                ZooKeeper[] ab = zk.clients(2);
                ZooKeeper a = ab[0];
                ZooKeeper b = ab[1];
                try {
                    eq(null, detector.detect(), "no path yet: no master");
                    a.create("/mesos", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                    waitFor(changes, 1, "the watch on the missing path");
                    a.create("/mesos/log_replicas", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                    eq(null, detector.detect(), "no json.info_ child: no master");
                    String n1 = publish(a, "/mesos", "{\"id\":\"m1\",\"hostname\":\"h1\",\"port\":1111,"
                            + "\"address\":{\"hostname\":\"h1\",\"ip\":\"127.0.0.1\",\"port\":1111}}");
                    publish(b, "/mesos", "{\"id\":\"m2\",\"port\":2222,\"address\":{\"hostname\":\"localhost\",\"port\":2222}}");
                    isTrue(n1.startsWith("/mesos/json.info_"), "znode name " + n1);
                    DetectedMaster leader = detector.detect();
                    eq("127.0.0.1:1111 (master m1)", String.valueOf(leader), "lowest sequence leads");
                    int before = changes.get();
                    a.close(); // the leader's session ends: its ephemeral znode goes away
                    waitFor(changes, before + 1, "the children watch after the leader left");
                    eq("localhost:2222 (master m2)", String.valueOf(detector.detect()), "next contender leads");
                } finally {
                    b.close();
                    detector.close();
                }
            }
        });

        c.run("zk.driver_follows_leader_change", () -> {
            try (Zk zk = new Zk(); FakeMaster m1 = new FakeMaster(); FakeMaster m2 = new FakeMaster()) {
                ZooKeeper[] ab = zk.clients(2);
                ZooKeeper a = ab[0];
                ZooKeeper b = ab[1];
                Path urlFile = Files.createTempFile("mesos-master", ".url");
                try {
                    a.create("/mesos2", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                    publish(a, "/mesos2", m1.masterInfoJson("master-one", "m1.fake"));
                    publish(b, "/mesos2", m2.masterInfoJson("master-two", "m2.fake"));
                    Files.write(urlFile, ("zk://127.0.0.1:" + zk.port + "/mesos2\n").getBytes(StandardCharsets.UTF_8));

                    RecordingScheduler s = new RecordingScheduler();
                    MesosSchedulerDriver d = new MesosSchedulerDriver(s, DriverTests.framework("zk-framework", null),
                            "file://" + urlFile, false);
                    try {
                        eq(Status.DRIVER_RUNNING, d.start(), "start");
                        FakeMaster.Stream st1 = m1.nextStream(T);
                        m1.nextRequest("SUBSCRIBE", T);
                        st1.send("{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw-z\"},"
                                + "\"heartbeat_interval_seconds\":15}}");
                        RecordingScheduler.Call reg = s.next("registered", T);
                        eq("fw-z", ((Protos.FrameworkID) reg.arg(0)).getValue(), "framework id");
                        Protos.MasterInfo mi1 = reg.arg(1);
                        eq("master-one", mi1.getId(), "MasterInfo from the ZooKeeper node");
                        eq("m1.fake", mi1.getHostname(), "its hostname");
                        eq(m1.port, mi1.getPort(), "its port");

                        a.close(); // leader failover in ZooKeeper
                        s.next("disconnected", T);
                        FakeMaster.Stream st2 = m2.nextStream(T);
                        FakeMaster.Req sub = m2.nextRequest("SUBSCRIBE", T);
                        eq(Json.parse("{\"value\":\"fw-z\"}"), sub.json.get("framework_id"), "re-SUBSCRIBE at the new leader");
                        st2.send("{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw-z\"},"
                                + "\"heartbeat_interval_seconds\":15}}");
                        eq("master-two", ((Protos.MasterInfo) s.next("reregistered", T).arg(0)).getId(),
                                "reregistered with the new leader's MasterInfo");

                        eq(Status.DRIVER_STOPPED, d.stop(true), "stop(true)");
                        m2.expectNoRequest(500); // failover stop: no TEARDOWN
                        m1.expectNoRequest(10);
                        st1.close();
                        st2.close();
                        DriverTests.noDriverThreads(3_000);
                    } finally {
                        d.stop(true);
                    }
                } finally {
                    b.close();
                    Files.deleteIfExists(urlFile);
                }
            }
        });
    }
}
