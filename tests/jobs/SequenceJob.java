package scenario;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;

/**
 * The scenarios' test job (session and per_job), compiled by the tests against the installed flink-dist; never
 * shipped as a binary. Bounded (fromSequence), so it reaches FINISHED on its own, and it has a result that can
 * be checked: accumulator "sum" is the sum of 2*x for x in 1..count, i.e. count*(count+1), and "count" is count.
 * Flink shows accumulators in REST (GET /jobs/:id/accumulators) and the client prints them below.
 * Arguments: job name, number of elements.
 */
public class SequenceJob {

    /** Doubles each element and adds it to the job's accumulators on whichever TaskManager runs the subtask. */
    public static final class Doubler extends RichMapFunction<Long, Long> {
        private final LongCounter sum = new LongCounter();
        private final LongCounter count = new LongCounter();

        @Override
        public void open(Configuration parameters) {
            getRuntimeContext().addAccumulator("sum", sum);
            getRuntimeContext().addAccumulator("count", count);
        }

        @Override
        public Long map(Long x) {
            sum.add(2 * x);
            count.add(1L);
            return 2 * x;
        }
    }

    public static void main(String[] args) throws Exception {
        String name = args.length > 0 ? args[0] : "sequence";
        long count = args.length > 1 ? Long.parseLong(args[1]) : 1000L;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(1, count).map(new Doubler()).addSink(new DiscardingSink<>());
        JobExecutionResult result = env.execute(name);
        // Printed only when a client waits for the result (flink run, attached); per-job clusters print nothing.
        System.out.println("RESULT job=" + name + " id=" + result.getJobID() + " sum=" + result.getAccumulatorResult("sum")
                + " count=" + result.getAccumulatorResult("count") + " expected_sum=" + count * (count + 1));
    }
}
