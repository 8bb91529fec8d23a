"""Verify the `ha` scenario: a session with ZooKeeper HA on Mesos, and the faults it must survive (issue 11).

Why these checks: they read what Flink's REST API, the Mesos master and ZooKeeper say, and the fault records the
probe (tests/ha/ha_probe.py) wrote while it timed each recovery on the host, not what a playbook intended. A
restart that came back under a NEW framework, a job that came back without its checkpoint, or a cleared
FrameworkID that the module did not report fails them.

Mesos is the TEST-ONLY stand-in (tests/mesos_standin) unless MESOS_PACKAGE names a REAL Mesos package; a
stand-in result is a result about Flink, the roles and the module, not about Mesos.

verify runs twice: after converge/idempotence (phase "converged": no fault yet) and after side_effect (phase
"faults": /root/ha-absent.json exists, written after the session was removed last).
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, List

import pytest

testinfra_hosts = ["ansible://ha-am"]

UNIT = "flink-appmaster-ha.service"
FRAMEWORK = "flink-ha-scenario"
MASTER_API = "http://ha-master:5050"
ZNODE = "/flink/flink-ha-scenario/mesos-workers/frameworkId"


def json_file(host: Any, path: str) -> Any:
    f = host.file(path)
    assert f.exists, f"{path} is missing on ha-am"
    return json.loads(f.content_string)


def get_json(host: Any, url: str) -> Any:
    out = host.run(f"curl -fsS --max-time 10 {url}")
    assert out.rc == 0, f"GET {url} failed: {out.stderr}"
    return json.loads(out.stdout)


def stored_framework_id(host: Any) -> str:
    """The FrameworkID Flink keeps in ZooKeeper, read with ZooKeeper's own CLI on a server of the ensemble."""
    zk = host.get_host(f"ansible://ha-master?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")
    out = zk.run(f"/usr/share/zookeeper/bin/zkCli.sh -server ha-master:2181 get {ZNODE} 2>/dev/null")
    assert out.rc == 0, out.stderr
    ids = re.findall(r"^([0-9a-f-]+-\d{4,})$", out.stdout, re.MULTILINE)
    assert len(ids) <= 1, out.stdout
    return ids[0] if ids else ""


def active(frameworks: List[Dict[str, Any]]) -> List[str]:
    return [f["id"] for f in frameworks if f.get("active")]


def faults_phase(host: Any) -> bool:
    return host.file("/root/ha-absent.json").exists


@pytest.fixture()
def converged(host: Any) -> None:
    if faults_phase(host):
        pytest.skip("phase 'faults': side_effect has run")


@pytest.fixture()
def faulted(host: Any) -> None:
    if not faults_phase(host):
        pytest.skip("phase 'converged': side_effect has not run yet")


# ---- phase "converged" ------------------------------------------------------------------------------------------

def test_framework_id_is_stored_in_zookeeper(host: Any, converged: None) -> None:
    record = json_file(host, "/root/ha-converge.json")
    assert re.fullmatch(r"[0-9a-f-]+-\d{4,}", record["framework_id"]), record
    assert stored_framework_id(host) == record["framework_id"]
    master = get_json(host, f"{MASTER_API}/master/frameworks")
    ours = [f for f in master["frameworks"] if f["name"] == FRAMEWORK]
    assert [f["id"] for f in ours] == [record["framework_id"]], ours
    assert ours[0]["failover_timeout"] == 604800, ours[0]


def test_module_reported_the_ha_state_it_found(host: Any, converged: None) -> None:
    record = json_file(host, "/root/ha-converge.json")
    assert record["ha_framework_id_path"] == ZNODE, record
    # Derived from the inventory's zookeeper group: the appmaster host is not in the zookeeper play.
    assert sorted(record["ha_quorum"].split(",")) == ["ha-agent-1:2181", "ha-agent-2:2181", "ha-master:2181"], record
    # The leader the module found through ZooKeeper (the leader znode Flink wrote): this host's REST endpoint.
    assert record["ha_leader_rest_address"] == "http://ha-am:8081", record


def test_appmaster_runs_on_java_11_with_zookeeper_ha(host: Any, converged: None) -> None:
    log = host.file(json_file(host, "/root/ha-converge.json")["log_file"]).content_string
    assert "11/11.0.13+8" in log, "the JobManager does not report Java 11"
    assert "high-availability, zookeeper" in log, "the JobManager did not load ZooKeeper HA"
    assert host.service(UNIT).is_running


# ---- phase "faults" ---------------------------------------------------------------------------------------------

def test_killed_appmaster_came_back_under_the_same_framework(host: Any, faulted: None) -> None:
    kill = json_file(host, "/root/ha-kill.json")
    converged_id = json_file(host, "/root/ha-converge.json")["framework_id"]
    assert kill["ok"] is True, kill
    assert kill["main_pid_after"] != kill["main_pid_before"], "systemd did not restart the appmaster"
    # Same FrameworkID, and no second framework of that name registered on the way.
    assert active(kill["mesos"]["frameworks"]) == [converged_id], kill["mesos"]
    assert kill["mesos"]["completed_frameworks"] == [], kill["mesos"]
    print(f"kill -9 of the appmaster JVM: job RUNNING again after {kill['seconds_to_running']} s")


def test_killed_appmaster_restored_the_job_from_its_checkpoint(host: Any, faulted: None) -> None:
    kill = json_file(host, "/root/ha-kill.json")
    before, after = kill["job_before"], kill["job_after"]
    assert after["state"] == "RUNNING", kill
    assert before["latest_completed_id"] is not None and before["latest_completed_id"] >= 3, before
    # The checkpoint restored is at least the last one completed before the kill (a later one may have completed
    # between the probe's read and the kill), never a fresh start.
    assert after["restored_id"] is not None and after["restored_id"] >= before["latest_completed_id"], kill
    assert 0 < kill["seconds_to_running"] < 240, kill


def test_job_survived_a_stopped_zookeeper_server(host: Any, faulted: None) -> None:
    zk = json_file(host, "/root/ha-zookeeper.json")
    assert zk["ok"] is True, zk
    assert zk["states_while_holding"] == ["RUNNING"], zk
    print(f"one ZooKeeper server stopped: job RUNNING {zk['seconds_to_running']} s after the stop "
          f"(states seen: {zk['states_seen']})")


def test_removed_framework_id_was_cleared_and_said(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-teardown-converge.json")
    torn = record["torn_down_id"]
    ha = record["ha"]
    assert ha["stored_framework_id"] == torn, record
    assert ha["stored_framework_state"] == "removed" and ha["cleared"] is True, ha
    assert "Framework has been removed" in ha["message"] and torn in ha["message"], ha
    assert any(torn in w for w in record["warnings"]), record["warnings"]
    # A new framework, registered and stored in ZooKeeper in place of the removed one.
    assert record["framework_id"] and record["framework_id"] != torn, record
    assert record["stored_framework_id_after"] == [record["framework_id"]], record


def test_job_ran_again_from_its_checkpoint_under_the_new_framework(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-teardown-converge.json")
    watch = json_file(host, "/root/ha-teardown.json")
    assert watch["ok"] is True, watch
    assert watch["job_after"]["restored_id"] is not None, watch
    # What the master listed when the job was RUNNING again (the session is removed later in side_effect).
    mesos = watch["mesos"]
    assert active(mesos["frameworks"]) == [record["framework_id"]], mesos
    assert record["torn_down_id"] in [f["id"] for f in mesos["completed_frameworks"]], mesos
    print(f"framework torn down while the appmaster was down: job RUNNING {watch['seconds_to_running']} s after "
          "the teardown (converge included)")


def test_removal_took_this_clusters_ha_state_and_left_the_others(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-absent.json")
    removed = record["ha_removed"]
    assert removed["cluster_path"] == "/flink/flink-ha-scenario", removed
    assert removed["znodes_removed"] > 3 and removed["storage_removed"] is True, removed
    assert removed["storage_path"] == "/var/lib/flink/ha/flink-ha-scenario", removed
    children = " ".join(record["zk_children_of_root"])
    assert "other-cluster" in children and "flink-ha-scenario" not in children, record["zk_children_of_root"]
    assert record["storage_dirs"] == ["other-cluster"], record["storage_dirs"]
    # The appmaster was killed and its framework torn down before the removal.
    assert not active([f for f in record["mesos_frameworks"]["frameworks"] if f["name"] == FRAMEWORK])
    assert not host.file(f"/etc/systemd/system/{UNIT}").exists


def test_removal_was_refused_while_the_framework_was_registered(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-absent.json")
    refusal = record["refusal_while_registered"]
    assert "is still registered in the Mesos master" in refusal and "No HA state was removed" in refusal, refusal
    # The refused run left the cluster's znode in place.
    assert "flink-ha-scenario" in " ".join(record["zk_children_after_refusal"]), record["zk_children_after_refusal"]


# ---- the appmaster under Marathon: the TEST-ONLY Marathon stand-in (NOT Marathon) on the TEST-ONLY Mesos stand-in ----

def test_session_under_marathon_ran_on_the_pinned_agent(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-marathon.json")
    first = record["first"]
    assert first["changed"] is True and first["marathon"]["app_id"] == "/flink/marathon", first
    assert first["marathon"]["host"] == "ha-agent-1" and first["rest_url"] == "http://ha-agent-1:8081", first
    assert first["framework_id"] and first["ha"]["cluster_path"] == "/flink/flink-ha-marathon", first
    assert first["readiness"]["reason"] == "ready", first["readiness"]
    assert first["ha"]["leader_rest_address"] == "http://ha-agent-1:8081", first["ha"]
    assert record["second_changed"] is False, "the second converge of the Marathon session changed something"


def test_marathon_restarted_the_killed_appmaster_under_the_same_framework(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-marathon.json")
    kill = json_file(host, "/root/ha-marathon-kill.json")
    assert kill["ok"] is True and kill["seconds_to_running"] is not None, kill
    assert kill["job_after"]["restored_id"] is not None, kill["job_after"]
    app = record["app_after_kill"]
    tasks = [t for t in app["tasks"] if t["state"] == "TASK_RUNNING"]
    assert len(tasks) == 1 and tasks[0]["id"] != record["first"]["marathon"]["task_id"], app["tasks"]
    assert tasks[0]["host"] == "ha-agent-1" and app.get("lastTaskFailure"), app
    flink = [f for f in record["frameworks_after_kill"]["frameworks"] if f["name"] == FRAMEWORK]
    assert active(flink) == [record["first"]["framework_id"]], flink
    print(f"kill -9 of the appmaster under Marathon: job RUNNING again {kill['seconds_to_running']} s after the kill")


def test_removal_under_marathon_deleted_the_app_and_tore_the_framework_down(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-marathon.json")
    removed, framework_id = record["removed"], record["first"]["framework_id"]
    assert record["app_status_after_removal"] == 404, record["app_status_after_removal"]
    assert removed["framework_torn_down"] == framework_id and removed["framework_unregistered"] is True, removed
    after = record["frameworks_after_removal"]
    assert framework_id in [f["id"] for f in after["completed_frameworks"]], after
    assert not active([f for f in after["frameworks"] if f["name"] == FRAMEWORK]), after
    assert removed["ha_removed"]["cluster_path"] == "/flink/flink-ha-marathon", removed["ha_removed"]
    assert removed["ha_removed"]["znodes_removed"] > 0, removed["ha_removed"]


def test_restart_under_marathon_waited_for_the_same_framework_and_its_taskmanagers(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-marathon.json")
    restarted, first = record["restarted"], record["first"]
    assert restarted["changed"] is True and restarted["readiness"]["reason"] == "ready", restarted
    assert restarted["marathon"]["task_id"] != first["marathon"]["task_id"], restarted["marathon"]
    assert restarted["framework_id"] == first["framework_id"], (restarted["framework_id"], first["framework_id"])
    assert restarted["ha"]["stored_framework_state"] == "active", restarted["ha"]
    # The job ran with parallelism 2 on one-slot TaskManagers: two workers stored, two back before "ready".
    assert restarted["ha"]["expected_taskmanagers"] == 2, restarted["ha"]
    assert restarted["overview"]["taskmanagers"] >= 2, restarted["overview"]
    print(f"restart under Marathon: ready after {restarted['readiness']['elapsed']} s ({restarted['readiness']['events']})")


# ---- a per-job cluster with ZooKeeper HA, removed with its HA state through the flink_job role ----

def test_per_job_cluster_ran_with_its_own_cluster_id_and_a_leader(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-per-job.json")
    started = record["started"]
    assert started["changed"] is True and started["readiness"]["reason"] == "ready", started
    assert started["ha"]["cluster_path"] == "/flink/flink-job-ha-per-job", started["ha"]
    # Readiness waited for the leader the per-job cluster published in ZooKeeper: its own REST port.
    assert started["ha"]["leader_rest_address"] == "http://ha-am:8084", started["ha"]
    assert any("published in ZooKeeper" in e for e in started["readiness"]["events"]), started["readiness"]
    assert "flink-job-ha-per-job" in " ".join(record["zk_children_while_running"]), record["zk_children_while_running"]


def test_per_job_removal_took_its_ha_state_and_unregistered_its_framework(host: Any, faulted: None) -> None:
    record = json_file(host, "/root/ha-per-job.json")
    removed, framework_id = record["removed"], record["started"]["framework_id"]
    assert removed["ha_removed"]["cluster_path"] == "/flink/flink-job-ha-per-job", removed
    # DELETE /cluster unregistered the framework, and no restarted appmaster registered another (Flink 1.13 exits 2
    # after a clean HA shutdown, and Restart=on-failure would start it again if the module waited on the unit).
    assert removed["framework_unregistered"] is True, removed
    children = " ".join(record["zk_children_after_removal"])
    assert "flink-job-ha-per-job" not in children and "other-cluster" in children, record["zk_children_after_removal"]
    after = record["frameworks_after_removal"]
    assert framework_id and framework_id not in active(after["frameworks"]), after
    assert not host.file("/etc/systemd/system/flink-appmaster-ha-per-job.service").exists
