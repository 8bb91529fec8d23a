/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.apache.mesos.Protos;
import org.apache.mesos.Protos.Status;
import org.apache.mesos.Scheduler;
import org.apache.mesos.SchedulerDriver;
import org.apache.mesos.v1.scheduler.Protos.Call;
import org.apache.mesos.v1.scheduler.Protos.Event;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine behind the stand-in {@code org.apache.mesos.MesosSchedulerDriver}: libmesos' scheduler
 * driver semantics (src/sched/sched.cpp, Mesos 1.11) on top of the v1 scheduler HTTP API
 * (docs/scheduler-http-api.md), in pure Java.
 *
 * <p>Threads (all daemons): "subscription" detects the leader, SUBSCRIBEs and reads the RecordIO event
 * stream; "callbacks" is the one thread that runs every {@link Scheduler} callback, in event order, and
 * plays the role of libmesos' SchedulerProcess (it owns the connected/framework-id state); "calls" sends
 * the calls one at a time, in the order the scheduler made them; "detector" re-checks the leader when
 * ZooKeeper reports a change. The driver lock only guards the {@link Status} transitions and is never
 * held while a callback runs.
 */
public final class StandinDriver {

    public static final String BANNER =
            "TEST-ONLY STAND-IN MesosSchedulerDriver (pure Java, Mesos v1 scheduler HTTP API) - NOT libmesos";
    public static final String VERSION = "1.11.0";

    static final String API_PATH = "/api/v1/scheduler";
    static final int CONNECT_TIMEOUT_MS = 5_000;
    static final int CALL_READ_TIMEOUT_MS = 15_000;
    static final int SUBSCRIBE_READ_TIMEOUT_MS = 20_000;
    /** Mesos' DEFAULT_HEARTBEAT_INTERVAL, used when SUBSCRIBED does not say. */
    static final double DEFAULT_HEARTBEAT_SECONDS = 15.0;
    /** No event for this many heartbeat intervals = connection lost (docs/scheduler-http-api.md suggests 5). */
    static final int MISSED_HEARTBEATS = 5;
    static final long BACKOFF_INITIAL_MS = 1_000;
    static final long BACKOFF_MAX_MS = 10_000;
    /** stop() waits at most this long for queued calls (e.g. TEARDOWN) to go out. */
    static final long STOP_FLUSH_MS = 5_000;
    static final int MAX_REDIRECTS = 5;

    private static final Logger LOG = LoggerFactory.getLogger("org.apache.mesos.MesosSchedulerDriver");
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /** The only callback delivered although the driver is not running: start() could not begin. */
    private static final String START_ERROR = "error (start failed)";

    private final SchedulerDriver driver;
    private final Scheduler scheduler;
    private final String master;
    private final boolean implicitAcknowledgements;
    private final Protos.Credential credential;
    private final int instance = INSTANCES.incrementAndGet();

    // ---- driver state (libmesos MesosSchedulerDriver::status), guarded by 'lock' ----
    private final Object lock = new Object();
    private Status status = Status.DRIVER_NOT_STARTED;
    private boolean started;
    private final CountDownLatch latch = new CountDownLatch(1);
    /** libmesos' SchedulerProcess::running: false once stop() or abort() was called. */
    private final AtomicBoolean running = new AtomicBoolean(false);

    // ---- "process" state (libmesos SchedulerProcess), guarded by 'stateLock' ----
    private final Object stateLock = new Object();
    private Protos.FrameworkInfo framework;
    private boolean failover;
    private boolean connected;
    private Session session;
    private final Set<String> suppressedRoles = new TreeSet<>();

    // ---- machinery ----
    private ExecutorService callbacks;
    private ExecutorService sender;
    private ExecutorService detectorEvents;
    private Thread subscriptionThread;
    private MasterDetector detector;
    private final AtomicReference<Socket> streamSocket = new AtomicReference<>();
    private volatile DetectedMaster streamingFrom;
    private volatile MiniHttp.Target streamingTarget;
    /** The framework id as last seen by the subscription thread (for re-SUBSCRIBE). */
    private final AtomicReference<Protos.FrameworkID> subscribedId = new AtomicReference<>();
    private final AtomicInteger generation = new AtomicInteger();

    /** One subscription: where calls go and with which stream id. */
    static final class Session {
        final int generation;
        final String streamId;
        final MiniHttp.Target target;

        Session(int generation, String streamId, MiniHttp.Target target) {
            this.generation = generation;
            this.streamId = streamId;
            this.target = target;
        }
    }

    /** A SUBSCRIBE answer that retrying cannot fix (authentication, authorization, bad request). */
    static final class FatalSubscribeError extends Exception {
        private static final long serialVersionUID = 1L;

        FatalSubscribeError(String message) {
            super(message);
        }
    }

    public StandinDriver(SchedulerDriver driver, Scheduler scheduler, Protos.FrameworkInfo framework, String master,
                         boolean implicitAcknowledgements, Protos.Credential credential) {
        this.driver = driver;
        this.scheduler = scheduler;
        this.master = master;
        this.implicitAcknowledgements = implicitAcknowledgements;
        this.credential = credential;
        this.framework = fillMissingFrameworkInfoFields(framework);
        this.failover = framework.hasId() && !framework.getId().getValue().isEmpty();
    }

    /** sched.cpp fillMissingFrameworkInfoFields(): empty user = the OS user, empty hostname = this host. */
    static Protos.FrameworkInfo fillMissingFrameworkInfoFields(Protos.FrameworkInfo info) {
        Protos.FrameworkInfo.Builder b = info.toBuilder();
        if (info.getUser().isEmpty()) {
            b.setUser(System.getProperty("user.name", "root"));
        }
        if (info.getHostname().isEmpty()) {
            try {
                b.setHostname(InetAddress.getLocalHost().getHostName());
            } catch (IOException e) {
                LOG.debug("cannot determine the local hostname", e);
            }
        }
        return b.buildPartial();
    }

    private ExecutorService singleThread(String name) {
        String threadName = "mesos-standin-" + name + "-" + instance;
        return new ThreadPoolExecutor(1, 1, 0L, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    // ==============================================================================================
    // Lifecycle
    // ==============================================================================================

    public Status start() {
        synchronized (lock) {
            if (status != Status.DRIVER_NOT_STARTED) {
                return status;
            }
            LOG.warn(BANNER);
            callbacks = singleThread("callbacks");
            MasterUrl url;
            try {
                url = MasterUrl.parse(master);
                detector = MasterDetector.create(url, this::masterMayHaveChanged);
            } catch (RuntimeException | LinkageError e) {
                status = Status.DRIVER_ABORTED;
                String message = "Failed to create a master detector for '" + redact(master) + "': " + e.getMessage();
                LOG.error(message);
                postCallback(START_ERROR, () -> invoke("error", () -> scheduler.error(driver, message)));
                callbacks.shutdown();
                return status;
            }
            LOG.info("Version: {} (stand-in); master {}; framework '{}' (id {}); implicit acknowledgements {}; {}",
                    VERSION, url.redacted(), framework.getName(),
                    framework.hasId() ? framework.getId().getValue() : "none", implicitAcknowledgements,
                    credential != null ? "HTTP basic authentication as principal '" + credential.getPrincipal() + "'"
                            : "no credential");
            sender = singleThread("calls");
            detectorEvents = singleThread("detector");
            running.set(true);
            started = true;
            subscriptionThread = new Thread(this::subscriptionLoop, "mesos-standin-subscription-" + instance);
            subscriptionThread.setDaemon(true);
            subscriptionThread.start();
            status = Status.DRIVER_RUNNING;
            return status;
        }
    }

    public Status stop(boolean failover) {
        boolean aborted;
        synchronized (lock) {
            LOG.info("Asked to stop the driver (failover: {})", failover);
            if (status != Status.DRIVER_RUNNING && status != Status.DRIVER_ABORTED) {
                LOG.debug("Ignoring stop because the status of the driver is {}", status);
                return status;
            }
            aborted = status == Status.DRIVER_ABORTED;
            running.set(false);
            status = Status.DRIVER_STOPPED;
            if (started && !failover) {
                // sched.cpp stop(): TEARDOWN only when connected and not failing over.
                if (aborted) {
                    LOG.info("Not sending TEARDOWN: the driver was aborted and has closed its subscription");
                } else {
                    enqueue("TEARDOWN", null, Convert::teardown, () ->
                            LOG.info("Not sending TEARDOWN: not subscribed with a master"));
                }
            }
        }
        if (started) {
            flushCalls();
            shutdownMachinery();
        }
        latch.countDown();
        return aborted ? Status.DRIVER_ABORTED : Status.DRIVER_STOPPED;
    }

    public Status abort() {
        synchronized (lock) {
            LOG.info("Asked to abort the driver");
            if (status != Status.DRIVER_RUNNING) {
                LOG.debug("Ignoring abort because the status of the driver is {}", status);
                return status;
            }
            running.set(false);
            status = Status.DRIVER_ABORTED;
        }
        // libmesos deactivates the framework (no more offers, tasks keep running); over HTTP the
        // equivalent is closing the subscription: the master marks the framework disconnected and starts
        // its failover timeout. Calls already queued are still sent (the sender drains, then ends).
        if (sender != null) {
            sender.shutdown();
        }
        shutdownMachinery();
        latch.countDown();
        return Status.DRIVER_ABORTED;
    }

    public Status join() {
        synchronized (lock) {
            if (!started) {
                return status;
            }
        }
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (lock) {
            return status;
        }
    }

    public Status run() {
        Status s = start();
        return s != Status.DRIVER_RUNNING ? s : join();
    }

    private void flushCalls() {
        ExecutorService s = sender;
        if (s == null) {
            return;
        }
        s.shutdown();
        if (Thread.currentThread().getName().startsWith("mesos-standin-calls-")) {
            return;
        }
        try {
            if (!s.awaitTermination(STOP_FLUSH_MS, TimeUnit.MILLISECONDS)) {
                LOG.warn("Calls still pending after {} ms; dropping them", STOP_FLUSH_MS);
                s.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void shutdownMachinery() {
        closeStream();
        Thread t = subscriptionThread;
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
        }
        MasterDetector d = detector;
        if (d != null) {
            try {
                d.close();
            } catch (RuntimeException e) {
                LOG.debug("closing the master detector failed", e);
            }
        }
        if (detectorEvents != null) {
            detectorEvents.shutdownNow();
        }
        if (callbacks != null) {
            callbacks.shutdown(); // queued callbacks are dropped: they check 'running'
        }
    }

    // ==============================================================================================
    // Calls
    // ==============================================================================================

    /**
     * Queues a call (like libmesos' dispatch to SchedulerProcess) if the driver is running.
     *
     * @param first        runs on the sender thread before the connection check (state updates)
     * @param build        makes the call from the framework id known when it is sent
     * @param disconnected runs instead of sending when the master is not connected
     */
    private Status dispatch(String name, Runnable first, Function<Protos.FrameworkID, Call> build,
                            Runnable disconnected) {
        synchronized (lock) {
            if (status != Status.DRIVER_RUNNING) {
                return status;
            }
            enqueue(name, first, build, disconnected);
            return status;
        }
    }

    private void enqueue(String name, Runnable first, Function<Protos.FrameworkID, Call> build, Runnable disconnected) {
        ExecutorService s = sender;
        if (s == null) {
            return;
        }
        try {
            s.execute(() -> sendNow(name, first, build, disconnected));
        } catch (RejectedExecutionException e) {
            LOG.debug("Dropping {}: the driver is shutting down", name);
        }
    }

    private void sendNow(String name, Runnable first, Function<Protos.FrameworkID, Call> build, Runnable disconnected) {
        try {
            if (first != null) {
                first.run();
            }
            Session s;
            Protos.FrameworkID frameworkId;
            synchronized (stateLock) {
                s = connected ? session : null;
                frameworkId = framework.hasId() ? framework.getId() : null;
            }
            if (s == null) {
                LOG.info("Ignoring {} call as master is disconnected", name);
                if (disconnected != null) {
                    disconnected.run();
                }
                return;
            }
            Call call = build.apply(frameworkId);
            if (call != null) {
                post(s, call, name);
            }
        } catch (RuntimeException e) {
            LOG.error("Failed to send {} call", name, e);
        }
    }

    /** HTTP headers of every request: JSON both ways, basic authentication when a credential is set. */
    Map<String, String> baseHeaders() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "application/json");
        h.put("Accept", "application/json");
        h.put("User-Agent", "mesos-standin-scheduler-driver/" + VERSION);
        if (credential != null) {
            String secret = credential.hasSecret() ? credential.getSecret() : "";
            h.put("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                    (credential.getPrincipal() + ":" + secret).getBytes(StandardCharsets.UTF_8)));
        }
        return h;
    }

    private void post(Session s, Call call, String name) {
        byte[] body = Json.writeBytes(ProtoJson.toJson(call));
        Map<String, String> headers = baseHeaders();
        if (s.streamId != null) {
            headers.put("Mesos-Stream-Id", s.streamId);
        }
        headers.put("Connection", "close");
        MiniHttp.Target target = s.target;
        if (LOG.isDebugEnabled()) {
            LOG.debug("Sending {} call to {}: {}", name, target, new String(body, StandardCharsets.UTF_8));
        }
        for (int redirects = 0; ; redirects++) {
            try (MiniHttp.Response r = MiniHttp.post(target, headers, body, CONNECT_TIMEOUT_MS, CALL_READ_TIMEOUT_MS,
                    null)) {
                if (r.status == 202 || r.status == 200) {
                    LOG.debug("{} call accepted ({} {})", name, r.status, r.reason);
                    return;
                }
                if (r.status == 307 && redirects < MAX_REDIRECTS) {
                    MiniHttp.Target next = target.resolve(r.header("Location"));
                    LOG.info("{} call redirected from {} to {}", name, target.authority(), next);
                    target = next;
                    continue;
                }
                // Like libmesos: a failed call is not retried and not reported to the scheduler.
                LOG.warn("Received '{} {}' ({}) for {} call", r.status, r.reason, r.bodyText(2048), name);
                return;
            } catch (IOException e) {
                LOG.warn("Request for call type {} failed: {}", name, e.toString());
                return;
            }
        }
    }

    public Status requestResources(Collection<Protos.Request> requests) {
        List<Protos.Request> copy = new ArrayList<>(requests);
        return dispatch("REQUEST", null, id -> Convert.request(id, copy), null);
    }

    public Status launchTasks(Collection<Protos.OfferID> offerIds, Collection<Protos.TaskInfo> tasks,
                              Protos.Filters filters) {
        List<Protos.Offer.Operation> operations = new ArrayList<>();
        operations.add(Convert.launchOperation(new ArrayList<>(tasks)));
        return acceptOffers(offerIds, operations, filters);
    }

    public Status acceptOffers(Collection<Protos.OfferID> offerIds, Collection<Protos.Offer.Operation> operations,
                               Protos.Filters filters) {
        List<Protos.OfferID> ids = new ArrayList<>(offerIds);
        List<Protos.Offer.Operation> ops = new ArrayList<>(operations);
        for (Protos.Offer.Operation op : ops) {
            if (op.hasId()) {
                // libmesos ABORTs the whole process here; the stand-in aborts the driver.
                LOG.error("An offer operation's 'id' field was set, which is disallowed because the SchedulerDriver"
                        + " cannot handle offer operation status updates; aborting the driver");
                abort();
                synchronized (lock) {
                    return status;
                }
            }
        }
        Protos.Filters f = filters != null ? filters : Protos.Filters.getDefaultInstance();
        return dispatch("ACCEPT", null, id -> Convert.accept(id, ids, ops, f), () -> {
            Protos.FrameworkInfo fw;
            synchronized (stateLock) {
                fw = framework;
            }
            for (Protos.TaskStatus lost : Convert.masterDisconnectedUpdates(fw, ops)) {
                postCallback("statusUpdate", () -> invoke("statusUpdate", () -> scheduler.statusUpdate(driver, lost)));
            }
        });
    }

    public Status killTask(Protos.TaskID taskId) {
        return dispatch("KILL", null, id -> Convert.kill(id, taskId), null);
    }

    public Status declineOffer(Protos.OfferID offerId, Protos.Filters filters) {
        Protos.Filters f = filters != null ? filters : Protos.Filters.getDefaultInstance();
        return dispatch("DECLINE", null, id -> Convert.decline(id, offerId, f), null);
    }

    public Status reviveOffers() {
        return dispatch("REVIVE", () -> {
            synchronized (stateLock) {
                suppressedRoles.clear();
            }
        }, id -> Convert.revive(id, null), null);
    }

    public Status suppressOffers() {
        return dispatch("SUPPRESS", () -> {
            synchronized (stateLock) {
                // sched.cpp: suppressing all roles = the FrameworkInfo.roles (MULTI_ROLE frameworks).
                suppressedRoles.clear();
                suppressedRoles.addAll(framework.getRolesList());
            }
        }, id -> Convert.suppress(id, null), null);
    }

    public Status acknowledgeStatusUpdate(Protos.TaskStatus taskStatus) {
        synchronized (lock) {
            if (status != Status.DRIVER_RUNNING) {
                return status;
            }
            if (!implicitAcknowledgements) {
                enqueue("ACKNOWLEDGE", null, id -> {
                    // Only statuses with a uuid and a slave_id are acknowledged (sched.cpp).
                    if (taskStatus.hasUuid() && taskStatus.hasSlaveId()) {
                        return Convert.acknowledge(id, taskStatus.getSlaveId(), taskStatus.getTaskId(),
                                taskStatus.getUuid());
                    }
                    LOG.debug("Not acknowledging the status update of task {}: it has no uuid or no slave id",
                            taskStatus.getTaskId().getValue());
                    return null;
                }, null);
                return status;
            }
        }
        // libmesos ABORTs the process ("Cannot call acknowledgeStatusUpdate: Implicit acknowledgements
        // are enabled"); the stand-in aborts the driver instead.
        LOG.error("Cannot call acknowledgeStatusUpdate: Implicit acknowledgements are enabled; aborting the driver");
        return abort();
    }

    public Status sendFrameworkMessage(Protos.ExecutorID executorId, Protos.SlaveID slaveId, byte[] data) {
        byte[] copy = data != null ? data.clone() : new byte[0];
        return dispatch("MESSAGE", null, id -> Convert.message(id, slaveId, executorId, copy), null);
    }

    public Status reconcileTasks(Collection<Protos.TaskStatus> statuses) {
        List<Protos.TaskStatus> copy = new ArrayList<>(statuses);
        return dispatch("RECONCILE", null, id -> Convert.reconcile(id, copy), null);
    }

    // ==============================================================================================
    // Callbacks (the "process")
    // ==============================================================================================

    private void postCallback(String what, Runnable task) {
        ExecutorService cb = callbacks;
        if (cb == null) {
            return;
        }
        try {
            cb.execute(() -> {
                if (!running.get() && !START_ERROR.equals(what)) {
                    LOG.debug("Ignoring {} because the driver is not running", what);
                    return;
                }
                task.run();
            });
        } catch (RejectedExecutionException e) {
            LOG.debug("Ignoring {} because the driver is shut down", what);
        }
    }

    /** Runs one Scheduler callback; like the libmesos JNI bridge, an exception aborts the driver. */
    private void invoke(String name, Runnable callback) {
        try {
            callback.run();
        } catch (Throwable t) {
            LOG.error("Scheduler.{} threw an exception; aborting the driver (as libmesos' Java binding does)", name, t);
            abort();
        }
    }

    private void onSubscribed(Session newSession, Event.Subscribed subscribed, DetectedMaster from) {
        Protos.FrameworkID frameworkId = Convert.v0(subscribed.getFrameworkId());
        Protos.MasterInfo masterInfo;
        if (subscribed.hasMasterInfo()) {
            masterInfo = Convert.v0(subscribed.getMasterInfo());
        } else if (from.masterInfo != null) {
            masterInfo = Convert.masterInfoFromJson(from.masterInfo);
        } else {
            masterInfo = Convert.syntheticMasterInfo(newSession.target.host, newSession.target.port);
        }
        boolean register;
        synchronized (stateLock) {
            if (connected) {
                LOG.debug("Ignoring SUBSCRIBED because the driver is already connected");
                return;
            }
            boolean noId = !framework.hasId() || framework.getId().getValue().isEmpty();
            register = noId || failover;
            if (!noId && !framework.getId().equals(frameworkId)) {
                LOG.warn("The master subscribed framework {} although the driver asked for {}",
                        frameworkId.getValue(), framework.getId().getValue());
            }
            framework = framework.toBuilder().setId(frameworkId).buildPartial();
            connected = true;
            failover = false;
            session = newSession;
        }
        if (register) {
            LOG.info("Framework registered with {}", frameworkId.getValue());
            invoke("registered", () -> scheduler.registered(driver, frameworkId, masterInfo));
        } else {
            LOG.info("Framework reregistered with {}", frameworkId.getValue());
            invoke("reregistered", () -> scheduler.reregistered(driver, masterInfo));
        }
    }

    private void onDisconnected(int gen) {
        synchronized (stateLock) {
            if (!connected || session == null || session.generation != gen) {
                return;
            }
            connected = false;
            session = null;
        }
        LOG.info("Disconnected from the master");
        invoke("disconnected", () -> scheduler.disconnected(driver));
    }

    private void onError(String message) {
        LOG.info("Got error '{}'", message);
        driver.abort();
        invoke("error", () -> scheduler.error(driver, message));
    }

    private void onEvent(int gen, Event event) {
        if (event.getType() == Event.Type.ERROR) {
            onError(event.hasError() ? event.getError().getMessage() : "ERROR event without a message");
            return;
        }
        synchronized (stateLock) {
            if (!connected || session == null || session.generation != gen) {
                LOG.debug("Ignoring {} event because the driver is disconnected", event.getType());
                return;
            }
        }
        switch (event.getType()) {
            case OFFERS: {
                if (!event.hasOffers()) {
                    drop(event, "Expecting 'offers' to be present");
                    return;
                }
                List<Protos.Offer> offers = Convert.offers(event.getOffers());
                if (offers.isEmpty()) {
                    return;
                }
                invoke("resourceOffers", () -> scheduler.resourceOffers(driver, offers));
                return;
            }
            case RESCIND: {
                if (!event.hasRescind()) {
                    drop(event, "Expecting 'rescind' to be present");
                    return;
                }
                Protos.OfferID offerId = Convert.v0(event.getRescind().getOfferId());
                invoke("offerRescinded", () -> scheduler.offerRescinded(driver, offerId));
                return;
            }
            case UPDATE: {
                if (!event.hasUpdate()) {
                    drop(event, "Expecting 'update' to be present");
                    return;
                }
                Protos.TaskStatus taskStatus = Convert.v0(event.getUpdate().getStatus());
                invoke("statusUpdate", () -> scheduler.statusUpdate(driver, taskStatus));
                if (implicitAcknowledgements && running.get() && taskStatus.hasUuid()
                        && !taskStatus.getUuid().isEmpty()) {
                    enqueue("ACKNOWLEDGE", null, id -> Convert.acknowledge(id, taskStatus.getSlaveId(),
                            taskStatus.getTaskId(), taskStatus.getUuid()), null);
                }
                return;
            }
            case MESSAGE: {
                if (!event.hasMessage()) {
                    drop(event, "Expecting 'message' to be present");
                    return;
                }
                Event.Message m = event.getMessage();
                Protos.ExecutorID executorId = Convert.v0(m.getExecutorId());
                Protos.SlaveID slaveId = Convert.v0(m.getAgentId());
                byte[] data = m.getData().toByteArray();
                invoke("frameworkMessage", () -> scheduler.frameworkMessage(driver, executorId, slaveId, data));
                return;
            }
            case FAILURE: {
                if (!event.hasFailure()) {
                    drop(event, "Expecting 'failure' to be present");
                    return;
                }
                Event.Failure f = event.getFailure();
                if (f.hasAgentId() && f.hasExecutorId()) {
                    Protos.ExecutorID executorId = Convert.v0(f.getExecutorId());
                    Protos.SlaveID slaveId = Convert.v0(f.getAgentId());
                    int exitStatus = f.getStatus();
                    invoke("executorLost", () -> scheduler.executorLost(driver, executorId, slaveId, exitStatus));
                } else if (f.hasAgentId()) {
                    Protos.SlaveID slaveId = Convert.v0(f.getAgentId());
                    invoke("slaveLost", () -> scheduler.slaveLost(driver, slaveId));
                } else {
                    drop(event, "Expecting 'agent_id' to be present");
                }
                return;
            }
            case HEARTBEAT:
            case INVERSE_OFFERS:
            case RESCIND_INVERSE_OFFER:
            case UPDATE_OPERATION_STATUS:
                return; // not part of the v0 Scheduler interface (sched.cpp ignores them too)
            case SUBSCRIBED:
                return; // handled by onSubscribed
            default:
                drop(event, "Unknown event");
        }
    }

    private static void drop(Event event, String message) {
        LOG.warn("Dropping {}: {}", event.getType(), message);
    }

    // ==============================================================================================
    // Subscription
    // ==============================================================================================

    private void masterMayHaveChanged() {
        ExecutorService d = detectorEvents;
        if (d == null) {
            return;
        }
        try {
            d.execute(() -> {
                DetectedMaster current = streamingFrom;
                if (current == null || !running.get()) {
                    return;
                }
                DetectedMaster now;
                try {
                    now = detector.detect();
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    LOG.warn("Failed to re-detect the leading master: {}", e.toString());
                    return;
                }
                if (now == null || !now.sameAs(current)) {
                    LOG.info("The leading master changed from {} to {}; closing the subscription",
                            current, now == null ? "none" : now);
                    closeStream();
                }
            });
        } catch (RejectedExecutionException e) {
            // shutting down
        }
    }

    private void registerSocket(Socket socket) {
        streamSocket.set(socket);
        if (!running.get()) {
            closeQuietly(socket);
        }
    }

    private void closeStream() {
        Socket s = streamSocket.getAndSet(null);
        if (s != null) {
            closeQuietly(s);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // ignore
        }
    }

    private long maxBackoffMs() {
        long max = BACKOFF_MAX_MS;
        double failoverTimeout;
        synchronized (stateLock) {
            failoverTimeout = framework.getFailoverTimeout();
        }
        if (failoverTimeout > 0) {
            max = Math.min(max, Math.max(100L, (long) (failoverTimeout * 1000 / 10)));
        }
        return max;
    }

    private void subscriptionLoop() {
        long backoff = BACKOFF_INITIAL_MS;
        while (running.get()) {
            DetectedMaster m = null;
            try {
                m = detector.detect();
            } catch (InterruptedException e) {
                break;
            } catch (Exception e) {
                if (running.get()) {
                    LOG.warn("Failed to detect a master: {}", e.toString());
                }
            }
            if (!running.get()) {
                break;
            }
            if (m != null) {
                int gen = generation.incrementAndGet();
                Attempt attempt = new Attempt();
                streamingFrom = m;
                try {
                    subscribe(m, gen, attempt);
                } catch (FatalSubscribeError e) {
                    LOG.error(e.getMessage());
                    String message = e.getMessage();
                    postCallback("error", () -> onError(message));
                    break;
                } catch (IOException | RuntimeException e) {
                    if (running.get()) {
                        MiniHttp.Target t = streamingTarget;
                        LOG.warn("Subscription with the master at {} ended: {}", t != null ? t.authority() : m,
                                e.toString());
                    }
                } finally {
                    streamingTarget = null;
                    streamingFrom = null;
                    closeStream();
                    postCallback("disconnected", () -> onDisconnected(gen));
                }
                if (attempt.error) {
                    break; // an ERROR event: the driver aborts, never re-subscribes
                }
                if (attempt.subscribed) {
                    backoff = BACKOFF_INITIAL_MS;
                }
            } else {
                LOG.info("No master detected; waiting for one");
            }
            if (!running.get()) {
                break;
            }
            long wait = Math.min(backoff, maxBackoffMs());
            LOG.info("Will (re-)subscribe in {} ms", wait);
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                break;
            }
            backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        }
        LOG.debug("Subscription thread exits");
    }

    /** What one subscription attempt achieved. */
    private static final class Attempt {
        boolean subscribed;
        boolean error;
    }

    private void subscribe(DetectedMaster m, int gen, Attempt attempt)
            throws IOException, FatalSubscribeError {
        MiniHttp.Target target = new MiniHttp.Target(m.host, m.port, API_PATH);
        Protos.FrameworkInfo fw;
        List<String> roles;
        synchronized (stateLock) {
            fw = framework;
            roles = new ArrayList<>(suppressedRoles);
        }
        Protos.FrameworkID id = subscribedId.get();
        if (id == null && fw.hasId() && !fw.getId().getValue().isEmpty()) {
            id = fw.getId();
        }
        Call call = Convert.subscribe(fw, id, roles);
        byte[] body = Json.writeBytes(ProtoJson.toJson(call));
        Map<String, String> headers = baseHeaders();

        MiniHttp.Response response;
        for (int redirects = 0; ; redirects++) {
            LOG.info("Sending SUBSCRIBE call to {}{}", target, id != null ? " for framework " + id.getValue() : "");
            streamingTarget = target;
            response = MiniHttp.post(target, headers, body, CONNECT_TIMEOUT_MS, SUBSCRIBE_READ_TIMEOUT_MS,
                    this::registerSocket);
            if (response.status == 200) {
                break;
            }
            String text = response.bodyText(4096);
            response.close();
            if (response.status == 307 && redirects < MAX_REDIRECTS) {
                MiniHttp.Target next = target.resolve(response.header("Location"));
                LOG.info("The master at {} redirected SUBSCRIBE to {}", target.authority(), next);
                target = next;
                continue;
            }
            String what = "'" + response.status + " " + response.reason + "' (" + text + ") for SUBSCRIBE";
            if (response.status == 401) {
                throw new FatalSubscribeError("Master refused authentication: received " + what);
            }
            if (response.status >= 400 && response.status < 500 && response.status != 404 && response.status != 408
                    && response.status != 429) {
                throw new FatalSubscribeError("Received unexpected " + what);
            }
            // 503 (no leader yet / recovering), 404 (routes not up yet), too many redirects, 5xx: retry.
            throw new IOException("Received " + what);
        }

        String streamId = response.header("Mesos-Stream-Id");
        if (streamId == null) {
            LOG.warn("The SUBSCRIBE response of {} has no Mesos-Stream-Id header", target);
        }
        Socket socket = response.socket;
        RecordIO.Reader reader = new RecordIO.Reader(response.body);
        boolean subscribed = false;
        double heartbeat = DEFAULT_HEARTBEAT_SECONDS;
        long timeoutMs = SUBSCRIBE_READ_TIMEOUT_MS;
        try {
            while (running.get()) {
                byte[] record;
                try {
                    record = reader.next();
                } catch (SocketTimeoutException e) {
                    if (!subscribed) {
                        throw new IOException("no SUBSCRIBED event within " + timeoutMs + " ms");
                    }
                    throw new IOException(String.format(Locale.ROOT,
                            "no event from the master for %.1f s (%d heartbeat intervals of %.1f s): connection"
                                    + " presumed lost", timeoutMs / 1000.0, MISSED_HEARTBEATS, heartbeat));
                }
                if (record == null) {
                    throw new EOFException("End-Of-File received from master. The master closed the event stream");
                }
                if (record.length == 0) {
                    continue;
                }
                Event event;
                try {
                    event = Convert.parseEvent(record);
                } catch (IllegalArgumentException e) {
                    LOG.warn("Dropping an event that cannot be decoded ({}): {}", e.getMessage(),
                            preview(record));
                    continue;
                }
                if (LOG.isTraceEnabled()) {
                    LOG.trace("Event from {}: {}", target, preview(record));
                }
                if (event.getType() == Event.Type.SUBSCRIBED) {
                    if (!event.hasSubscribed()) {
                        drop(event, "Expecting 'subscribed' to be present");
                        continue;
                    }
                    if (subscribed) {
                        LOG.warn("Ignoring a second SUBSCRIBED event on the same stream");
                        continue;
                    }
                    Event.Subscribed sub = event.getSubscribed();
                    subscribedId.set(Convert.v0(sub.getFrameworkId()));
                    if (sub.hasHeartbeatIntervalSeconds() && sub.getHeartbeatIntervalSeconds() > 0) {
                        heartbeat = sub.getHeartbeatIntervalSeconds();
                    }
                    timeoutMs = Math.max(100L, (long) Math.ceil(heartbeat * MISSED_HEARTBEATS * 1000));
                    socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs));
                    subscribed = true;
                    attempt.subscribed = true;
                    Session newSession = new Session(gen, streamId, target);
                    LOG.info("Subscribed with the master at {} as framework {} (stream {}, heartbeat every {} s)",
                            target.authority(), sub.getFrameworkId().getValue(), streamId, heartbeat);
                    postCallback("SUBSCRIBED", () -> onSubscribed(newSession, sub, m));
                } else if (event.getType() == Event.Type.ERROR) {
                    // Also before SUBSCRIBED: a master refuses a subscription (e.g. "Framework has been
                    // removed") with an ERROR event on the stream, like libmesos' FrameworkErrorMessage.
                    attempt.error = true;
                    postCallback("ERROR", () -> onEvent(gen, event));
                    return;
                } else if (!subscribed) {
                    LOG.warn("Dropping {} event received before SUBSCRIBED", event.getType());
                } else {
                    postCallback(event.getType().name(), () -> onEvent(gen, event));
                }
            }
        } catch (IOException e) {
            if (!running.get()) {
                return; // closed by stop()/abort()
            }
            throw e;
        }
    }

    private static String preview(byte[] record) {
        String s = new String(record, StandardCharsets.UTF_8);
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    /** Masks the password of a zk://user:password@ URL. */
    static String redact(String url) {
        return url == null ? null : url.replaceFirst("zk://([^:@/]*):[^@/]*@", "zk://$1:***@");
    }
}
