/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

/** Finds the leading Mesos master. */
public interface MasterDetector extends AutoCloseable {

    /**
     * The current leading master, or {@code null} when none is known right now. Blocks for a bounded
     * time only.
     */
    DetectedMaster detect() throws Exception;

    @Override
    void close();

    /** Creates the detector for a parsed URL; {@code onChange} runs when the leader may have changed. */
    static MasterDetector create(MasterUrl url, Runnable onChange) {
        if (url.kind == MasterUrl.Kind.STATIC) {
            DetectedMaster fixed = new DetectedMaster(url.host, url.port, null);
            return new MasterDetector() {
                @Override
                public DetectedMaster detect() {
                    return fixed;
                }

                @Override
                public void close() {
                }
            };
        }
        // Loaded only for zk:// URLs, so that the ZooKeeper client classes are needed only then.
        return new ZooKeeperMasterDetector(url, onChange);
    }
}
