package scenario;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;

/**
 * The per_job scenario's test job: bounded (fromSequence), so it reaches FINISHED on its own.
 * Arguments: job name, number of elements.
 */
public class SequenceJob {
    public static void main(String[] args) throws Exception {
        String name = args.length > 0 ? args[0] : "sequence";
        long count = args.length > 1 ? Long.parseLong(args[1]) : 1000L;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(1, count)
                .map((MapFunction<Long, Long>) x -> x * 2)
                .addSink(new DiscardingSink<>());
        env.execute(name);
    }
}
