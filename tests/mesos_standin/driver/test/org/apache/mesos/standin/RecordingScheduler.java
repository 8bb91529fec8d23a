/*
 * TEST-ONLY: self tests of the stand-in scheduler driver.
 */
package org.apache.mesos.standin;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.mesos.Protos;
import org.apache.mesos.Scheduler;
import org.apache.mesos.SchedulerDriver;

/** Records every callback with its arguments and the thread it came on. */
final class RecordingScheduler implements Scheduler {

    /** One callback. */
    static final class Call {
        final String name;
        final Object[] args;
        final String thread;
        final long atNanos = System.nanoTime();
        volatile long returnedNanos;

        Call(String name, Object... args) {
            this.name = name;
            this.args = args;
            this.thread = Thread.currentThread().getName();
        }

        @SuppressWarnings("unchecked")
        <T> T arg(int i) {
            return (T) args[i];
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(name).append('(');
            for (Object a : args) {
                sb.append(String.valueOf(a).replace('\n', ' ')).append("; ");
            }
            return sb.append(") on ").append(thread).toString();
        }
    }

    final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();
    volatile Consumer<List<Protos.Offer>> onOffers;
    volatile long statusUpdateSleepMs;

    Call next(long timeoutMs) throws InterruptedException {
        Call c = calls.poll(timeoutMs, TimeUnit.MILLISECONDS);
        if (c == null) {
            throw new AssertionError("no scheduler callback within " + timeoutMs + " ms");
        }
        return c;
    }

    Call next(String name, long timeoutMs) throws InterruptedException {
        Call c = next(timeoutMs);
        Check.eq(name, c.name, "callback (" + c + ")");
        Check.isTrue(c.thread.startsWith("mesos-standin-callbacks-"), "callback thread: " + c.thread);
        return c;
    }

    void expectNone(long ms) throws InterruptedException {
        Call c = calls.poll(ms, TimeUnit.MILLISECONDS);
        if (c != null) {
            throw new AssertionError("unexpected callback " + c);
        }
    }

    @Override
    public void registered(SchedulerDriver driver, Protos.FrameworkID frameworkId, Protos.MasterInfo masterInfo) {
        calls.add(new Call("registered", frameworkId, masterInfo));
    }

    @Override
    public void reregistered(SchedulerDriver driver, Protos.MasterInfo masterInfo) {
        calls.add(new Call("reregistered", masterInfo));
    }

    @Override
    public void resourceOffers(SchedulerDriver driver, List<Protos.Offer> offers) {
        Consumer<List<Protos.Offer>> hook = onOffers;
        if (hook != null) {
            hook.accept(offers);
        }
        calls.add(new Call("resourceOffers", offers));
    }

    @Override
    public void offerRescinded(SchedulerDriver driver, Protos.OfferID offerId) {
        calls.add(new Call("offerRescinded", offerId));
    }

    @Override
    public void statusUpdate(SchedulerDriver driver, Protos.TaskStatus status) {
        Call call = new Call("statusUpdate", status);
        calls.add(call);
        long sleep = statusUpdateSleepMs;
        if (sleep > 0) {
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        call.returnedNanos = System.nanoTime();
    }

    @Override
    public void frameworkMessage(SchedulerDriver driver, Protos.ExecutorID executorId, Protos.SlaveID slaveId,
                                 byte[] data) {
        calls.add(new Call("frameworkMessage", executorId, slaveId, data));
    }

    @Override
    public void disconnected(SchedulerDriver driver) {
        calls.add(new Call("disconnected"));
    }

    @Override
    public void slaveLost(SchedulerDriver driver, Protos.SlaveID slaveId) {
        calls.add(new Call("slaveLost", slaveId));
    }

    @Override
    public void executorLost(SchedulerDriver driver, Protos.ExecutorID executorId, Protos.SlaveID slaveId, int status) {
        calls.add(new Call("executorLost", executorId, slaveId, status));
    }

    @Override
    public void error(SchedulerDriver driver, String message) {
        calls.add(new Call("error", message));
    }
}
