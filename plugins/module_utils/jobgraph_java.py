# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The Java program that turns a user jar into a Flink JobGraph file, kept as a resource string.

Why a resource string: Flink 1.13's CLI cannot write a JobGraph file, and the collection must not ship a
compiled class (it would be bound to one Java release). The module writes this source to a temporary
directory on the target host and runs it with the Java source launcher (Java 11+) or javac (Java 8), with
the installed Flink's lib/* on the classpath, so the JobGraph is made by the same Flink that will run it.

Protocol (kept tiny so the Python side stays a pure parser):
  arguments  --out F --jar J [--class C] --parallelism N [--savepoint P] [--allow-non-restored-state]
             [--job-id HEX] [--conf-dir D] [--extra-jar J]... [--set key=value]... -- program arguments...
  stdout     one line "JOBGRAPH_RESULT {json}" (exit 0) or "JOBGRAPH_ERROR {json}" (exit 2), where the
             error JSON lists the exception cause chain with the program's own messages.
"""
from __future__ import annotations

JAVA_CLASS_NAME = "JobGraphBuilder"

JAVA_SOURCE = r"""import org.apache.flink.api.common.JobID;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.client.program.PackagedProgramUtils;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.util.EnvironmentInformation;

import java.io.File;
import java.io.FileOutputStream;
import java.io.ObjectOutputStream;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Writes a serialized Flink JobGraph for a packaged user program (see the module docstring). */
public class JobGraphBuilder {
    public static void main(String[] argv) {
        try {
            run(argv);
        } catch (Throwable t) {
            StringBuilder chain = new StringBuilder("[");
            Throwable c = t;
            int depth = 0;
            while (c != null && depth < 10) {
                if (depth > 0) chain.append(',');
                chain.append("{\"class\":").append(q(c.getClass().getName()))
                        .append(",\"message\":").append(q(String.valueOf(c.getMessage()))).append('}');
                c = c.getCause() == c ? null : c.getCause();
                depth++;
            }
            chain.append(']');
            System.out.println("JOBGRAPH_ERROR {\"causes\":" + chain + "}");
            System.out.flush();
            System.exit(2);
        }
    }

    static void run(String[] argv) throws Exception {
        String out = null, jar = null, entry = null, savepoint = null, jobId = null, confDir = null;
        int parallelism = 1;
        boolean allowNonRestored = false;
        List<URL> extra = new ArrayList<>();
        Configuration dyn = new Configuration();
        List<String> programArgs = new ArrayList<>();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "--":
                    for (int j = i + 1; j < argv.length; j++) programArgs.add(argv[j]);
                    i = argv.length;
                    break;
                case "--out": out = argv[++i]; break;
                case "--jar": jar = argv[++i]; break;
                case "--class": entry = argv[++i]; break;
                case "--parallelism": parallelism = Integer.parseInt(argv[++i]); break;
                case "--savepoint": savepoint = argv[++i]; break;
                case "--allow-non-restored-state": allowNonRestored = true; break;
                case "--job-id": jobId = argv[++i]; break;
                case "--conf-dir": confDir = argv[++i]; break;
                case "--extra-jar": extra.add(new File(argv[++i]).getAbsoluteFile().toURI().toURL()); break;
                case "--set": {
                    String kv = argv[++i];
                    int eq = kv.indexOf('=');
                    dyn.setString(kv.substring(0, eq), kv.substring(eq + 1));
                    break;
                }
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }
        Configuration conf = confDir != null ? GlobalConfiguration.loadConfiguration(confDir, dyn) : dyn;
        SavepointRestoreSettings sp = savepoint != null
                ? SavepointRestoreSettings.forPath(savepoint, allowNonRestored)
                : SavepointRestoreSettings.none();
        PackagedProgram.Builder b = PackagedProgram.newBuilder()
                .setJarFile(new File(jar))
                .setUserClassPaths(extra)
                .setArguments(programArgs.toArray(new String[0]))
                .setConfiguration(conf)
                .setSavepointRestoreSettings(sp);
        if (entry != null) b.setEntryPointClassName(entry);
        long t0 = System.nanoTime();
        PackagedProgram program = b.build();
        JobGraph graph;
        try {
            // suppressOutput=true: the program's stdout/stderr end up in the exception message on failure.
            graph = PackagedProgramUtils.createJobGraph(
                    program, conf, parallelism, jobId != null ? JobID.fromHexString(jobId) : null, true);
        } finally {
            program.close();
        }
        // The extra jars served the program's class loader while main() ran. At run time a per-job cluster
        // adds every jar of its usrlib/ directory (which Flink ships to the TaskManagers); absolute paths of
        // this host would not exist on Mesos agents, so none are recorded in the graph.
        graph.setClasspaths(Collections.emptyList());
        try (ObjectOutputStream o = new ObjectOutputStream(new FileOutputStream(out))) {
            o.writeObject(graph);
        }
        StringBuilder names = new StringBuilder("[");
        boolean first = true;
        for (JobVertex v : graph.getVerticesSortedTopologicallyFromSources()) {
            if (!first) names.append(',');
            names.append(q(v.getName()));
            first = false;
        }
        names.append(']');
        System.out.println("JOBGRAPH_RESULT {\"job_id\":" + q(graph.getJobID().toHexString())
                + ",\"job_name\":" + q(graph.getName())
                + ",\"vertices\":" + graph.getNumberOfVertices()
                + ",\"vertex_names\":" + names
                + ",\"flink_version\":" + q(EnvironmentInformation.getVersion())
                + ",\"entry_class\":" + q(program.getMainClassName())
                + ",\"build_ms\":" + ((System.nanoTime() - t0) / 1000000) + "}");
    }

    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default: if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
"""
