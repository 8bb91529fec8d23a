/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.apache.flink.mesos.shaded.com.google.protobuf.ByteString;
import org.apache.mesos.Protos;
import org.apache.mesos.v1.scheduler.Protos.Call;
import org.apache.mesos.v1.scheduler.Protos.Event;

/**
 * Builds the Mesos v1 scheduler {@code Call}s the driver sends from the v0 messages Flink hands over,
 * and turns v1 {@code Event}s back into the v0 messages the v0 {@code Scheduler} callbacks take.
 *
 * <p>The calls are filled exactly like libmesos 1.11 fills them in {@code src/sched/sched.cpp}
 * (e.g. {@code Accept.filters} and {@code Decline.filters} always present, {@code Kill} with the task id
 * only, {@code Reconcile.Task.agent_id} only when the status has a {@code slave_id}).
 */
public final class Convert {

    private Convert() {
    }

    // ----------------------------------------------------------------------------------------------
    // v0 -> v1 messages
    // ----------------------------------------------------------------------------------------------

    public static org.apache.mesos.v1.Protos.FrameworkID v1(Protos.FrameworkID id) {
        return ProtoJson.evolve(id, org.apache.mesos.v1.Protos.FrameworkID.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.FrameworkInfo v1(Protos.FrameworkInfo info) {
        return ProtoJson.evolve(info, org.apache.mesos.v1.Protos.FrameworkInfo.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.OfferID v1(Protos.OfferID id) {
        return ProtoJson.evolve(id, org.apache.mesos.v1.Protos.OfferID.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.Offer.Operation v1(Protos.Offer.Operation operation) {
        return ProtoJson.evolve(operation, org.apache.mesos.v1.Protos.Offer.Operation.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.Filters v1(Protos.Filters filters) {
        return ProtoJson.evolve(filters, org.apache.mesos.v1.Protos.Filters.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.TaskID v1(Protos.TaskID id) {
        return ProtoJson.evolve(id, org.apache.mesos.v1.Protos.TaskID.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.AgentID v1(Protos.SlaveID id) {
        return ProtoJson.evolve(id, org.apache.mesos.v1.Protos.AgentID.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.ExecutorID v1(Protos.ExecutorID id) {
        return ProtoJson.evolve(id, org.apache.mesos.v1.Protos.ExecutorID.newBuilder());
    }

    public static org.apache.mesos.v1.Protos.Request v1(Protos.Request request) {
        return ProtoJson.evolve(request, org.apache.mesos.v1.Protos.Request.newBuilder());
    }

    // ----------------------------------------------------------------------------------------------
    // Calls
    // ----------------------------------------------------------------------------------------------

    private static Call.Builder call(Call.Type type, Protos.FrameworkID frameworkId) {
        Call.Builder b = Call.newBuilder().setType(type);
        if (frameworkId != null && !frameworkId.getValue().isEmpty()) {
            b.setFrameworkId(v1(frameworkId));
        }
        return b;
    }

    /**
     * SUBSCRIBE. When the framework id is known (assigned earlier, or given in FrameworkInfo for a
     * failover) it is set both in {@code framework_info.id} and in the top-level {@code framework_id}, as
     * the master requires for a re-subscription.
     */
    public static Call subscribe(Protos.FrameworkInfo framework, Protos.FrameworkID frameworkId,
                                 Collection<String> suppressedRoles) {
        Protos.FrameworkInfo info = framework;
        boolean hasId = frameworkId != null && !frameworkId.getValue().isEmpty();
        if (hasId) {
            info = framework.toBuilder().setId(frameworkId).buildPartial();
        } else if (framework.hasId() && framework.getId().getValue().isEmpty()) {
            info = framework.toBuilder().clearId().buildPartial();
        }
        Call.Subscribe.Builder subscribe = Call.Subscribe.newBuilder().setFrameworkInfo(v1(info));
        if (suppressedRoles != null) {
            subscribe.addAllSuppressedRoles(suppressedRoles);
        }
        return call(Call.Type.SUBSCRIBE, hasId ? frameworkId : null).setSubscribe(subscribe).buildPartial();
    }

    public static Call teardown(Protos.FrameworkID frameworkId) {
        return call(Call.Type.TEARDOWN, frameworkId).buildPartial();
    }

    public static Call accept(Protos.FrameworkID frameworkId, Collection<Protos.OfferID> offerIds,
                              Collection<Protos.Offer.Operation> operations, Protos.Filters filters) {
        Call.Accept.Builder accept = Call.Accept.newBuilder();
        for (Protos.OfferID id : offerIds) {
            accept.addOfferIds(v1(id));
        }
        for (Protos.Offer.Operation operation : operations) {
            accept.addOperations(v1(operation));
        }
        accept.setFilters(v1(filters != null ? filters : Protos.Filters.getDefaultInstance()));
        return call(Call.Type.ACCEPT, frameworkId).setAccept(accept).buildPartial();
    }

    /** launchTasks() is an ACCEPT with one LAUNCH operation (sched.cpp launchTasks). */
    public static Protos.Offer.Operation launchOperation(Collection<Protos.TaskInfo> tasks) {
        return Protos.Offer.Operation.newBuilder()
                .setType(Protos.Offer.Operation.Type.LAUNCH)
                .setLaunch(Protos.Offer.Operation.Launch.newBuilder().addAllTaskInfos(tasks))
                .buildPartial();
    }

    public static Call decline(Protos.FrameworkID frameworkId, Protos.OfferID offerId, Protos.Filters filters) {
        Call.Decline.Builder decline = Call.Decline.newBuilder()
                .addOfferIds(v1(offerId))
                .setFilters(v1(filters != null ? filters : Protos.Filters.getDefaultInstance()));
        return call(Call.Type.DECLINE, frameworkId).setDecline(decline).buildPartial();
    }

    public static Call kill(Protos.FrameworkID frameworkId, Protos.TaskID taskId) {
        return call(Call.Type.KILL, frameworkId)
                .setKill(Call.Kill.newBuilder().setTaskId(v1(taskId))).buildPartial();
    }

    public static Call acknowledge(Protos.FrameworkID frameworkId, Protos.SlaveID slaveId, Protos.TaskID taskId,
                                   ByteString uuid) {
        return call(Call.Type.ACKNOWLEDGE, frameworkId)
                .setAcknowledge(Call.Acknowledge.newBuilder()
                        .setAgentId(v1(slaveId)).setTaskId(v1(taskId)).setUuid(uuid))
                .buildPartial();
    }

    public static Call reconcile(Protos.FrameworkID frameworkId, Collection<Protos.TaskStatus> statuses) {
        Call.Reconcile.Builder reconcile = Call.Reconcile.newBuilder();
        for (Protos.TaskStatus status : statuses) {
            Call.Reconcile.Task.Builder task = Call.Reconcile.Task.newBuilder().setTaskId(v1(status.getTaskId()));
            if (status.hasSlaveId()) {
                task.setAgentId(v1(status.getSlaveId()));
            }
            reconcile.addTasks(task);
        }
        return call(Call.Type.RECONCILE, frameworkId).setReconcile(reconcile).buildPartial();
    }

    public static Call revive(Protos.FrameworkID frameworkId, Collection<String> roles) {
        Call.Builder b = call(Call.Type.REVIVE, frameworkId);
        if (roles != null && !roles.isEmpty()) {
            b.setRevive(Call.Revive.newBuilder().addAllRoles(roles));
        }
        return b.buildPartial();
    }

    public static Call suppress(Protos.FrameworkID frameworkId, Collection<String> roles) {
        Call.Builder b = call(Call.Type.SUPPRESS, frameworkId);
        if (roles != null && !roles.isEmpty()) {
            b.setSuppress(Call.Suppress.newBuilder().addAllRoles(roles));
        }
        return b.buildPartial();
    }

    public static Call message(Protos.FrameworkID frameworkId, Protos.SlaveID slaveId, Protos.ExecutorID executorId,
                               byte[] data) {
        return call(Call.Type.MESSAGE, frameworkId)
                .setMessage(Call.Message.newBuilder()
                        .setAgentId(v1(slaveId)).setExecutorId(v1(executorId))
                        .setData(ByteString.copyFrom(data != null ? data : new byte[0])))
                .buildPartial();
    }

    public static Call request(Protos.FrameworkID frameworkId, Collection<Protos.Request> requests) {
        Call.Request.Builder request = Call.Request.newBuilder();
        for (Protos.Request r : requests) {
            request.addRequests(v1(r));
        }
        return call(Call.Type.REQUEST, frameworkId).setRequest(request).buildPartial();
    }

    /** The JSON body of a call. */
    public static String toJson(Call call) {
        return ProtoJson.toJsonString(call);
    }

    // ----------------------------------------------------------------------------------------------
    // Events (v1 JSON -> v1 Event -> v0 messages)
    // ----------------------------------------------------------------------------------------------

    /** Parses one RecordIO record of the subscription stream. */
    public static Event parseEvent(byte[] json) {
        return ProtoJson.merge(Json.parseObject(json), Event.newBuilder()).buildPartial();
    }

    public static List<Protos.Offer> offers(Event.Offers offers) {
        List<Protos.Offer> out = new ArrayList<>(offers.getOffersCount());
        for (org.apache.mesos.v1.Protos.Offer offer : offers.getOffersList()) {
            out.add(ProtoJson.evolve(offer, Protos.Offer.newBuilder()));
        }
        return out;
    }

    public static Protos.OfferID v0(org.apache.mesos.v1.Protos.OfferID id) {
        return ProtoJson.evolve(id, Protos.OfferID.newBuilder());
    }

    public static Protos.TaskStatus v0(org.apache.mesos.v1.Protos.TaskStatus status) {
        return ProtoJson.evolve(status, Protos.TaskStatus.newBuilder());
    }

    public static Protos.FrameworkID v0(org.apache.mesos.v1.Protos.FrameworkID id) {
        return ProtoJson.evolve(id, Protos.FrameworkID.newBuilder());
    }

    public static Protos.MasterInfo v0(org.apache.mesos.v1.Protos.MasterInfo info) {
        return ProtoJson.evolve(info, Protos.MasterInfo.newBuilder());
    }

    public static Protos.SlaveID v0(org.apache.mesos.v1.Protos.AgentID id) {
        return ProtoJson.evolve(id, Protos.SlaveID.newBuilder());
    }

    public static Protos.ExecutorID v0(org.apache.mesos.v1.Protos.ExecutorID id) {
        return ProtoJson.evolve(id, Protos.ExecutorID.newBuilder());
    }

    /** MasterInfo JSON (as published in ZooKeeper, or any v1 MasterInfo JSON) as a v0 MasterInfo. */
    public static Protos.MasterInfo masterInfoFromJson(Map<String, Object> json) {
        return v0(ProtoJson.merge(json, org.apache.mesos.v1.Protos.MasterInfo.newBuilder()).buildPartial());
    }

    /**
     * A MasterInfo for a master known only by host and port (e.g. {@code --master=host:port} and a
     * SUBSCRIBED event without {@code master_info}).
     */
    public static Protos.MasterInfo syntheticMasterInfo(String host, int port) {
        Protos.MasterInfo.Builder b = Protos.MasterInfo.newBuilder().setId("").setPort(port).setHostname(host);
        Protos.Address.Builder address = Protos.Address.newBuilder().setHostname(host).setPort(port);
        int ip = 0;
        try {
            byte[] raw = InetAddress.getByName(host).getAddress();
            if (raw.length == 4) {
                // MasterInfo.ip is the IPv4 address in network byte order read as a little-endian uint32.
                ip = (raw[0] & 0xff) | (raw[1] & 0xff) << 8 | (raw[2] & 0xff) << 16 | (raw[3] & 0xff) << 24;
                address.setIp((raw[0] & 0xff) + "." + (raw[1] & 0xff) + "." + (raw[2] & 0xff) + "." + (raw[3] & 0xff));
            }
        } catch (UnknownHostException e) {
            // unresolvable: leave ip 0
        }
        b.setIp(ip).setAddress(address);
        b.setPid("master@" + (address.hasIp() ? address.getIp() : host) + ":" + port);
        return b.buildPartial();
    }

    /**
     * The status update libmesos synthesises for each task of a LAUNCH while the master is disconnected
     * (sched.cpp acceptOffers): TASK_LOST (TASK_DROPPED for PARTITION_AWARE frameworks), SOURCE_MASTER,
     * REASON_MASTER_DISCONNECTED, "Master disconnected", no uuid (so never acknowledged).
     */
    public static List<Protos.TaskStatus> masterDisconnectedUpdates(Protos.FrameworkInfo framework,
                                                                    Collection<Protos.Offer.Operation> operations) {
        boolean partitionAware = false;
        for (Protos.FrameworkInfo.Capability c : framework.getCapabilitiesList()) {
            if (c.getType() == Protos.FrameworkInfo.Capability.Type.PARTITION_AWARE) {
                partitionAware = true;
            }
        }
        Protos.TaskState state = partitionAware ? Protos.TaskState.TASK_DROPPED : Protos.TaskState.TASK_LOST;
        List<Protos.TaskStatus> out = new ArrayList<>();
        double now = System.currentTimeMillis() / 1000.0;
        for (Protos.Offer.Operation operation : operations) {
            if (operation.getType() != Protos.Offer.Operation.Type.LAUNCH) {
                continue;
            }
            for (Protos.TaskInfo task : operation.getLaunch().getTaskInfosList()) {
                out.add(Protos.TaskStatus.newBuilder()
                        .setTaskId(task.getTaskId())
                        .setState(state)
                        .setSource(Protos.TaskStatus.Source.SOURCE_MASTER)
                        .setMessage("Master disconnected")
                        .setReason(Protos.TaskStatus.Reason.REASON_MASTER_DISCONNECTED)
                        .setTimestamp(now)
                        .buildPartial());
            }
        }
        return out;
    }
}
