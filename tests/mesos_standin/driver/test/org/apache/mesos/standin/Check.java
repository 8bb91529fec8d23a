/*
 * TEST-ONLY: self tests of the stand-in scheduler driver (no JUnit available on the test machines).
 */
package org.apache.mesos.standin;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Minimal assertions and a test runner printing "PASS name" / "FAIL name: reason" lines. */
final class Check {

    interface Body {
        void run() throws Exception;
    }

    private final List<String> failures = new ArrayList<>();
    private int passed;

    void run(String name, Body body) {
        long t0 = System.nanoTime();
        try {
            body.run();
            passed++;
            System.out.printf("PASS %s (%d ms)%n", name, (System.nanoTime() - t0) / 1_000_000);
        } catch (Throwable t) {
            failures.add(name);
            System.out.printf("FAIL %s: %s%n", name, t);
            t.printStackTrace(System.out);
        }
        System.out.flush();
    }

    int finish() {
        System.out.printf("SELFTEST: %d passed, %d failed%s%n", passed, failures.size(),
                failures.isEmpty() ? "" : " " + failures);
        return failures.isEmpty() ? 0 : 1;
    }

    static void eq(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected <" + expected + "> but was <" + actual + ">");
        }
    }

    static void isTrue(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    static <T extends Throwable> T raises(Class<T> type, Body body, String what) {
        try {
            body.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
            throw new AssertionError(what + ": expected " + type.getSimpleName() + " but got " + t, t);
        }
        throw new AssertionError(what + ": expected " + type.getSimpleName() + " but nothing was thrown");
    }
}
