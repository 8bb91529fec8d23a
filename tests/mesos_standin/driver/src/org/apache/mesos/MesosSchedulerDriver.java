/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness
 * (tests/mesos_standin/driver). It replaces the JNI class of the same name that Flink 1.13 bundles
 * (org.apache.mesos:mesos:1.7.0 inside flink-dist) when its jar comes first on the classpath.
 */
package org.apache.mesos;

import java.util.Collection;

import org.apache.mesos.Protos.Credential;
import org.apache.mesos.Protos.ExecutorID;
import org.apache.mesos.Protos.Filters;
import org.apache.mesos.Protos.FrameworkInfo;
import org.apache.mesos.Protos.OfferID;
import org.apache.mesos.Protos.Request;
import org.apache.mesos.Protos.SlaveID;
import org.apache.mesos.Protos.Status;
import org.apache.mesos.Protos.TaskID;
import org.apache.mesos.Protos.TaskInfo;
import org.apache.mesos.Protos.TaskStatus;
import org.apache.mesos.standin.StandinDriver;

/**
 * TEST-ONLY STAND-IN for libmesos' {@code MesosSchedulerDriver}: the same public constructors and
 * {@link SchedulerDriver} methods, implemented in pure Java over the Mesos v1 scheduler HTTP API instead
 * of JNI (no {@code MesosNativeLibrary.load()}, no libmesos.so). See tests/mesos_standin/driver/README.md.
 *
 * <p>The master may be {@code host:port}, {@code zk://host1:port1,host2:port2,.../path},
 * {@code zk://username:password@host1:port1,.../path} or {@code file:///path/to/file} (where the file
 * contains one of the above). The driver "fails over" (re-subscribes with the framework id) when the
 * FrameworkInfo carries an id. The driver is thread-safe; all Scheduler callbacks come, one at a time,
 * from a single driver thread.
 */
public class MesosSchedulerDriver implements SchedulerDriver {

    private final StandinDriver impl;

    public MesosSchedulerDriver(Scheduler scheduler, FrameworkInfo framework, String master) {
        this(scheduler, framework, master, true, null, false);
    }

    public MesosSchedulerDriver(Scheduler scheduler, FrameworkInfo framework, String master, Credential credential) {
        this(scheduler, framework, master, true, credential, true);
    }

    public MesosSchedulerDriver(Scheduler scheduler, FrameworkInfo framework, String master,
                                boolean implicitAcknowledgements) {
        this(scheduler, framework, master, implicitAcknowledgements, null, false);
    }

    public MesosSchedulerDriver(Scheduler scheduler, FrameworkInfo framework, String master,
                                boolean implicitAcknowledgements, Credential credential) {
        this(scheduler, framework, master, implicitAcknowledgements, credential, true);
    }

    private MesosSchedulerDriver(Scheduler scheduler, FrameworkInfo framework, String master,
                                 boolean implicitAcknowledgements, Credential credential, boolean credentialRequired) {
        if (scheduler == null) {
            throw new NullPointerException("Not expecting a null Scheduler");
        }
        if (framework == null) {
            throw new NullPointerException("Not expecting a null FrameworkInfo");
        }
        if (master == null) {
            throw new NullPointerException("Not expecting a null master");
        }
        if (credentialRequired && credential == null) {
            throw new NullPointerException("Not expecting a null credential");
        }
        this.impl = new StandinDriver(this, scheduler, framework, master, implicitAcknowledgements, credential);
    }

    @Override
    public Status start() {
        return impl.start();
    }

    @Override
    public Status stop(boolean failover) {
        return impl.stop(failover);
    }

    @Override
    public Status stop() {
        return stop(false);
    }

    @Override
    public Status abort() {
        return impl.abort();
    }

    @Override
    public Status join() {
        return impl.join();
    }

    @Override
    public Status run() {
        return impl.run();
    }

    @Override
    public Status requestResources(Collection<Request> requests) {
        return impl.requestResources(requests);
    }

    @Override
    public Status launchTasks(Collection<OfferID> offerIds, Collection<TaskInfo> tasks, Filters filters) {
        return impl.launchTasks(offerIds, tasks, filters);
    }

    @Override
    public Status launchTasks(Collection<OfferID> offerIds, Collection<TaskInfo> tasks) {
        return launchTasks(offerIds, tasks, Filters.newBuilder().build());
    }

    @Override
    @Deprecated
    public Status launchTasks(OfferID offerId, Collection<TaskInfo> tasks, Filters filters) {
        return launchTasks(java.util.Collections.singletonList(offerId), tasks, filters);
    }

    @Override
    @Deprecated
    public Status launchTasks(OfferID offerId, Collection<TaskInfo> tasks) {
        return launchTasks(offerId, tasks, Filters.newBuilder().build());
    }

    @Override
    public Status killTask(TaskID taskId) {
        return impl.killTask(taskId);
    }

    @Override
    public Status acceptOffers(Collection<OfferID> offerIds, Collection<Protos.Offer.Operation> operations,
                               Filters filters) {
        return impl.acceptOffers(offerIds, operations, filters);
    }

    @Override
    public Status declineOffer(OfferID offerId, Filters filters) {
        return impl.declineOffer(offerId, filters);
    }

    @Override
    public Status declineOffer(OfferID offerId) {
        return declineOffer(offerId, Filters.newBuilder().build());
    }

    @Override
    public Status reviveOffers() {
        return impl.reviveOffers();
    }

    @Override
    public Status suppressOffers() {
        return impl.suppressOffers();
    }

    @Override
    public Status acknowledgeStatusUpdate(TaskStatus status) {
        return impl.acknowledgeStatusUpdate(status);
    }

    @Override
    public Status sendFrameworkMessage(ExecutorID executorId, SlaveID slaveId, byte[] data) {
        return impl.sendFrameworkMessage(executorId, slaveId, data);
    }

    @Override
    public Status reconcileTasks(Collection<TaskStatus> statuses) {
        return impl.reconcileTasks(statuses);
    }
}
