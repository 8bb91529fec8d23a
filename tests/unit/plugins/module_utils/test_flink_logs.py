"""Log classification against logs of real Flink 1.13.6 appmaster runs.

Why: the module's failure message is only as good as its reading of the log; the stack traces are long and
the first ERROR line is generic, so each real failure must map to its own cause, not to "something failed".
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import flink_logs

LOGS = Path(__file__).parent / "fixtures" / "logs"


def read(name: str) -> str:
    return (LOGS / name).read_text()


@pytest.mark.parametrize(
    "fixture, cause_id, words",
    [
        ("nohadoop.log", "hadoop_missing", "UserGroupInformation"),
        ("nolibmesos.log", "libmesos_missing", "libmesos.so"),
        ("badlibmesos.log", "libmesos_unloadable", "/tmp/d-cap/fake-libmesos.so"),
        ("missinglib.log", "libmesos_unloadable", "/tmp/d-cap/does-not-exist.so"),
        ("noflags.log", "java_module_access", "sun.net.util"),
        ("portbusy.log", "port_in_use", "18194"),
        ("nojobgraph.log", "jobgraph_unreadable", "FileNotFoundException"),
        ("badjobgraph.log", "jobgraph_unreadable", "StreamCorruptedException"),
        ("badconfig.log", "bad_configuration", "taskmanager.memory"),
    ],
)
def test_real_logs_are_classified(fixture: str, cause_id: str, words: str) -> None:
    cause = flink_logs.classify(read(fixture))
    assert cause is not None
    assert cause.id == cause_id, cause
    assert words in cause.message
    # The evidence is a line that is really in the log.
    assert cause.evidence.split(":")[0] in read(fixture)


def test_stdout_of_the_script_names_libmesos_too() -> None:
    # Under systemd the script's stdout goes to the journal; it alone must also be enough.
    assert "Failed to load native Mesos library" in read("nolibmesos.stdout")


def test_nolibmesos_log_shows_rest_came_up_first() -> None:
    # The reason readiness needs a settle period: REST answered before the fatal error.
    text = read("nolibmesos.log")
    assert flink_logs.rest_came_up(text)
    assert text.index("Rest endpoint listening") < text.index("UnsatisfiedLinkError")
    assert not flink_logs.rest_came_up(read("noflags.log"))


@pytest.mark.parametrize(
    "line, cause_id",
    [
        # Written after Mesos 1.11 scheduler-driver messages (no libmesos here to capture real ones).
        ("E1124 sched.cpp:1234] Framework has been removed", "mesos_registration_refused"),
        ("Mesos error: Framework is not authorized to register as 'flink'", "mesos_registration_refused"),
        ("Master refused authentication", "mesos_registration_refused"),
        ("Failed to connect to 10.0.0.5:5050: Connection refused", "mesos_unreachable"),
        ("Failed to detect a master: Failed to connect to ZooKeeper", "mesos_unreachable"),
    ],
)
def test_mesos_side_messages(line: str, cause_id: str) -> None:
    cause = flink_logs.classify(f"2026-01-01 00:00:00,000 ERROR x [] - {line}\n")
    assert cause is not None and cause.id == cause_id


def test_unknown_failure_reports_root_cause() -> None:
    text = (
        "2026-01-01 00:00:00,000 ERROR org.apache.flink.runtime.entrypoint.ClusterEntrypoint [] - Could not start\n"
        "org.apache.flink.util.FlinkException: wrapper\n"
        "Caused by: java.lang.RuntimeException: outer\n"
        "Caused by: java.lang.IllegalStateException: the real reason\n"
    )
    cause = flink_logs.classify(text)
    assert cause is not None and cause.id == "unknown"
    assert "the real reason" in cause.message


def test_clean_log_has_no_cause() -> None:
    head = [line for line in read("nolibmesos.log").splitlines() if "ERROR" not in line][:20]
    assert flink_logs.classify("\n".join(line for line in head if "Exception" not in line)) is None


def test_tail() -> None:
    assert flink_logs.tail("a\nb\nc\n", 2) == ["b", "c"]


def _epoch(stamp: str) -> float:
    import datetime

    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").timestamp()


def test_fatal_line_is_found_only_for_this_run() -> None:
    # In the real run the fatal line (20:16:34) comes ~5 s before the JVM exits; finding it saves that wait.
    text = read("nolibmesos.log")
    line = flink_logs.fatal_since(text, _epoch("2026-11-24 20:16:30"))
    assert line is not None and "Fatal error occurred in the cluster entrypoint" in line
    # A later start must not be fooled by the previous run's lines.
    assert flink_logs.fatal_since(text, _epoch("2026-11-24 20:20:00")) is None
    assert "Could not start cluster entrypoint" in flink_logs.fatal_since(read("nohadoop.log"), 0)


def test_version_from_the_startup_banner() -> None:
    # The banner is in the part of the log before the excerpts; this is its real text from the same runs.
    banner = ("2026-11-24 20:30:50,331 INFO  org.apache.flink.runtime.entrypoint.ClusterEntrypoint        [] -  "
              "Starting MesosSessionClusterEntrypoint (Version: 1.13.6, Scala: 2.12, Rev:b2ca390, Date:2022-02-03)")
    assert flink_logs.flink_version(banner) == "1.13.6"
    assert flink_logs.flink_version(read("noflags.log")) is None
