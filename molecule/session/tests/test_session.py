"""Verify the `session` scenario on the appmaster host: a Flink session on Mesos, a real job on it, a clean stop.

Why these checks: they read the live process (/proc/<pid>/cmdline and environ), the JVM's own log, Flink's REST
answers, the Mesos master's and the agent's own state, not the files the module wrote, so a command line, an
environment, a framework or a TaskManager that never reached Mesos fails the test.

Mesos is the TEST-ONLY stand-in (tests/mesos_standin), reached through the TEST-ONLY pure-Java scheduler driver
the scenario hands to the flink role as a user jar, unless MESOS_PACKAGE names a REAL Mesos package: then the
same assertions hold against real Mesos and libmesos, and the stand-in driver must NOT be on the classpath. A
stand-in result is a result about Flink, the roles and the module, not about Mesos.

The scenario runs verify twice: after converge/idempotence (phase "running": session up, framework registered,
no TaskManager yet because Flink starts them on demand) and after side_effect ran a job and removed the session
(phase "absent", marked by /root/session-absent.json).
"""
from __future__ import annotations

import base64
import json
import os
import re
import time
from typing import Any, Dict, List, Optional

import pytest

testinfra_hosts = ["ansible://sess-am"]

UNIT = "flink-appmaster-sess.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
REAL_MESOS = os.environ.get("FLINK_MESOS_SOURCE") == "real"  # tools/lib.sh, export_mesos_source
FRAMEWORK = "flink-session-scenario"
MASTER_API = "http://sess-master:5050"
AGENT_HOST = "sess-agent"
DRIVER_JAR = "mesos-standin-scheduler-driver-1.11.0.jar"
JOB_COUNT = 100000


def journal(host: Any) -> str:
    return host.run(f"journalctl -u {UNIT} -n 50 --no-pager").stdout


def absent_phase(host: Any) -> bool:
    return host.file("/root/session-absent.json").exists


def json_file(host: Any, path: str) -> Any:
    f = host.file(path)
    assert f.exists, f"{path} is missing on sess-am"
    return json.loads(f.content_string)


def get_json(host: Any, url: str) -> Any:
    out = host.run(f"curl -fsS --max-time 10 {url}")
    assert out.rc == 0, f"GET {url} failed: {out.stderr}"
    return json.loads(out.stdout)


def our_framework(frameworks: List[Dict[str, Any]], framework_id: str) -> Optional[Dict[str, Any]]:
    return next((f for f in frameworks if f.get("id") == framework_id), None)


@pytest.fixture()
def running_phase(host: Any) -> None:
    if absent_phase(host):
        pytest.skip("phase 'absent': the session was removed by side_effect")


@pytest.fixture()
def after_absent(host: Any) -> None:
    if not absent_phase(host):
        pytest.skip("phase 'running': side_effect has not run the job and removed the session yet")


def test_removed_session_no_longer_holds_its_port(host: Any, after_absent: None) -> None:
    assert not host.file("/etc/ansible/facts.d/streamops_flink_session_sess.fact").exists
    assert host.file("/etc/ansible/facts.d/streamops_flink.fact").exists


# ---- phase "running" -------------------------------------------------------------------------------------------

def test_session_rest_port_is_recorded_for_later_job_runs(host: Any, running_phase: None) -> None:
    """playbooks/job.yml keeps jobs off the session's port by reading this record (ansible_local), not variables."""
    fact = host.file("/etc/ansible/facts.d/streamops_flink_session_sess.fact")
    assert fact.user == "root" and fact.mode == 0o644, (fact.user, oct(fact.mode))
    assert json.loads(fact.content_string) == {"name": "sess", "rest_port": 8081}
    local = host.ansible("setup", "filter=ansible_local")["ansible_facts"]["ansible_local"]
    assert local["streamops_flink_session_sess"]["rest_port"] == 8081, local
    assert local["streamops_flink"]["flink_home"] == "/opt/flink", local


def test_module_reported_a_registered_framework(host: Any, running_phase: None) -> None:
    res = json_file(host, "/root/session-result.json")
    assert res["flink_version"] == "1.13.6", f"{res}\n{journal(host)}"
    assert re.fullmatch(r"[0-9a-f-]+-\d{4,}", res["framework_id"]), res
    assert res["unit"] == UNIT


def test_framework_is_active_in_mesos_with_the_configured_identity(host: Any, running_phase: None) -> None:
    res = json_file(host, "/root/session-result.json")
    fw = our_framework(get_json(host, f"{MASTER_API}/master/frameworks")["frameworks"], res["framework_id"])
    assert fw is not None, f"framework {res['framework_id']} not listed by the master"
    assert fw["name"] == FRAMEWORK and fw["hostname"] == "sess-am"
    assert fw["active"] is True and fw["connected"] is True
    assert fw["user"] == "flink" and fw["role"] == "*"
    assert fw["failover_timeout"] == 604800, fw
    # Flink starts TaskManagers only when a job asks for slots: none before the first job.
    assert fw["tasks"] == [], fw["tasks"]
    overview = get_json(host, "http://127.0.0.1:8081/overview")
    assert overview["taskmanagers"] == 0 and overview["flink-version"] == "1.13.6", overview


def test_unit_is_supervised_enabled_and_running(host: Any, running_phase: None) -> None:
    unit = host.file(UNIT_PATH)
    assert unit.exists, journal(host)
    lines = unit.content_string.splitlines()
    for setting in ("Restart=on-failure", "KillMode=control-group", "SuccessExitStatus=143", "User=flink"):
        assert setting in lines, f"{setting} missing from {UNIT_PATH}"
    assert host.service(UNIT).is_enabled, journal(host)
    assert host.service(UNIT).is_running, journal(host)


def read_proc(host: Any, pid: int, name: str) -> List[str]:
    out = host.run(f"base64 -w0 /proc/{pid}/{name}")
    assert out.rc == 0, out.stderr
    return [p.decode() for p in base64.b64decode(out.stdout).split(b"\0") if p]


def java_child(host: Any, main_pid: int) -> Optional[int]:
    """The JVM among the script's children (before it, the script forks subshells for its classpath)."""
    out = host.run(f"cat /proc/{main_pid}/task/{main_pid}/children")
    for pid in out.stdout.split() if out.rc == 0 else []:
        if host.run(f"cat /proc/{pid}/comm").stdout.strip() == "java":
            return int(pid)
    return None


def live_process(host: Any) -> Dict[str, Any]:
    """The running unit's script and JVM: argv, environment and user, read from /proc."""
    deadline = time.time() + 30
    while time.time() < deadline:
        main_pid = int(host.check_output(f"systemctl show -p MainPID --value {UNIT}") or 0)
        pid = java_child(host, main_pid) if main_pid else None
        if pid:
            return {
                "main_cmdline": read_proc(host, main_pid, "cmdline"),
                "cmdline": read_proc(host, pid, "cmdline"),
                "environ": dict(e.split("=", 1) for e in read_proc(host, pid, "environ") if "=" in e),
                "main_environ": dict(e.split("=", 1) for e in read_proc(host, main_pid, "environ") if "=" in e),
                "user": host.check_output(f"stat -c %U /proc/{pid}"),
            }
        time.sleep(0.2)
    pytest.fail(f"no JVM child under {UNIT} within 30 s:\n{journal(host)}")


def test_live_process_has_the_exact_command_line_and_environment(host: Any, running_phase: None) -> None:
    res = json_file(host, "/root/session-result.json")
    live = live_process(host)
    command: List[str] = res["command"]
    dynamic = command[1:]
    assert command[0] == "/opt/flink/bin/mesos-appmaster.sh", command
    assert "-Drest.port=8081" in dynamic and "-Dweb.submit.enable=false" in dynamic, command
    # The script execs mesos-jobmanager.sh <EntryClass> with exactly the module's -D arguments.
    main = live["main_cmdline"]
    entry_main = main.index("org.apache.flink.mesos.entrypoint.MesosSessionClusterEntrypoint")
    assert main[entry_main + 1:] == dynamic, main
    assert main[entry_main - 1].endswith("/bin/mesos-jobmanager.sh"), main
    java = live["cmdline"]
    entry = java.index("org.apache.flink.mesos.entrypoint.MesosSessionClusterEntrypoint")
    # mesos-jobmanager.sh puts its computed JobManager memory options ("-D jobmanager.memory.*=...") first.
    assert java[len(java) - len(dynamic):] == dynamic, java
    computed = java[entry + 1:len(java) - len(dynamic)]
    assert computed[0::2] == ["-D"] * (len(computed) // 2), computed
    assert all(kv.startswith("jobmanager.memory.") for kv in computed[1::2]), computed
    # Java 17 flags arrived through JVM_ARGS, and the Hadoop jars are on the classpath.
    assert "--add-exports=java.base/sun.net.util=ALL-UNNAMED" in java, java
    classpath = java[java.index("-classpath") + 1].split(":")
    names = [p.rsplit("/", 1)[-1] for p in classpath]
    assert "hadoop-client-api-3.3.4.jar" in names and "hadoop-client-runtime-3.3.4.jar" in names, classpath
    # The TEST-ONLY driver is on the classpath with the stand-in only, and ahead of flink-dist (Flink puts
    # lib/*.jar first and flink-dist last), which is why its MesosSchedulerDriver wins over libmesos's.
    dist = next(i for i, n in enumerate(names) if n.startswith("flink-dist_"))
    if REAL_MESOS:
        assert DRIVER_JAR not in names, classpath
    else:
        assert names.index(DRIVER_JAR) < dist, classpath
    for key, value in res["environment"].items():
        got = live["main_environ"].get(key)
        assert got == value, f"{key}: script {got!r} != module {value!r}"
    for key, value in res["environment"].items():
        got = live["environ"].get(key, "")
        if key == "JVM_ARGS":
            assert got.startswith(value), f"JVM_ARGS: java {got!r} does not start with the module's {value!r}"
            assert all(f in java for f in got[len(value):].split()), (got, java)
        else:
            assert got == value, f"{key}: java {got!r} != module {value!r}"
    assert live["environ"]["FLINK_IDENT_STRING"] == "sess"
    assert live["user"] == "flink"


def test_log_shows_flink_registering_the_framework(host: Any, running_phase: None) -> None:
    res = json_file(host, "/root/session-result.json")
    log = host.file(res["log_file"])
    assert log.exists, f"no log at {res['log_file']}:\n{journal(host)}"
    text = log.content_string
    assert "Starting MesosSessionClusterEntrypoint (Version: 1.13.6," in text, text[:3000]
    assert "Rest endpoint listening at" in text, text[-3000:]
    assert res["framework_id"] in text, f"Flink's log never names framework {res['framework_id']}:\n{text[-3000:]}"
    assert "UnsatisfiedLinkError" not in text, text[-3000:]
    banner = "TEST-ONLY STAND-IN MesosSchedulerDriver"
    assert (banner in text) is (not REAL_MESOS), "the stand-in driver banner must appear exactly when it is used"


# ---- phase "absent": the job ran, then the session was removed -------------------------------------------------

def test_framework_survived_a_master_restart_with_the_same_id(host: Any, after_absent: None) -> None:
    """After mesos-master restarted, the driver re-subscribed with the SAME FrameworkID (no second framework)."""
    res = json_file(host, "/root/session-result.json")
    after = json_file(host, "/root/session-failover.json")
    named = [f for f in after["frameworks"] if f["name"] == FRAMEWORK]
    assert [f["id"] for f in named] == [res["framework_id"]], named
    assert named[0]["active"] is True and named[0]["connected"] is True, named[0]
    # The log of that JVM, kept by side_effect before the upgrade restart started a new one.
    log = host.file("/root/session-failover.log").content_string
    # Flink's driver callbacks: disconnected, then reregistered (not a fresh registration) with the same id.
    if not REAL_MESOS:
        assert f"Framework reregistered with {res['framework_id']}" in log, log[-3000:]


def test_job_finished_with_the_right_result(host: Any, after_absent: None) -> None:
    rec = json_file(host, "/root/session-job.json")
    assert rec["job"]["state"] == "FINISHED", rec["job"]
    expected = JOB_COUNT * (JOB_COUNT + 1)
    assert int(rec["expected_sum"]) == expected
    assert int(rec["client_sum"]) == expected and int(rec["client_count"]) == JOB_COUNT, rec["client_stdout"]
    # Flink's REST view of the same accumulators, summed over the two parallel subtasks on the TaskManagers.
    accs = {a["name"]: a["value"] for a in rec["accumulators"]["user-task-accumulators"]}
    assert int(accs["sum"]) == expected and int(accs["count"]) == JOB_COUNT, accs
    assert [v["parallelism"] for v in rec["job"]["vertices"]] == [2], rec["job"]["vertices"]


def test_taskmanagers_ran_on_the_agent_on_offered_ports(host: Any, after_absent: None) -> None:
    rec = json_file(host, "/root/session-job.json")
    tms = rec["taskmanagers"]
    assert len(tms) == 2, tms
    for tm in tms:
        # akka.tcp://flink@<address>:<port>/user/rpc/taskmanager_0: the agent's address, a port from its offer.
        m = re.match(r"akka\.tcp://flink@([^:/]+):(\d+)/", tm["path"])
        assert m, tm["path"]
        assert m.group(1) == rec["agent_ip"], (tm["path"], rec["agent_ip"])
        assert 31000 <= int(m.group(2)) <= 32000, tm["path"]
        assert 31000 <= int(tm["dataPort"]) <= 32000, tm


def test_mesos_ran_the_taskmanagers_as_tasks_of_our_framework(host: Any, after_absent: None) -> None:
    rec = json_file(host, "/root/session-job.json")
    res = json_file(host, "/root/session-upgrade.json")  # the framework after the upgrade restart
    tm_ids = sorted(tm["id"] for tm in rec["taskmanagers"])
    fw = our_framework(rec["mesos_frameworks"]["frameworks"], res["framework_id"])
    assert fw is not None, rec["mesos_frameworks"]
    running = {t["id"]: t for t in fw["tasks"] if t["state"] == "TASK_RUNNING"}
    # The TaskManager's ResourceID is the Mesos task id (MesosTaskExecutorRunner reads it from the environment).
    assert sorted(running) == tm_ids, (sorted(running), tm_ids)
    for task in running.values():
        assert task["framework_id"] == res["framework_id"]
        assert task["slave_id"] == rec["agent_state"]["id"], (task["slave_id"], rec["agent_state"]["id"])
        # Mesos's state JSON shows resources as a map: the TaskManager's 1024 MB and 1 cpu from the offer, and
        # the two ports (RPC and data) Flink took from the offer's ranges.
        assert task["resources"]["mem"] == 1024.0 and task["resources"]["cpus"] == 1.0, task["resources"]
        low, high = (int(p) for p in task["resources"]["ports"].strip("[]").split("-"))
        assert 31000 <= low and high == low + 1 <= 32000, task["resources"]
    # The agent's own view: the same tasks under our framework.
    agent_fw = our_framework(rec["agent_state"]["frameworks"], res["framework_id"])
    assert agent_fw is not None, rec["agent_state"]["frameworks"]
    agent_tasks = sorted(t["id"] for e in agent_fw["executors"] for t in e["tasks"])
    assert agent_tasks == tm_ids, agent_tasks


def test_stop_unregistered_the_framework_and_left_nothing(host: Any, after_absent: None) -> None:
    res = json_file(host, "/root/session-upgrade.json")  # the framework after the upgrade restart
    stop = json_file(host, "/root/session-absent.json")
    assert stop["framework_unregistered"] is True, stop
    assert our_framework(stop["mesos_frameworks"]["frameworks"], res["framework_id"]) is None, stop
    done = our_framework(stop["mesos_frameworks"]["completed_frameworks"], res["framework_id"])
    # The framework from before the upgrade restart was unregistered then: completed too, no duplicate left.
    first = json_file(host, "/root/session-result.json")["framework_id"]
    assert first != res["framework_id"], (first, res["framework_id"])
    assert our_framework(stop["mesos_frameworks"]["frameworks"], first) is None, stop
    assert done is not None and done["active"] is False, stop["mesos_frameworks"]
    assert not host.file(UNIT_PATH).exists
    load = host.run(f"systemctl show -p LoadState --value {UNIT}").stdout.strip()
    assert load == "not-found", f"{UNIT} is still known to systemd ({load}):\n{journal(host)}"
    procs = host.run("pgrep -u flink -a java")
    assert procs.rc == 1, f"flink processes left behind:\n{procs.stdout}"


def test_a_flink_version_change_restarted_the_appmaster_once(host: Any, after_absent: None) -> None:
    """A version change alone (same flink-conf.yaml) restarts the appmaster onto the new tree; the second run with
    the same version leaves the process alone (issue 14)."""
    rec = json_file(host, "/root/session-upgrade.json")
    assert rec["unit_release_lines"] == ["# Flink release: /opt/flink-1.13.6-repack"], rec
    assert rec["first_changed"] is True and rec["pid_first"] != rec["pid_before"], rec
    assert rec["second_changed"] is False and rec["pid_second"] == rec["pid_first"], rec
    assert int(rec["pid_first"]) > 0, rec
