/*
 * TEST-ONLY: self tests of the stand-in scheduler driver.
 */
package org.apache.mesos.standin;

import static org.apache.mesos.standin.Check.eq;
import static org.apache.mesos.standin.Check.isTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.flink.mesos.shaded.com.google.protobuf.ByteString;
import org.apache.mesos.MesosSchedulerDriver;
import org.apache.mesos.Protos;
import org.apache.mesos.Protos.Status;
import org.apache.mesos.SchedulerDriver;

/** The driver against in-process fake masters (com.sun.net.httpserver) on 127.0.0.1. */
final class DriverTests {

    private static final long T = 5_000; // generous per-step timeout

    @SuppressWarnings("unchecked")
    static Map<String, Object> m(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> l(Object o) {
        return (List<Object>) o;
    }

    static Map<String, Object> path(Map<String, Object> json, String... keys) {
        Map<String, Object> cur = json;
        for (String k : keys) {
            Object next = cur.get(k);
            if (!(next instanceof Map)) {
                throw new AssertionError("no object at '" + k + "' in " + Json.write(json));
            }
            cur = m(next);
        }
        return cur;
    }

    static Protos.FrameworkInfo framework(String name, String id) {
        Protos.FrameworkInfo.Builder b = Protos.FrameworkInfo.newBuilder().setUser("").setName(name)
                .setFailoverTimeout(60).setRole("*").setCheckpoint(true).setPrincipal("flink");
        if (id != null) {
            b.setId(Protos.FrameworkID.newBuilder().setValue(id));
        }
        return b.build();
    }

    static Protos.TaskInfo task(String id, String agent) {
        return Protos.TaskInfo.newBuilder().setName(id).setTaskId(Protos.TaskID.newBuilder().setValue(id))
                .setSlaveId(Protos.SlaveID.newBuilder().setValue(agent))
                .addResources(Protos.Resource.newBuilder().setName("cpus").setType(Protos.Value.Type.SCALAR)
                        .setScalar(Protos.Value.Scalar.newBuilder().setValue(1)))
                .setCommand(Protos.CommandInfo.newBuilder().setValue("sleep 1000")).build();
    }

    static Protos.OfferID offerId(String id) {
        return Protos.OfferID.newBuilder().setValue(id).build();
    }

    /** Every driver thread ("mesos-standin-*") ends once its driver is stopped or aborted. */
    static void noDriverThreads(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (true) {
            List<String> alive = new java.util.ArrayList<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.isAlive() && t.getName().startsWith("mesos-standin-")) {
                    alive.add(t.getName());
                }
            }
            if (alive.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("driver threads still alive after stop/abort: " + alive);
            }
            Thread.sleep(50);
        }
    }

    static void register(Check c) {
        c.run("driver.status_before_start", () -> {
            RecordingScheduler s = new RecordingScheduler();
            MesosSchedulerDriver d = new MesosSchedulerDriver(s, framework("x", null), "127.0.0.1:1");
            eq(Status.DRIVER_NOT_STARTED, d.declineOffer(offerId("o")), "call before start");
            eq(Status.DRIVER_NOT_STARTED, d.join(), "join before start returns at once");
            eq(Status.DRIVER_NOT_STARTED, d.abort(), "abort before start");
            eq(Status.DRIVER_NOT_STARTED, d.stop(), "stop before start");
            Check.raises(NullPointerException.class, () -> new MesosSchedulerDriver(s, framework("x", null),
                    "127.0.0.1:1", (Protos.Credential) null), "null credential");
            Check.raises(NullPointerException.class, () -> new MesosSchedulerDriver(null, framework("x", null),
                    "127.0.0.1:1"), "null scheduler");
        });

        c.run("driver.fake_master_session", DriverTests::mainSession);
        c.run("driver.failover_id_implicit_ack_and_error", DriverTests::failoverAndError);
        c.run("driver.unavailable_master_backoff_and_lost_tasks", DriverTests::unavailableMaster);
        c.run("driver.fatal_subscribe_answers", DriverTests::fatalSubscribe);
        c.run("driver.error_event_before_subscribed", DriverTests::errorBeforeSubscribed);
    }

    /** SUBSCRIBE through a redirect, every event type, calls with stream id, reconnections, TEARDOWN. */
    static void mainSession() throws Exception {
        try (FakeMaster redirector = new FakeMaster(); FakeMaster master = new FakeMaster()) {
            redirector.redirectTo = "//127.0.0.1:" + master.port + "/api/v1/scheduler";
            RecordingScheduler s = new RecordingScheduler();
            AtomicReference<Status> declineFromCallback = new AtomicReference<>();
            AtomicReference<SchedulerDriver> driverRef = new AtomicReference<>();
            s.onOffers = offers -> declineFromCallback.set(driverRef.get().declineOffer(offers.get(0).getId(),
                    Protos.Filters.newBuilder().setRefuseSeconds(5).build()));
            Protos.Credential credential = Protos.Credential.newBuilder().setPrincipal("flink").setSecret("s3cret").build();
            MesosSchedulerDriver d = new MesosSchedulerDriver(s, framework("standin-selftest", null),
                    "127.0.0.1:" + redirector.port, false, credential);
            driverRef.set(d);
            try {
                String basic = "Basic " + Base64.getEncoder().encodeToString("flink:s3cret".getBytes(StandardCharsets.UTF_8));

                eq(Status.DRIVER_RUNNING, d.start(), "start()");
                eq(Status.DRIVER_RUNNING, d.start(), "second start() reports the running driver");

                // ---- SUBSCRIBE #1, redirected by the first "master" to the leader
                FakeMaster.Req viaRedirect = redirector.nextRequest("SUBSCRIBE", T);
                eq(basic, viaRedirect.header("Authorization"), "credential on the redirected request too");
                FakeMaster.Stream s1 = master.nextStream(T);
                FakeMaster.Req sub1 = master.nextRequest("SUBSCRIBE", T);
                eq("application/json", sub1.header("Content-Type"), "Content-Type");
                eq("application/json", sub1.header("Accept"), "Accept");
                eq(basic, sub1.header("Authorization"), "HTTP basic authentication");
                eq(null, sub1.header("Mesos-Stream-Id"), "no stream id on SUBSCRIBE");
                isTrue(!sub1.json.containsKey("framework_id"), "first SUBSCRIBE has no framework_id: " + sub1);
                Map<String, Object> fi = path(sub1.json, "subscribe", "framework_info");
                eq("standin-selftest", fi.get("name"), "framework name");
                eq(System.getProperty("user.name"), fi.get("user"), "empty user filled in like libmesos");
                isTrue(fi.get("hostname") instanceof String && !((String) fi.get("hostname")).isEmpty(), "hostname filled in");
                eq(60.0, fi.get("failover_timeout"), "failover_timeout passed on");
                eq("flink", fi.get("principal"), "principal");
                isTrue(!fi.containsKey("id"), "no framework_info.id yet");

                s1.send("{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw-1\"},"
                        + "\"heartbeat_interval_seconds\":15,\"master_info\":" + master.masterInfoJson("m-1", "fake-master")
                        + "}}");
                s1.send("{\"type\":\"OFFERS\",\"offers\":{\"offers\":[{\"id\":{\"value\":\"o-1\"},"
                        + "\"framework_id\":{\"value\":\"fw-1\"},\"agent_id\":{\"value\":\"a-1\"},\"hostname\":\"agent1\","
                        + "\"resources\":[{\"name\":\"cpus\",\"type\":\"SCALAR\",\"scalar\":{\"value\":2},"
                        + "\"allocation_info\":{\"role\":\"*\"}},{\"name\":\"ports\",\"type\":\"RANGES\",\"ranges\":"
                        + "{\"range\":[{\"begin\":31000,\"end\":32000}]},\"allocation_info\":{\"role\":\"*\"}}],"
                        + "\"attributes\":[{\"name\":\"rack\",\"type\":\"TEXT\",\"text\":{\"value\":\"r1\"}}],"
                        + "\"allocation_info\":{\"role\":\"*\"}}]}}");
                s1.send("{\"type\":\"HEARTBEAT\"}");
                s1.send("{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":{\"value\":\"t-1\"},"
                        + "\"state\":\"TASK_RUNNING\",\"source\":\"SOURCE_EXECUTOR\",\"agent_id\":{\"value\":\"a-1\"},"
                        + "\"uuid\":\"AAH+/w==\",\"timestamp\":1602547200.25}}}");
                // a record split in two writes (two HTTP chunks)
                byte[] rescind = RecordIO.encode("{\"type\":\"RESCIND\",\"rescind\":{\"offer_id\":{\"value\":\"o-9\"}}}"
                        .getBytes(StandardCharsets.UTF_8));
                s1.sendRaw(java.util.Arrays.copyOfRange(rescind, 0, 20));
                Thread.sleep(50);
                s1.sendRaw(java.util.Arrays.copyOfRange(rescind, 20, rescind.length));
                s1.send("{\"type\":\"INVERSE_OFFERS\",\"inverse_offers\":{\"inverse_offers\":[]}}");
                s1.send("{\"type\":\"MESSAGE\",\"message\":{\"agent_id\":{\"value\":\"a-1\"},"
                        + "\"executor_id\":{\"value\":\"e-1\"},\"data\":\"aGk=\"}}");
                s1.send("{\"type\":\"FAILURE\",\"failure\":{\"agent_id\":{\"value\":\"a-2\"},"
                        + "\"executor_id\":{\"value\":\"e-2\"},\"status\":256}}");
                s1.send("{\"type\":\"FAILURE\",\"failure\":{\"agent_id\":{\"value\":\"a-3\"}}}");

                RecordingScheduler.Call reg = s.next("registered", T);
                eq("fw-1", ((Protos.FrameworkID) reg.arg(0)).getValue(), "registered framework id");
                Protos.MasterInfo mi = reg.arg(1);
                eq("m-1", mi.getId(), "MasterInfo.id from SUBSCRIBED");
                eq("fake-master", mi.getHostname(), "MasterInfo.hostname");
                eq(master.port, mi.getPort(), "MasterInfo.port");
                eq("127.0.0.1", mi.getAddress().getIp(), "MasterInfo.address.ip");

                RecordingScheduler.Call offers = s.next("resourceOffers", T);
                List<Protos.Offer> list = offers.arg(0);
                eq(1, list.size(), "one offer");
                eq("o-1", list.get(0).getId().getValue(), "offer id");
                eq("a-1", list.get(0).getSlaveId().getValue(), "offer slave_id (v1 agent_id)");
                eq(2.0, list.get(0).getResources(0).getScalar().getValue(), "offered cpus");
                eq(32000L, list.get(0).getResources(1).getRanges().getRange(0).getEnd(), "offered ports");
                eq("r1", list.get(0).getAttributes(0).getText().getValue(), "attribute");
                eq(reg.thread, offers.thread, "callbacks come from one thread");
                eq(Status.DRIVER_RUNNING, declineFromCallback.get(), "a call made inside a callback (no deadlock)");

                RecordingScheduler.Call update = s.next("statusUpdate", T);
                Protos.TaskStatus st = update.arg(0);
                eq("t-1", st.getTaskId().getValue(), "update task");
                eq(Protos.TaskState.TASK_RUNNING, st.getState(), "update state");
                eq(ByteString.copyFrom(new byte[] {0, 1, (byte) 0xfe, (byte) 0xff}), st.getUuid(), "update uuid");
                eq("a-1", st.getSlaveId().getValue(), "update slave id");
                eq("o-9", ((Protos.OfferID) s.next("offerRescinded", T).arg(0)).getValue(), "rescinded offer");
                RecordingScheduler.Call msg = s.next("frameworkMessage", T);
                eq("e-1", ((Protos.ExecutorID) msg.arg(0)).getValue(), "message executor");
                eq("a-1", ((Protos.SlaveID) msg.arg(1)).getValue(), "message agent");
                eq("hi", new String((byte[]) msg.arg(2), StandardCharsets.UTF_8), "message data");
                RecordingScheduler.Call lostExec = s.next("executorLost", T);
                eq("e-2", ((Protos.ExecutorID) lostExec.arg(0)).getValue(), "lost executor");
                eq("a-2", ((Protos.SlaveID) lostExec.arg(1)).getValue(), "lost executor's agent");
                eq(256, lostExec.arg(2), "executor exit status");
                eq("a-3", ((Protos.SlaveID) s.next("slaveLost", T).arg(0)).getValue(), "lost agent");

                // ---- the DECLINE made inside resourceOffers()
                FakeMaster.Req decline = master.nextRequest("DECLINE", T);
                eq(s1.streamId, decline.header("Mesos-Stream-Id"), "Mesos-Stream-Id on calls");
                eq(basic, decline.header("Authorization"), "credential on calls");
                eq("application/json", decline.header("Content-Type"), "call Content-Type");
                eq(Json.parse("{\"value\":\"fw-1\"}"), decline.json.get("framework_id"), "call framework_id");
                eq(Json.parse("{\"offer_ids\":[{\"value\":\"o-1\"}],\"filters\":{\"refuse_seconds\":5.0}}"),
                        decline.json.get("decline"), "DECLINE body");
                master.expectNoRequest(300); // implicit acknowledgements are off: no ACKNOWLEDGE by itself

                // ---- explicit calls, sent in order
                eq(Status.DRIVER_RUNNING, d.acknowledgeStatusUpdate(st), "acknowledgeStatusUpdate");
                eq(Status.DRIVER_RUNNING, d.launchTasks(Collections.singletonList(offerId("o-2")),
                        Collections.singletonList(task("t-2", "a-1"))), "launchTasks");
                eq(Status.DRIVER_RUNNING, d.killTask(Protos.TaskID.newBuilder().setValue("t-2").build()), "killTask");
                eq(Status.DRIVER_RUNNING, d.reconcileTasks(Collections.emptyList()), "reconcileTasks");
                eq(Status.DRIVER_RUNNING, d.reviveOffers(), "reviveOffers");
                eq(Status.DRIVER_RUNNING, d.suppressOffers(), "suppressOffers");
                eq(Status.DRIVER_RUNNING, d.sendFrameworkMessage(Protos.ExecutorID.newBuilder().setValue("e-1").build(),
                        Protos.SlaveID.newBuilder().setValue("a-1").build(), "yo".getBytes(StandardCharsets.UTF_8)),
                        "sendFrameworkMessage");
                eq(Status.DRIVER_RUNNING, d.requestResources(Collections.singletonList(Protos.Request.newBuilder()
                        .setSlaveId(Protos.SlaveID.newBuilder().setValue("a-1")).build())), "requestResources");
                FakeMaster.Req ack = master.nextRequest("ACKNOWLEDGE", T);
                eq(Json.parse("{\"agent_id\":{\"value\":\"a-1\"},\"task_id\":{\"value\":\"t-1\"},\"uuid\":\"AAH+/w==\"}"),
                        ack.json.get("acknowledge"), "ACKNOWLEDGE body");
                FakeMaster.Req accept = master.nextRequest("ACCEPT", T);
                Map<String, Object> acc = m(accept.json.get("accept"));
                eq(Json.parse("[{\"value\":\"o-2\"}]"), acc.get("offer_ids"), "ACCEPT offer ids");
                eq(Json.parse("{}"), acc.get("filters"), "launchTasks without filters sends empty filters");
                Map<String, Object> op = m(l(acc.get("operations")).get(0));
                eq("LAUNCH", op.get("type"), "operation type");
                Map<String, Object> ti = m(l(path(op, "launch").get("task_infos")).get(0));
                eq(Json.parse("{\"value\":\"a-1\"}"), ti.get("agent_id"), "task agent_id");
                isTrue(!ti.containsKey("slave_id"), "no slave_id in the task");
                eq(Json.parse("{\"task_id\":{\"value\":\"t-2\"}}"), master.nextRequest("KILL", T).json.get("kill"), "KILL");
                eq(Json.parse("{}"), master.nextRequest("RECONCILE", T).json.get("reconcile"), "RECONCILE (implicit)");
                master.nextRequest("REVIVE", T);
                master.nextRequest("SUPPRESS", T);
                eq(Json.parse("{\"agent_id\":{\"value\":\"a-1\"},\"executor_id\":{\"value\":\"e-1\"},\"data\":\"eW8=\"}"),
                        master.nextRequest("MESSAGE", T).json.get("message"), "MESSAGE");
                FakeMaster.Req request = master.nextRequest("REQUEST", T);
                eq(Json.parse("{\"requests\":[{\"agent_id\":{\"value\":\"a-1\"}}]}"), request.json.get("request"), "REQUEST");
                eq(s1.streamId, request.header("Mesos-Stream-Id"), "stream id on the last call too");

                // ---- the master closes the stream: disconnected(), then re-SUBSCRIBE with the framework id
                long closedAt = System.nanoTime();
                s1.close();
                s.next("disconnected", T);
                redirector.nextRequest("SUBSCRIBE", T);
                FakeMaster.Stream s2 = master.nextStream(T);
                FakeMaster.Req sub2 = master.nextRequest("SUBSCRIBE", T);
                long resubscribeMs = (sub2.atNanos - closedAt) / 1_000_000;
                isTrue(resubscribeMs >= 900 && resubscribeMs < 4_000, "re-SUBSCRIBE after the 1 s backoff, took " + resubscribeMs);
                eq(Json.parse("{\"value\":\"fw-1\"}"), sub2.json.get("framework_id"), "re-SUBSCRIBE top-level framework_id");
                eq(Json.parse("{\"value\":\"fw-1\"}"), path(sub2.json, "subscribe", "framework_info").get("id"),
                        "re-SUBSCRIBE framework_info.id");
                eq(60.0, path(sub2.json, "subscribe", "framework_info").get("failover_timeout"), "failover timeout kept");
                s2.send("{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw-1\"},"
                        + "\"heartbeat_interval_seconds\":0.2,\"master_info\":" + master.masterInfoJson("m-1", "fake-master")
                        + "}}");
                eq("m-1", ((Protos.MasterInfo) s.next("reregistered", T).arg(0)).getId(), "reregistered MasterInfo");

                // ---- no heartbeat for 5 x 0.2 s: disconnected() without the master closing anything
                long quietFrom = System.nanoTime();
                s.next("disconnected", T);
                long silentMs = (System.nanoTime() - quietFrom) / 1_000_000;
                isTrue(silentMs >= 700 && silentMs < 4_000, "missed heartbeats detected after ~1 s, took " + silentMs);
                // while disconnected: a launch becomes TASK_LOST at once (sched.cpp), nothing is sent
                eq(Status.DRIVER_RUNNING, d.launchTasks(Collections.singletonList(offerId("o-3")),
                        Collections.singletonList(task("t-3", "a-1"))), "launchTasks while disconnected");
                RecordingScheduler.Call lost = s.next("statusUpdate", T);
                Protos.TaskStatus lostStatus = lost.arg(0);
                eq("t-3", lostStatus.getTaskId().getValue(), "lost task");
                eq(Protos.TaskState.TASK_LOST, lostStatus.getState(), "TASK_LOST");
                eq(Protos.TaskStatus.Reason.REASON_MASTER_DISCONNECTED, lostStatus.getReason(), "reason");
                eq(Protos.TaskStatus.Source.SOURCE_MASTER, lostStatus.getSource(), "source");
                eq("Master disconnected", lostStatus.getMessage(), "message");
                s2.close();
                redirector.nextRequest("SUBSCRIBE", T);
                FakeMaster.Stream s3 = master.nextStream(T);
                FakeMaster.Req sub3 = master.nextRequest("SUBSCRIBE", T);
                eq(Json.parse("{\"value\":\"fw-1\"}"), sub3.json.get("framework_id"), "third SUBSCRIBE framework_id");
                s3.send("{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw-1\"},"
                        + "\"heartbeat_interval_seconds\":15}}");
                Protos.MasterInfo synthetic = s.next("reregistered", T).arg(0);
                eq("127.0.0.1", synthetic.getHostname(), "MasterInfo made up from the address when SUBSCRIBED has none");
                eq(master.port, synthetic.getPort(), "its port");

                // ---- stop(false): TEARDOWN on the current stream, then STOPPED everywhere
                eq(Status.DRIVER_STOPPED, d.stop(false), "stop(false)");
                FakeMaster.Req teardown = master.nextRequest("TEARDOWN", T);
                eq(s3.streamId, teardown.header("Mesos-Stream-Id"), "TEARDOWN on the current stream");
                eq(Json.parse("{\"value\":\"fw-1\"}"), teardown.json.get("framework_id"), "TEARDOWN framework_id");
                eq(Status.DRIVER_STOPPED, d.join(), "join() after stop");
                eq(Status.DRIVER_STOPPED, d.declineOffer(offerId("o-4")), "call after stop");
                eq(Status.DRIVER_STOPPED, d.start(), "start() after stop");
                eq(Status.DRIVER_STOPPED, d.abort(), "abort() after stop");
                eq(Status.DRIVER_STOPPED, d.stop(true), "stop() again");
                master.expectNoRequest(400);
                s.expectNone(200);
                s3.close();
                s.expectNone(300);
                noDriverThreads(2_000);
            } finally {
                d.stop(true);
            }
        }
    }

    /** FrameworkInfo with an id (HA recovery): registered(); implicit ACK after the callback; ERROR aborts. */
    static void failoverAndError() throws Exception {
        try (FakeMaster master = new FakeMaster()) {
            RecordingScheduler s = new RecordingScheduler();
            s.statusUpdateSleepMs = 300;
            MesosSchedulerDriver d = new MesosSchedulerDriver(s, framework("recovered", "fw-old"),
                    "http://127.0.0.1:" + master.port, true);
            try {
                AtomicReference<Status> joined = new AtomicReference<>();
                Thread joiner = new Thread(() -> joined.set(d.run()), "joiner");
                joiner.setDaemon(true);
                joiner.start(); // run() = start() + join()
                FakeMaster.Stream st = master.nextStream(T);
                FakeMaster.Req sub = master.nextRequest("SUBSCRIBE", T);
                eq(Json.parse("{\"value\":\"fw-old\"}"), sub.json.get("framework_id"), "SUBSCRIBE framework_id from FrameworkInfo");
                eq(Json.parse("{\"value\":\"fw-old\"}"), path(sub.json, "subscribe", "framework_info").get("id"),
                        "framework_info.id");
                eq(null, sub.header("Authorization"), "no credential, no Authorization header");
                st.send("{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw-old\"},"
                        + "\"heartbeat_interval_seconds\":15}}");
                RecordingScheduler.Call reg = s.next("registered", T);
                eq("fw-old", ((Protos.FrameworkID) reg.arg(0)).getValue(), "failover: registered(), not reregistered()");
                st.send("{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":{\"value\":\"t-1\"},"
                        + "\"state\":\"TASK_FINISHED\",\"agent_id\":{\"value\":\"a-1\"},\"uuid\":\"AAH+/w==\"}}}");
                st.send("{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":{\"value\":\"t-2\"},"
                        + "\"state\":\"TASK_LOST\",\"source\":\"SOURCE_MASTER\",\"reason\":\"REASON_RECONCILIATION\"}}}");
                RecordingScheduler.Call first = s.next("statusUpdate", T);
                FakeMaster.Req ack = master.nextRequest("ACKNOWLEDGE", T);
                long returned = first.returnedNanos;
                isTrue(returned != 0 && ack.atNanos >= returned,
                        "implicit ACKNOWLEDGE only after statusUpdate() returned (callback slept 300 ms; ack came "
                                + (ack.atNanos - first.atNanos) / 1_000_000 + " ms after it began)");
                eq(Json.parse("{\"agent_id\":{\"value\":\"a-1\"},\"task_id\":{\"value\":\"t-1\"},\"uuid\":\"AAH+/w==\"}"),
                        ack.json.get("acknowledge"), "implicit ACKNOWLEDGE body");
                eq(Protos.TaskState.TASK_LOST, ((Protos.TaskStatus) s.next("statusUpdate", T).arg(0)).getState(),
                        "second update");
                master.expectNoRequest(500); // the update without uuid is not acknowledged

                st.send("{\"type\":\"ERROR\",\"error\":{\"message\":\"Framework has been removed\"}}");
                eq("Framework has been removed", s.next("error", T).arg(0), "error() callback");
                joiner.join(T);
                eq(Status.DRIVER_ABORTED, joined.get(), "run()/join() return DRIVER_ABORTED after an ERROR");
                eq(Status.DRIVER_ABORTED, d.declineOffer(offerId("o")), "calls after abort");
                eq(Status.DRIVER_ABORTED, d.abort(), "abort() again");
                master.expectNoRequest(1_200); // no re-SUBSCRIBE after abort (the backoff would be 1 s)
                s.expectNone(100);
                eq(Status.DRIVER_ABORTED, d.stop(true), "stop() after abort reports DRIVER_ABORTED");
                eq(Status.DRIVER_STOPPED, d.join(), "then the driver is stopped");
                master.expectNoRequest(300);
                noDriverThreads(2_000);
            } finally {
                d.stop(true);
            }
        }
    }

    /** 503 answers: retried with backoff; launches while never connected become TASK_LOST. */
    static void unavailableMaster() throws Exception {
        try (FakeMaster master = new FakeMaster()) {
            master.subscribeStatus = 503;
            RecordingScheduler s = new RecordingScheduler();
            MesosSchedulerDriver d = new MesosSchedulerDriver(s, framework("waiting", null), "127.0.0.1:" + master.port);
            try {
                eq(Status.DRIVER_RUNNING, d.start(), "start");
                FakeMaster.Req a1 = master.nextRequest("SUBSCRIBE", T);
                FakeMaster.Req a2 = master.nextRequest("SUBSCRIBE", T);
                FakeMaster.Req a3 = master.nextRequest("SUBSCRIBE", T);
                long gap1 = (a2.atNanos - a1.atNanos) / 1_000_000;
                long gap2 = (a3.atNanos - a2.atNanos) / 1_000_000;
                isTrue(gap1 >= 900 && gap1 < 1_800, "first retry after ~1 s, was " + gap1);
                isTrue(gap2 >= 1_800 && gap2 < 3_000, "second retry after ~2 s (doubling), was " + gap2);
                eq(Status.DRIVER_RUNNING, d.launchTasks(offerId("o-1"), Collections.singletonList(task("t-1", "a-1")),
                        Protos.Filters.newBuilder().build()), "launchTasks (deprecated overload)");
                Protos.TaskStatus lost = s.next("statusUpdate", T).arg(0);
                eq(Protos.TaskState.TASK_LOST, lost.getState(), "TASK_LOST for a launch without a master");
                eq(Protos.TaskStatus.Reason.REASON_MASTER_DISCONNECTED, lost.getReason(), "reason");
                s.expectNone(200); // no disconnected(): it never was connected
                eq(Status.DRIVER_STOPPED, d.stop(true), "stop(true)");
                eq(Status.DRIVER_STOPPED, d.join(), "join");
                noDriverThreads(2_000); // the subscription thread is gone: no more attempts
                master.requests.clear();
                master.expectNoRequest(500); // and no TEARDOWN
            } finally {
                d.stop(true);
            }
        }
    }

    /**
     * A master refusing a subscription the way Mesos does for a torn-down framework id: 200, then an ERROR
     * event before any SUBSCRIBED, then end of stream. The driver must report it and abort, not retry.
     */
    static void errorBeforeSubscribed() throws Exception {
        try (FakeMaster master = new FakeMaster()) {
            RecordingScheduler s = new RecordingScheduler();
            MesosSchedulerDriver d = new MesosSchedulerDriver(s, framework("removed", "fw-gone"),
                    "127.0.0.1:" + master.port, false);
            try {
                eq(Status.DRIVER_RUNNING, d.start(), "start");
                FakeMaster.Stream st = master.nextStream(T);
                eq("SUBSCRIBE", master.nextRequest(T).type, "SUBSCRIBE");
                st.send("{\"type\":\"ERROR\",\"error\":{\"message\":\"Framework has been removed\"}}");
                st.close();
                eq("Framework has been removed", s.next("error", T).arg(0), "error() for an ERROR before SUBSCRIBED");
                eq(Status.DRIVER_ABORTED, d.join(), "aborted");
                master.expectNoRequest(1_200); // no re-SUBSCRIBE loop
                s.expectNone(10);
                noDriverThreads(2_000);
            } finally {
                d.stop(true);
            }
        }
    }

    /** A bad master URL and a 401 on SUBSCRIBE: error() and DRIVER_ABORTED, like libmesos. */
    static void fatalSubscribe() throws Exception {
        RecordingScheduler bad = new RecordingScheduler();
        MesosSchedulerDriver d1 = new MesosSchedulerDriver(bad, framework("bad-url", null), "zk://");
        eq(Status.DRIVER_ABORTED, d1.start(), "start() with an unusable master URL");
        String message = bad.next("error", T).arg(0);
        isTrue(message.startsWith("Failed to create a master detector for 'zk://'"), "error text: " + message);
        eq(Status.DRIVER_ABORTED, d1.join(), "join() returns at once");
        eq(Status.DRIVER_ABORTED, d1.stop(), "stop() after a failed start");

        try (FakeMaster master = new FakeMaster()) {
            master.subscribeStatus = 401;
            RecordingScheduler s = new RecordingScheduler();
            MesosSchedulerDriver d = new MesosSchedulerDriver(s, framework("unauthenticated", null),
                    "127.0.0.1:" + master.port, Protos.Credential.newBuilder().setPrincipal("p").setSecret("wrong").build());
            try {
                eq(Status.DRIVER_RUNNING, d.start(), "start");
                master.nextRequest("SUBSCRIBE", T);
                String err = s.next("error", T).arg(0);
                isTrue(err.startsWith("Master refused authentication"), "401 text: " + err);
                isTrue(!err.contains("wrong"), "the secret never appears in messages");
                eq(Status.DRIVER_ABORTED, d.join(), "aborted");
                master.expectNoRequest(300);
                noDriverThreads(2_000); // abort() alone ends every driver thread
            } finally {
                d.stop(true);
            }
        }
    }
}
