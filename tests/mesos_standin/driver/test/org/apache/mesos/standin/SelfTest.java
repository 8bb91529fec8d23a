/*
 * TEST-ONLY: self tests of the stand-in scheduler driver.
 */
package org.apache.mesos.standin;

import java.util.Arrays;
import java.util.List;

/**
 * Entry point: {@code java -cp <driver jar>:<test classes>:<flink lib jars> org.apache.mesos.standin.SelfTest
 * [unit] [driver] [zk]} (all groups by default). Prints one PASS/FAIL line per test and a summary line
 * {@code SELFTEST: N passed, M failed}; exits 1 when anything failed.
 */
public final class SelfTest {

    private SelfTest() {
    }

    public static void main(String[] args) {
        List<String> groups = args.length == 0 ? Arrays.asList("unit", "driver", "zk") : Arrays.asList(args);
        String origin = org.apache.mesos.MesosSchedulerDriver.class.getProtectionDomain().getCodeSource().getLocation()
                .toString();
        System.out.println("MesosSchedulerDriver loaded from " + origin);
        Check c = new Check();
        if (groups.contains("unit")) {
            UnitTests.register(c);
        }
        if (groups.contains("driver")) {
            DriverTests.register(c);
        }
        if (groups.contains("zk")) {
            ZkTests.register(c);
        }
        System.exit(c.finish());
    }
}
