/*
 * TEST-ONLY: self tests of the stand-in scheduler driver.
 */
package org.apache.mesos.standin;

import static org.apache.mesos.standin.Check.eq;
import static org.apache.mesos.standin.Check.isTrue;
import static org.apache.mesos.standin.Check.raises;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.apache.flink.mesos.shaded.com.google.protobuf.ByteString;
import org.apache.mesos.Protos;
import org.apache.mesos.v1.scheduler.Protos.Call;
import org.apache.mesos.v1.scheduler.Protos.Event;

/** Pure unit tests: RecordIO, JSON, v0 <-> v1 conversion, master URLs, MasterInfo addresses. */
final class UnitTests {

    private static final byte[] UUID4 = {0x00, 0x01, (byte) 0xfe, (byte) 0xff};
    private static final String UUID4_B64 = "AAH+/w=="; // independently: 000000 000000 000111 111110 111111 11(0000)

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(String json) {
        return (Map<String, Object>) Json.parse(json);
    }

    private static Map<String, Object> json(Call call) {
        // Through text and back, so the test sees exactly what goes over the wire.
        return obj(Convert.toJson(call));
    }

    static void register(Check c) {
        // ------------------------------------------------------------------ RecordIO
        c.run("recordio.encode", () -> {
            eq("5\nhello", str(RecordIO.encode(utf8("hello"))), "encoded record");
            eq("0\n", str(RecordIO.encode(new byte[0])), "empty record");
            eq("2\n\u00e9", str(RecordIO.encode(utf8("\u00e9"))), "length counts bytes, not characters");
        });
        c.run("recordio.several_records_in_one_chunk", () -> {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (String s : new String[] {"{\"type\":\"HEARTBEAT\"}", "abc", "{\"x\":[1,2]}"}) {
                all.write(RecordIO.encode(utf8(s)));
            }
            byte[] bytes = all.toByteArray();
            List<byte[]> out = new RecordIO.Decoder().decode(bytes, 0, bytes.length);
            eq(3, out.size(), "records decoded from one chunk");
            eq("{\"type\":\"HEARTBEAT\"}", str(out.get(0)), "record 1");
            eq("abc", str(out.get(1)), "record 2");
            eq("{\"x\":[1,2]}", str(out.get(2)), "record 3");
        });
        c.run("recordio.record_split_across_chunks", () -> {
            byte[] bytes = concat(RecordIO.encode(utf8("0123456789ABCDEF")), RecordIO.encode(utf8("second")));
            // "16\n" is split inside the length, then the data is cut in three pieces.
            RecordIO.Decoder d = new RecordIO.Decoder();
            eq(0, d.decode(bytes, 0, 1).size(), "after '1'");
            isTrue(!d.atRecordBoundary(), "inside the length");
            eq(0, d.decode(bytes, 1, 5).size(), "after '6\\n012'");
            eq(0, d.decode(bytes, 6, 10).size(), "after more data");
            List<byte[]> out = d.decode(bytes, 16, bytes.length - 16);
            eq(2, out.size(), "both records complete");
            eq("0123456789ABCDEF", str(out.get(0)), "split record");
            eq("second", str(out.get(1)), "next record");
            isTrue(d.atRecordBoundary(), "at a boundary at the end");
            // one byte at a time
            RecordIO.Decoder d2 = new RecordIO.Decoder();
            List<String> got = new ArrayList<>();
            for (int i = 0; i < bytes.length; i++) {
                for (byte[] r : d2.decode(bytes, i, 1)) {
                    got.add(str(r));
                }
            }
            eq(Arrays.asList("0123456789ABCDEF", "second"), got, "byte-by-byte decoding");
        });
        c.run("recordio.bad_length", () -> {
            raises(IOException.class, () -> new RecordIO.Decoder().decode(utf8("12x\nabc"), 0, 7), "letter in length");
            raises(IOException.class, () -> new RecordIO.Decoder().decode(utf8("-1\n"), 0, 3), "negative length");
            raises(IOException.class, () -> new RecordIO.Decoder().decode(utf8("{\"type\"}"), 0, 8), "JSON without length");
            byte[] huge = utf8((RecordIO.MAX_RECORD_SIZE + 1) + "\n");
            raises(IOException.class, () -> new RecordIO.Decoder().decode(huge, 0, huge.length), "oversized record");
            byte[] digits = utf8("123456789012345678901\n");
            raises(IOException.class, () -> new RecordIO.Decoder().decode(digits, 0, digits.length), "21 digits");
            RecordIO.Decoder failed = new RecordIO.Decoder();
            raises(IOException.class, () -> failed.decode(utf8("z"), 0, 1), "first error");
            raises(IOException.class, () -> failed.decode(utf8("1\na"), 0, 3), "decoder unusable after an error");
        });
        c.run("recordio.reader_eof", () -> {
            byte[] ok = concat(RecordIO.encode(utf8("a")), RecordIO.encode(utf8("bb")));
            RecordIO.Reader r = new RecordIO.Reader(new ByteArrayInputStream(ok));
            eq("a", str(r.next()), "first");
            eq("bb", str(r.next()), "second");
            eq(null, r.next(), "clean end of stream");
            RecordIO.Reader cut = new RecordIO.Reader(new ByteArrayInputStream(utf8("5\nabc")));
            raises(EOFException.class, cut::next, "end of stream inside a record");
        });
        c.run("http.chunked_decoding", () -> {
            byte[] body = utf8("4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n");
            MiniHttp.ChunkedInputStream in = new MiniHttp.ChunkedInputStream(new ByteArrayInputStream(body));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[3];
            int n;
            while ((n = in.read(buf, 0, buf.length)) > 0) {
                out.write(buf, 0, n);
            }
            eq("Wikipedia in\r\n\r\nchunks.", str(out.toByteArray()), "dechunked body");
            MiniHttp.ChunkedInputStream bad = new MiniHttp.ChunkedInputStream(new ByteArrayInputStream(utf8("zz\r\n")));
            raises(IOException.class, () -> bad.read(new byte[4], 0, 4), "bad chunk size");
        });
        c.run("http.redirect_locations", () -> {
            MiniHttp.Target base = new MiniHttp.Target("10.0.0.1", 5050, "/api/v1/scheduler");
            MiniHttp.Target t1 = base.resolve("//leader.example:5051/master/api/v1/scheduler");
            eq("http://leader.example:5051/master/api/v1/scheduler", t1.toString(), "network-path reference (Mesos)");
            eq("http://10.0.0.9:5052/api/v1/scheduler", base.resolve("http://10.0.0.9:5052/api/v1/scheduler").toString(),
                    "absolute URL");
            eq("http://masterhost2:5050/api/v1/scheduler", base.resolve("masterhost2:5050").toString(),
                    "host:port as in docs/scheduler-http-api.md keeps the path");
            eq("http://10.0.0.1:5050/other", base.resolve("/other").toString(), "absolute path");
            raises(IOException.class, () -> base.resolve(""), "missing Location");
        });

        // ------------------------------------------------------------------ JSON
        c.run("json.round_trip", () -> {
            String text = "{\"s\":\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\\u0001\",\"u\":\"\u00e9\u20ac\\ud83d\\ude00\","
                    + "\"n\":[0,-2,3.5,1.0E3,-0.25,9223372036854775807,-9223372036854775808,"
                    + "12345678901234567890,1e-7],"
                    + "\"o\":{\"t\":true,\"f\":false,\"z\":null,\"e\":{},\"a\":[]},\"k\\u00e9y\":\"v\"}";
            Map<String, Object> parsed = obj(text);
            eq("q\"b\\s/\n\t\r\b\f\u0001", parsed.get("s"), "escapes decoded");
            eq("\u00e9\u20ac\ud83d\ude00", parsed.get("u"), "unicode incl. a surrogate pair escape");
            List<?> n = (List<?>) parsed.get("n");
            eq(0L, n.get(0), "zero is a Long");
            eq(-2L, n.get(1), "negative integer");
            eq(3.5, n.get(2), "decimal");
            eq(1000.0, n.get(3), "exponent");
            eq(Long.MAX_VALUE, n.get(5), "int64 max");
            eq(Long.MIN_VALUE, n.get(6), "int64 min");
            eq(new BigInteger("12345678901234567890"), n.get(7), "uint64 beyond int64");
            eq(1e-7, n.get(8), "small exponent");
            isTrue(((Map<?, ?>) parsed.get("o")).containsKey("z") && ((Map<?, ?>) parsed.get("o")).get("z") == null,
                    "null member kept");
            eq("v", parsed.get("k\u00e9y"), "escaped member name");
            String written = Json.write(parsed);
            eq(parsed, Json.parse(written), "write then parse gives the same value");
            eq(written, Json.write(Json.parse(written)), "writing is stable");
            isTrue(written.contains("\\u0001") && written.contains("\\\"") && written.contains("\\\\"),
                    "control characters, quotes and backslashes are escaped: " + written);
            isTrue(written.contains("\u00e9\u20ac\ud83d\ude00"), "non-ASCII written as UTF-8 text");
            eq("{\"a\":[1,2.5,\"x\",null,true],\"b\":{\"c\":-7}}",
                    Json.write(obj("{ \"a\" : [ 1 , 2.5 , \"x\" , null , true ] , \"b\" : { \"c\" : -7 } }")),
                    "whitespace dropped, order kept");
            eq("[0.1,1.5]", Json.write(Arrays.asList(0.1f, 1.5)), "float written in its short form");
        });
        c.run("json.errors", () -> {
            for (String bad : new String[] {"{}x", "01", "\"abc", "{\"a\" 1}", "[1,]", "{\"a\":tru}", "\"\\x\"", "",
                    "[1 2]", "\"a\nb\"", "-", "1.", "{1:2}"}) {
                raises(IllegalArgumentException.class, () -> Json.parse(bad), "invalid JSON " + bad);
            }
            raises(IllegalArgumentException.class, () -> Json.write(Double.NaN), "NaN is not JSON");
        });

        // ------------------------------------------------------------------ v0 -> v1 calls
        Protos.FrameworkID fw1 = Protos.FrameworkID.newBuilder().setValue("fw-1").build();
        c.run("convert.accept_launch", () -> {
            Protos.TaskInfo task = Protos.TaskInfo.newBuilder()
                    .setName("taskmanager-00001")
                    .setTaskId(Protos.TaskID.newBuilder().setValue("taskmanager-00001"))
                    .setSlaveId(Protos.SlaveID.newBuilder().setValue("agent-7"))
                    .addResources(Protos.Resource.newBuilder().setName("cpus").setType(Protos.Value.Type.SCALAR)
                            .setScalar(Protos.Value.Scalar.newBuilder().setValue(1.5)).setRole("*"))
                    .addResources(Protos.Resource.newBuilder().setName("ports").setType(Protos.Value.Type.RANGES)
                            .setRanges(Protos.Value.Ranges.newBuilder().addRange(
                                    Protos.Value.Range.newBuilder().setBegin(31000).setEnd(31001))))
                    .setCommand(Protos.CommandInfo.newBuilder()
                            .setValue("$FLINK_HOME/bin/mesos-taskmanager.sh")
                            .addUris(Protos.CommandInfo.URI.newBuilder().setValue("http://artifacts:8088/flink.tgz")
                                    .setExtract(true).setCache(false))
                            .setEnvironment(Protos.Environment.newBuilder().addVariables(
                                    Protos.Environment.Variable.newBuilder().setName("HADOOP_CLASSPATH")
                                            .setValue("/opt/hadoop/*"))))
                    .build();
            Call call = Convert.accept(fw1,
                    Collections.singletonList(Protos.OfferID.newBuilder().setValue("offer-1").build()),
                    Collections.singletonList(Convert.launchOperation(Collections.singletonList(task))),
                    Protos.Filters.newBuilder().setRefuseSeconds(2).build());
            Map<String, Object> expected = obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"ACCEPT\","
                    + "\"accept\":{\"offer_ids\":[{\"value\":\"offer-1\"}],\"operations\":[{\"type\":\"LAUNCH\","
                    + "\"launch\":{\"task_infos\":[{\"name\":\"taskmanager-00001\","
                    + "\"task_id\":{\"value\":\"taskmanager-00001\"},\"agent_id\":{\"value\":\"agent-7\"},"
                    + "\"resources\":[{\"name\":\"cpus\",\"type\":\"SCALAR\",\"scalar\":{\"value\":1.5},\"role\":\"*\"},"
                    + "{\"name\":\"ports\",\"type\":\"RANGES\",\"ranges\":{\"range\":[{\"begin\":31000,\"end\":31001}]}}],"
                    + "\"command\":{\"uris\":[{\"value\":\"http://artifacts:8088/flink.tgz\",\"extract\":true,"
                    + "\"cache\":false}],\"environment\":{\"variables\":[{\"name\":\"HADOOP_CLASSPATH\","
                    + "\"value\":\"/opt/hadoop/*\"}]},\"value\":\"$FLINK_HOME/bin/mesos-taskmanager.sh\"}}]}}],"
                    + "\"filters\":{\"refuse_seconds\":2.0}}}");
            eq(expected, json(call), "ACCEPT JSON");
            String text = Convert.toJson(call);
            isTrue(!text.contains("slave"), "no v0 name left in " + text);
        });
        c.run("convert.decline_with_filters", () -> {
            Protos.OfferID o2 = Protos.OfferID.newBuilder().setValue("offer-2").build();
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"DECLINE\",\"decline\":{\"offer_ids\":"
                            + "[{\"value\":\"offer-2\"}],\"filters\":{\"refuse_seconds\":5.0}}}"),
                    json(Convert.decline(fw1, o2, Protos.Filters.newBuilder().setRefuseSeconds(5).build())),
                    "DECLINE with filters");
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"DECLINE\",\"decline\":{\"offer_ids\":"
                            + "[{\"value\":\"offer-2\"}],\"filters\":{}}}"),
                    json(Convert.decline(fw1, o2, Protos.Filters.newBuilder().build())),
                    "declineOffer(offerId) sends empty filters, like libmesos");
        });
        c.run("convert.kill", () -> eq(
                obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"KILL\",\"kill\":{\"task_id\":{\"value\":\"t-9\"}}}"),
                json(Convert.kill(fw1, Protos.TaskID.newBuilder().setValue("t-9").build())), "KILL"));
        c.run("convert.acknowledge", () -> eq(
                obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"ACKNOWLEDGE\",\"acknowledge\":{"
                        + "\"agent_id\":{\"value\":\"agent-7\"},\"task_id\":{\"value\":\"t-9\"},\"uuid\":\""
                        + UUID4_B64 + "\"}}"),
                json(Convert.acknowledge(fw1, Protos.SlaveID.newBuilder().setValue("agent-7").build(),
                        Protos.TaskID.newBuilder().setValue("t-9").build(), ByteString.copyFrom(UUID4))),
                "ACKNOWLEDGE with base64 uuid"));
        c.run("convert.reconcile", () -> {
            List<Protos.TaskStatus> statuses = Arrays.asList(
                    Protos.TaskStatus.newBuilder().setTaskId(Protos.TaskID.newBuilder().setValue("a"))
                            .setSlaveId(Protos.SlaveID.newBuilder().setValue("s1"))
                            .setState(Protos.TaskState.TASK_RUNNING).build(),
                    Protos.TaskStatus.newBuilder().setTaskId(Protos.TaskID.newBuilder().setValue("b"))
                            .setState(Protos.TaskState.TASK_STAGING).build());
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"RECONCILE\",\"reconcile\":{\"tasks\":["
                            + "{\"task_id\":{\"value\":\"a\"},\"agent_id\":{\"value\":\"s1\"}},"
                            + "{\"task_id\":{\"value\":\"b\"}}]}}"),
                    json(Convert.reconcile(fw1, statuses)), "RECONCILE of two tasks");
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"RECONCILE\",\"reconcile\":{}}"),
                    json(Convert.reconcile(fw1, Collections.emptyList())), "implicit reconciliation");
        });
        c.run("convert.subscribe_teardown_revive_suppress_message_request", () -> {
            Protos.FrameworkInfo info = Protos.FrameworkInfo.newBuilder().setUser("flink").setName("Flink")
                    .setFailoverTimeout(604800).setRole("analytics").setCheckpoint(true).setPrincipal("flink")
                    .setHostname("jm.example").setWebuiUrl("http://jm.example:8081").build();
            eq(obj("{\"type\":\"SUBSCRIBE\",\"subscribe\":{\"framework_info\":{\"user\":\"flink\",\"name\":\"Flink\","
                            + "\"failover_timeout\":604800.0,\"checkpoint\":true,\"role\":\"analytics\","
                            + "\"hostname\":\"jm.example\",\"principal\":\"flink\",\"webui_url\":\"http://jm.example:8081\"}}}"),
                    json(Convert.subscribe(info, null, Collections.emptyList())), "first SUBSCRIBE: no id anywhere");
            Map<String, Object> again = json(Convert.subscribe(info, fw1, Collections.singletonList("analytics")));
            eq(obj("{\"value\":\"fw-1\"}"), again.get("framework_id"), "re-SUBSCRIBE: top-level framework_id");
            Map<?, ?> sub = (Map<?, ?>) again.get("subscribe");
            eq(obj("{\"value\":\"fw-1\"}"), ((Map<?, ?>) sub.get("framework_info")).get("id"), "framework_info.id");
            eq(Collections.singletonList("analytics"), sub.get("suppressed_roles"), "suppressed_roles");
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"TEARDOWN\"}"), json(Convert.teardown(fw1)), "TEARDOWN");
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"REVIVE\"}"), json(Convert.revive(fw1, null)), "REVIVE");
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"SUPPRESS\"}"), json(Convert.suppress(fw1, null)),
                    "SUPPRESS");
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"MESSAGE\",\"message\":{\"agent_id\":{\"value\":\"s1\"},"
                            + "\"executor_id\":{\"value\":\"e1\"},\"data\":\"aGk=\"}}"),
                    json(Convert.message(fw1, Protos.SlaveID.newBuilder().setValue("s1").build(),
                            Protos.ExecutorID.newBuilder().setValue("e1").build(), utf8("hi"))), "MESSAGE");
            eq(obj("{\"framework_id\":{\"value\":\"fw-1\"},\"type\":\"REQUEST\",\"request\":{\"requests\":[{"
                            + "\"agent_id\":{\"value\":\"s1\"},\"resources\":[{\"name\":\"mem\",\"type\":\"SCALAR\","
                            + "\"scalar\":{\"value\":128.0}}]}]}}"),
                    json(Convert.request(fw1, Collections.singletonList(Protos.Request.newBuilder()
                            .setSlaveId(Protos.SlaveID.newBuilder().setValue("s1"))
                            .addResources(Protos.Resource.newBuilder().setName("mem").setType(Protos.Value.Type.SCALAR)
                                    .setScalar(Protos.Value.Scalar.newBuilder().setValue(128))).build()))), "REQUEST");
        });

        // ------------------------------------------------------------------ v1 events -> v0
        c.run("convert.offers_event", () -> {
            String event = "{\"type\":\"OFFERS\",\"offers\":{\"offers\":[{"
                    + "\"id\":{\"value\":\"offer-1\"},\"framework_id\":{\"value\":\"fw-1\"},"
                    + "\"agent_id\":{\"value\":\"agent-1\"},\"hostname\":\"agent1.example\","
                    + "\"url\":{\"scheme\":\"http\",\"address\":{\"hostname\":\"agent1.example\",\"ip\":\"10.0.0.5\","
                    + "\"port\":5051},\"path\":\"/slave(1)\"},"
                    + "\"resources\":[{\"name\":\"cpus\",\"type\":\"SCALAR\",\"scalar\":{\"value\":4},\"role\":\"*\","
                    + "\"allocation_info\":{\"role\":\"*\"}},"
                    + "{\"name\":\"mem\",\"type\":\"SCALAR\",\"scalar\":{\"value\":\"2048.5\"},"
                    + "\"allocation_info\":{\"role\":\"*\"}},"
                    + "{\"name\":\"ports\",\"type\":\"RANGES\",\"ranges\":{\"range\":[{\"begin\":\"31000\",\"end\":32000}]},"
                    + "\"allocation_info\":{\"role\":\"*\"},\"limits_from_mesos_1_11\":{\"ignored\":true}}],"
                    + "\"attributes\":[{\"name\":\"rack\",\"type\":\"TEXT\",\"text\":{\"value\":\"r1\"}},"
                    + "{\"name\":\"level\",\"type\":\"SCALAR\",\"scalar\":{\"value\":2}}],"
                    + "\"executor_ids\":[],\"allocation_info\":{\"role\":\"*\"},"
                    + "\"a_field_newer_than_1_7\":[1,2,3]}]}}";
            Event e = Convert.parseEvent(utf8(event));
            eq(Event.Type.OFFERS, e.getType(), "event type");
            List<Protos.Offer> offers = Convert.offers(e.getOffers());
            eq(1, offers.size(), "offers");
            Protos.Offer o = offers.get(0);
            eq("offer-1", o.getId().getValue(), "offer id");
            eq("fw-1", o.getFrameworkId().getValue(), "framework id");
            eq("agent-1", o.getSlaveId().getValue(), "agent_id became slave_id");
            eq("agent1.example", o.getHostname(), "hostname");
            eq("10.0.0.5", o.getUrl().getAddress().getIp(), "url.address.ip");
            eq(3, o.getResourcesCount(), "resources");
            eq(4.0, o.getResources(0).getScalar().getValue(), "cpus");
            eq(2048.5, o.getResources(1).getScalar().getValue(), "mem given as a numeric string");
            eq(31000L, o.getResources(2).getRanges().getRange(0).getBegin(), "range begin given as a string");
            eq(32000L, o.getResources(2).getRanges().getRange(0).getEnd(), "range end");
            eq("*", o.getResources(0).getAllocationInfo().getRole(), "resource allocation_info");
            eq("*", o.getAllocationInfo().getRole(), "offer allocation_info");
            eq(2, o.getAttributesCount(), "attributes");
            eq("rack", o.getAttributes(0).getName(), "attribute 1 name");
            eq(Protos.Value.Type.TEXT, o.getAttributes(0).getType(), "attribute 1 type");
            eq("r1", o.getAttributes(0).getText().getValue(), "attribute 1 value");
            eq(2.0, o.getAttributes(1).getScalar().getValue(), "attribute 2 value");
        });
        c.run("convert.update_event", () -> {
            String event = "{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":{\"value\":\"tm-1\"},"
                    + "\"state\":\"TASK_FAILED\",\"source\":\"SOURCE_AGENT\",\"reason\":\"REASON_AGENT_REMOVED\","
                    + "\"message\":\"agent gone\",\"agent_id\":{\"value\":\"agent-1\"},"
                    + "\"executor_id\":{\"value\":\"ex-1\"},\"uuid\":\"" + UUID4_B64 + "\","
                    + "\"timestamp\":1602547200.5,\"healthy\":false,\"data\":\"aGk=\"}}}";
            Event e = Convert.parseEvent(utf8(event));
            Protos.TaskStatus s = Convert.v0(e.getUpdate().getStatus());
            eq("tm-1", s.getTaskId().getValue(), "task id");
            eq(Protos.TaskState.TASK_FAILED, s.getState(), "state");
            eq(Protos.TaskStatus.Source.SOURCE_SLAVE, s.getSource(), "SOURCE_AGENT is v0 SOURCE_SLAVE");
            eq(Protos.TaskStatus.Reason.REASON_SLAVE_REMOVED, s.getReason(), "REASON_AGENT_REMOVED is REASON_SLAVE_REMOVED");
            eq("agent gone", s.getMessage(), "message");
            eq("agent-1", s.getSlaveId().getValue(), "agent_id became slave_id");
            eq("ex-1", s.getExecutorId().getValue(), "executor id");
            eq(ByteString.copyFrom(UUID4), s.getUuid(), "uuid bytes");
            eq(1602547200.5, s.getTimestamp(), "timestamp");
            eq(false, s.getHealthy(), "healthy");
            eq("hi", s.getData().toStringUtf8(), "data");
            Protos.TaskStatus unknown = Convert.v0(Convert.parseEvent(utf8(
                    "{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":{\"value\":\"x\"},"
                            + "\"state\":\"TASK_FROM_THE_FUTURE\"}}}")).getUpdate().getStatus());
            isTrue(!unknown.hasState(), "an unknown enum name is ignored");
            raises(IllegalArgumentException.class, () -> Convert.parseEvent(utf8(
                    "{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":\"x\"}}}")), "a string for a message");
            raises(IllegalArgumentException.class, () -> Convert.parseEvent(utf8(
                    "{\"type\":\"UPDATE\",\"update\":{\"status\":{\"timestamp\":\"soon\"}}}")), "a non-numeric double");
        });
        c.run("convert.subscribed_event", () -> {
            String event = "{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw-9\"},"
                    + "\"heartbeat_interval_seconds\":15,\"master_info\":{\"id\":\"m-1\",\"ip\":\"16777343\","
                    + "\"port\":5050,\"pid\":\"master@127.0.0.1:5050\",\"hostname\":\"localhost\","
                    + "\"version\":\"1.11.0\",\"address\":{\"hostname\":\"localhost\",\"ip\":\"127.0.0.1\",\"port\":5050},"
                    + "\"capabilities\":[{\"type\":\"AGENT_UPDATE\"}]}}}";
            Event e = Convert.parseEvent(utf8(event));
            eq(Event.Type.SUBSCRIBED, e.getType(), "type");
            eq(15.0, e.getSubscribed().getHeartbeatIntervalSeconds(), "heartbeat interval");
            Protos.FrameworkID id = Convert.v0(e.getSubscribed().getFrameworkId());
            eq("fw-9", id.getValue(), "framework id");
            Protos.MasterInfo mi = Convert.v0(e.getSubscribed().getMasterInfo());
            eq("m-1", mi.getId(), "master id");
            eq(16777343, mi.getIp(), "ip (uint32 given as a string)");
            eq(5050, mi.getPort(), "port");
            eq("master@127.0.0.1:5050", mi.getPid(), "pid");
            eq("1.11.0", mi.getVersion(), "version");
            eq("127.0.0.1", mi.getAddress().getIp(), "address.ip");
            eq("localhost", mi.getAddress().getHostname(), "address.hostname");
            Protos.MasterInfo big = Convert.masterInfoFromJson(obj("{\"id\":\"m\",\"ip\":4294967295,\"port\":1}"));
            eq(-1, big.getIp(), "uint32 4294967295 keeps its bits");
            eq(4294967295L, ProtoJson.toJson(big).get("ip"), "and prints unsigned");
        });
        c.run("convert.other_events", () -> {
            Event m = Convert.parseEvent(utf8("{\"type\":\"MESSAGE\",\"message\":{\"agent_id\":{\"value\":\"a\"},"
                    + "\"executor_id\":{\"value\":\"e\"},\"data\":\"AAH+/w==\"}}"));
            eq(ByteString.copyFrom(UUID4), m.getMessage().getData(), "MESSAGE data");
            eq("a", Convert.v0(m.getMessage().getAgentId()).getValue(), "MESSAGE agent");
            Event f = Convert.parseEvent(utf8("{\"type\":\"FAILURE\",\"failure\":{\"agent_id\":{\"value\":\"a\"},"
                    + "\"executor_id\":{\"value\":\"e\"},\"status\":256}}"));
            eq(256, f.getFailure().getStatus(), "FAILURE status");
            Event r = Convert.parseEvent(utf8("{\"type\":\"RESCIND\",\"rescind\":{\"offer_id\":{\"value\":\"o\"}}}"));
            eq("o", Convert.v0(r.getRescind().getOfferId()).getValue(), "RESCIND offer");
            Event err = Convert.parseEvent(utf8("{\"type\":\"ERROR\",\"error\":{\"message\":\"Framework has been removed\"}}"));
            eq("Framework has been removed", err.getError().getMessage(), "ERROR message");
            eq(Event.Type.HEARTBEAT, Convert.parseEvent(utf8("{\"type\":\"HEARTBEAT\"}")).getType(), "HEARTBEAT");
            eq(Event.Type.UPDATE_OPERATION_STATUS, Convert.parseEvent(utf8(
                    "{\"type\":\"UPDATE_OPERATION_STATUS\",\"update_operation_status\":{\"status\":{"
                            + "\"state\":\"OPERATION_FINISHED\"}}}")).getType(), "UPDATE_OPERATION_STATUS");
        });
        c.run("convert.master_disconnected_updates", () -> {
            Protos.TaskInfo t = Protos.TaskInfo.newBuilder().setName("t").setTaskId(Protos.TaskID.newBuilder().setValue("t-3"))
                    .setSlaveId(Protos.SlaveID.newBuilder().setValue("a")).build();
            List<Protos.Offer.Operation> ops = Collections.singletonList(Convert.launchOperation(Collections.singletonList(t)));
            Protos.TaskStatus lost = Convert.masterDisconnectedUpdates(
                    Protos.FrameworkInfo.newBuilder().setUser("u").setName("n").build(), ops).get(0);
            eq(Protos.TaskState.TASK_LOST, lost.getState(), "TASK_LOST");
            eq(Protos.TaskStatus.Reason.REASON_MASTER_DISCONNECTED, lost.getReason(), "reason");
            eq(Protos.TaskStatus.Source.SOURCE_MASTER, lost.getSource(), "source");
            eq("Master disconnected", lost.getMessage(), "message");
            isTrue(!lost.hasUuid(), "no uuid: never acknowledged");
            Protos.TaskStatus dropped = Convert.masterDisconnectedUpdates(Protos.FrameworkInfo.newBuilder().setUser("u")
                    .setName("n").addCapabilities(Protos.FrameworkInfo.Capability.newBuilder()
                            .setType(Protos.FrameworkInfo.Capability.Type.PARTITION_AWARE)).build(), ops).get(0);
            eq(Protos.TaskState.TASK_DROPPED, dropped.getState(), "partition-aware frameworks get TASK_DROPPED");
        });

        // ------------------------------------------------------------------ master URLs
        c.run("masterurl.host_port", () -> {
            MasterUrl u = MasterUrl.parse("10.0.0.1:5050");
            eq(MasterUrl.Kind.STATIC, u.kind, "kind");
            eq("10.0.0.1", u.host, "host");
            eq(5050, u.port, "port");
            MasterUrl h = MasterUrl.parse("http://master.example:5051/");
            eq("master.example", h.host, "http:// host");
            eq(5051, h.port, "http:// port");
            eq("10.0.0.2", MasterUrl.parse("master@10.0.0.2:5050").host, "UPID form");
            for (String bad : new String[] {"localhost", "host:", "host:abc", "host:70000", "https://m:5050",
                    "http://m:5050/master", ":5050", ""}) {
                raises(IllegalArgumentException.class, () -> MasterUrl.parse(bad), "bad master URL '" + bad + "'");
            }
        });
        c.run("masterurl.zk", () -> {
            MasterUrl z = MasterUrl.parse("zk://alice:s3cr@t@zk1:2181,zk2:2182,zk3.example:2183/mesos/prod");
            eq(MasterUrl.Kind.ZOOKEEPER, z.kind, "kind");
            eq("zk1:2181,zk2:2182,zk3.example:2183", z.zkServers, "servers");
            eq(Arrays.asList("zk1:2181", "zk2:2182", "zk3.example:2183"), z.zkServerList(), "server list");
            eq("/mesos/prod", z.zkPath, "path");
            eq("alice:s3cr@t", z.zkCredentials, "credentials end at the last '@'");
            eq("zk://alice:***@zk1:2181,zk2:2182,zk3.example:2183/mesos/prod", z.redacted(), "password masked");
            MasterUrl plain = MasterUrl.parse("zk://zk1:2181/mesos");
            eq(null, plain.zkCredentials, "no credentials");
            eq("/mesos", plain.zkPath, "path");
            eq("/", MasterUrl.parse("zk://zk1:2181").zkPath, "path defaults to /");
            raises(IllegalArgumentException.class, () -> MasterUrl.parse("zk:///mesos"), "no server");
            raises(IllegalArgumentException.class, () -> MasterUrl.parse("zk://zk1/mesos"), "server without port");
            raises(IllegalArgumentException.class, () -> MasterUrl.parse("zk://alice@zk1:2181/mesos"),
                    "credentials without password");
            eq("zk://bob:***@h:1/m", StandinDriver.redact("zk://bob:pw@h:1/m"), "log redaction");
        });
        c.run("masterurl.file", () -> {
            Path zkFile = Files.createTempFile("mesos-zk", ".txt");
            Path hpFile = Files.createTempFile("mesos-master", ".txt");
            Path loop = Files.createTempFile("mesos-loop", ".txt");
            try {
                Files.write(zkFile, utf8("zk://zk1:2181,zk2:2181/mesos\n"));
                Files.write(hpFile, utf8("  m1.example:5050 \n"));
                Files.write(loop, utf8("file://" + zkFile));
                MasterUrl z = MasterUrl.parse("file://" + zkFile);
                eq(MasterUrl.Kind.ZOOKEEPER, z.kind, "file holding a zk:// URL");
                eq("zk1:2181,zk2:2181", z.zkServers, "servers from the file");
                eq("/mesos", z.zkPath, "path from the file");
                MasterUrl h = MasterUrl.parse("file://" + hpFile);
                eq("m1.example", h.host, "file holding host:port");
                eq(5050, h.port, "port from the file");
                raises(IllegalArgumentException.class, () -> MasterUrl.parse("file://" + loop), "file naming a file");
                raises(IllegalArgumentException.class, () -> MasterUrl.parse("file:///nonexistent/mesos-master"),
                        "missing file");
            } finally {
                Files.deleteIfExists(zkFile);
                Files.deleteIfExists(hpFile);
                Files.deleteIfExists(loop);
            }
        });
        c.run("masterinfo.address", () -> {
            DetectedMaster full = DetectedMaster.fromMasterInfo(obj("{\"id\":\"m1\",\"hostname\":\"top\",\"port\":5050,"
                    + "\"address\":{\"hostname\":\"m1.example\",\"ip\":\"10.1.2.3\",\"port\":5051}}"));
            eq("10.1.2.3:5051 (master m1)", full.toString(), "address.ip and address.port first");
            eq("m1.example", DetectedMaster.fromMasterInfo(obj("{\"address\":{\"hostname\":\"m1.example\",\"port\":5051}}")).host,
                    "address.hostname without address.ip");
            DetectedMaster top = DetectedMaster.fromMasterInfo(obj("{\"hostname\":\"m2\",\"port\":5052}"));
            eq("m2", top.host, "top-level hostname");
            eq(5052, top.port, "top-level port");
            DetectedMaster packed = DetectedMaster.fromMasterInfo(obj("{\"ip\":16777343,\"port\":\"5053\"}"));
            eq("127.0.0.1", packed.host, "packed little-endian ip");
            eq(5053, packed.port, "port as a string");
            DetectedMaster pid = DetectedMaster.fromMasterInfo(obj("{\"pid\":\"master@10.9.8.7:5055\"}"));
            eq("10.9.8.7", pid.host, "pid host");
            eq(5055, pid.port, "pid port");
            raises(IllegalArgumentException.class, () -> DetectedMaster.fromMasterInfo(obj("{\"id\":\"x\"}")), "no address");
            isTrue(full.sameAs(DetectedMaster.fromMasterInfo(obj("{\"id\":\"m1\",\"address\":{\"ip\":\"10.1.2.3\","
                    + "\"port\":5051}}"))), "same master");
            isTrue(!full.sameAs(DetectedMaster.fromMasterInfo(obj("{\"id\":\"m9\",\"address\":{\"ip\":\"10.1.2.3\","
                    + "\"port\":5051}}"))), "another master id at the same address (restarted master)");
        });
        c.run("zk.contenders_order", () -> eq(
                Arrays.asList("json.info_0000000002", "json.info_0000000010", "json.info_0000000100"),
                ZooKeeperMasterDetector.contenders(Arrays.asList("log_replicas", "json.info_0000000100",
                        "info_0000000001", "json.info_0000000002", "json.info_0000000010")),
                "json.info_ children by sequence number"));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
