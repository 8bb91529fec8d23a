# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Name the cause of a failed Flink Mesos appmaster start from its log, in words a user can act on.

The appmaster dies with a stack trace several screens long, and the first ERROR line is usually a generic
"Could not start cluster entrypoint". The patterns below were checked against logs of real Flink 1.13.6 runs
(tests/unit/plugins/module_utils/fixtures/logs/); the Mesos-side ones (registration refused, master unreachable) follow the
messages of Mesos 1.11's scheduler driver, which could not be run on the machines this was written on.
Order matters: the most specific cause wins, e.g. the libmesos error appears AFTER "Rest endpoint listening".
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import List, Optional, Pattern, Tuple


@dataclass(frozen=True)
class Cause:
    """One diagnosed failure: a stable id for programs, a sentence for people, the log line that proves it."""

    id: str
    message: str
    evidence: str


# (id, pattern, message). The message may use {0} for the first group of the pattern.
_RULES: List[Tuple[str, Pattern[str], str]] = [
    (
        "hadoop_missing",
        re.compile(r"(?:NoClassDefFoundError|ClassNotFoundException):? (org[./]apache[./]hadoop[./]\S+)"),
        "Hadoop classes are missing from the appmaster's classpath ({0}). Flink on Mesos needs them even without "
        "HDFS: set hadoop_classpath (HADOOP_CLASSPATH), e.g. from the hadoop role's hadoop_classpath fact.",
    ),
    (
        "libmesos_missing",
        re.compile(r"UnsatisfiedLinkError: no mesos in java\.library\.path"),
        "The Mesos native library (libmesos.so) was not found: MESOS_NATIVE_JAVA_LIBRARY is unset and the JVM's "
        "java.library.path has no libmesos. Install Mesos on this host and set mesos_native_library to its "
        "libmesos.so (the mesos role publishes it as mesos_native_library).",
    ),
    (
        "libmesos_unloadable",
        re.compile(r"UnsatisfiedLinkError: (?:Can't load library: )?(/[^\s:]+)"),
        "The Mesos native library {0} could not be loaded (missing, not a shared library, wrong architecture or "
        "missing dependencies). Set mesos_native_library to a working libmesos.so of Mesos 1.x; check it with "
        "'ldd'.",
    ),
    (
        "java_module_access",
        re.compile(
            r"(IllegalAccessError: .*(?:does not export|does not open)[^\n]*|InaccessibleObjectException: [^\n]*)"
        ),
        "The JVM refused Flink access to JDK internals (Java 9+ module system): {0}. Pass the --add-opens/"
        "--add-exports flags (the java role's java_flink_jvm_flags) through jvm_args; only JVM_ARGS reaches "
        "the appmaster JVM, env.java.opts does not.",
    ),
    (
        "port_in_use",
        re.compile(
            r"(BindException: (?:Could not start rest endpoint on any port in port range \S+|Address already in use)"
            r"|Could not start actor system on any port[^\n]*)"
        ),
        "A port the appmaster needs is already in use ({0}). Stop what listens there or change rest_port "
        "(rest.port) / the RPC port.",
    ),
    (
        "jobgraph_unreadable",
        re.compile(
            r"Could not (?:find|load) the JobGraph[^\n]*\n(?:(?!Caused by: )[^\n]*\n){0,200}Caused by: ([^\n]+)"
            r"|Could not (?:find|load) the JobGraph[^\n]*"
        ),
        "The JobGraph file could not be read: {0}. Check jobgraph_path (internal.jobgraph-path): the file must "
        "exist, be readable by the service user and be a Java-serialized JobGraph written by the same Flink "
        "version (the jobgraph module).",
    ),
    (
        "mesos_registration_refused",
        re.compile(
            r"((?:Framework has been removed|Framework is not authorized|not authorized to|"
            r"Authentication failed|Master refused authentication|Framework failed authentication|"
            r"Framework '[^']*' is not authorized)[^\n]*)"
        ),
        "The Mesos master refused the framework: {0}. Check framework.principal/secret, the framework role and "
        "the master's ACLs; 'Framework has been removed' after a failover means a stale framework id "
        "(remove the mesos-workers znode under Flink's HA path).",
    ),
    (
        "mesos_unreachable",
        re.compile(
            r"((?:Failed to connect to|Unable to connect to|Connection refused)[^\n]*(?:5050|mesos|master)[^\n]*|"
            r"No master is currently leading[^\n]*|Failed to detect a master[^\n]*|"
            r"Failed to create a master detector[^\n]*)"
        ),
        "The Mesos master could not be reached: {0}. Check mesos_master (mesos.master), name resolution and the "
        "firewall between this host and the master (port 5050), and LIBPROCESS_IP/LIBPROCESS_ADVERTISE_IP when "
        "this host is behind NAT.",
    ),
    (
        "bad_configuration",
        re.compile(r"IllegalConfigurationException: ([^\n]+)"),
        "Flink rejected its configuration: {0}. Fix flink-conf.yaml (the flink role's variables) or the "
        "properties passed to this module.",
    ),
]

_GENERIC = [
    re.compile(r"Diagnostics (.+)$", re.M),
    re.compile(r"^Caused by: (.+)$", re.M),
    re.compile(r"^\S+ \S+ ERROR\s+\S+\s+\[\] - (.+)$", re.M),
]


def classify(text: str) -> Optional[Cause]:
    """Return the first recognised cause in an appmaster log (or its stdout), or None.

    The generic fallback takes the deepest 'Caused by' so that even an unknown failure is reported by its
    root exception rather than by Flink's wrapper message.
    """
    for cause_id, pattern, message in _RULES:
        m = pattern.search(text)
        if m:
            detail = next((g for g in reversed(m.groups()) if g), m.group(0)) if m.groups() else m.group(0)
            return Cause(cause_id, message.format(detail.strip()), m.group(0).strip().splitlines()[0])
    causes = _GENERIC[1].findall(text)
    if causes:
        root = causes[-1].strip()
        return Cause("unknown", f"The appmaster stopped; root cause in its log: {root}", root)
    for pattern in (_GENERIC[0], _GENERIC[2]):
        m = pattern.search(text)
        if m:
            return Cause("unknown", f"The appmaster stopped: {m.group(1).strip()}", m.group(1).strip())
    return None


_FATAL = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3} ERROR .*(Fatal error occurred in the cluster entrypoint|"
    r"Could not start cluster entrypoint)", re.M)


def fatal_since(text: str, since: float) -> Optional[str]:
    """The first 'the entrypoint is going down' ERROR line logged at or after ``since`` (epoch seconds).

    Log4j writes local time with millisecond precision; lines from an earlier run (before the log rolled over)
    are older than ``since`` and ignored. Second resolution with a one-second margin is enough here.
    """
    for m in _FATAL.finditer(text):
        when = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp()
        if when >= since - 1:
            return m.group(0)
    return None


_VERSION = re.compile(r"Starting \w+ \(Version: ([^,\s]+),")


def flink_version(text: str) -> Optional[str]:
    """The version the JVM announced in its startup banner ('Starting ... (Version: 1.13.6, ...')."""
    m = _VERSION.search(text)
    return m.group(1) if m else None


def rest_came_up(text: str) -> bool:
    """Whether the log shows the REST endpoint started (a JVM that got that far has its classpath right)."""
    return "Rest endpoint listening at" in text


def tail(text: str, lines: int = 40) -> List[str]:
    """The last lines of a log, for the module's failure result."""
    return text.splitlines()[-lines:]
