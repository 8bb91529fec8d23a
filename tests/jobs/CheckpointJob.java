package scenario;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.RichParallelSourceFunction;

/**
 * The ha scenario's test job, compiled by the tests against the installed flink-dist; never shipped as a binary.
 * Unbounded (it runs until cancelled) and checkpointed every second, so a JobManager that fails over must bring it
 * back RUNNING from its latest checkpoint: Flink's REST API then shows that checkpoint under
 * /jobs/:id/checkpoints as latest.restored. Each source subtask keeps its position in operator state, so a restore
 * that lost the state would start counting from 0 again.
 * Arguments: job name.
 */
public class CheckpointJob {

    /** Emits 0, 1, 2, ... about 100 times a second per subtask; the next number is its checkpointed state. */
    public static final class CountingSource extends RichParallelSourceFunction<Long> implements CheckpointedFunction {
        private volatile boolean running = true;
        private long next;
        private transient ListState<Long> position;

        @Override
        public void run(SourceContext<Long> ctx) throws Exception {
            while (running) {
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(next);
                    next++;
                }
                Thread.sleep(10);
            }
        }

        @Override
        public void cancel() {
            running = false;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            position.clear();
            position.add(next);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            position = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("next", Long.class));
            for (Long value : position.get()) {
                next = value;
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String name = args.length > 0 ? args[0] : "checkpointed";
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(1000L);
        env.addSource(new CountingSource()).addSink(new DiscardingSink<>());
        env.execute(name);
    }
}
