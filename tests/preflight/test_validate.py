"""playbooks/validate.yml (imported first by site.yml and job.yml): every role's inputs, every host, one refusal.

Why (issue 14): refusals used to arrive one role at a time, after earlier plays had already installed Java and
ZooKeeper. The validation play must check the whole inventory without changing anything, list every problem at
once with the variable to fix, report unreachable hosts by name and what the cluster loses, and stop before any
host changes. These runs use fake local hosts in check mode (conftest.py).
"""
from __future__ import annotations

import re
from typing import Any

from preflight_batch import Run, preflight_run
from refusal import free_port, refused

# One host per group, as site.yml expects them.
GROUPS: dict[str, dict[str, dict[str, Any]]] = {
    "zookeeper": {"zk-1": {}},
    "mesos_masters": {"m-1": {}},
    "mesos_agents": {"a-1": {}},
    "flink_appmaster": {"am-1": {}},
}
FIRST_SITE_PLAY = "PLAY [ZooKeeper ensemble]"


def _validate(extra_vars: dict[str, Any], groups: dict[str, dict[str, dict[str, Any]]] | None = None,
              playbook: str = "playbooks/validate.yml") -> Run:
    return Run("validate", groups or GROUPS, extra_vars, playbook_file=playbook)


def _problem_count(output: str) -> int:
    """The number the refusal states (-1 when there is none)."""
    found = re.search(r"([0-9]+) problem\(s\) in the inventory; nothing was changed on any host", output)
    return int(found.group(1)) if found else -1


@preflight_run(lambda: _validate({}))
def test_valid_inventory_passes(result) -> None:
    """Control: the defaults on a complete inventory pass, so every refusal below is caused by its input."""
    assert result.rc == 0, result.output
    assert "Stop with every problem found" in result.output
    assert "problem(s) in the inventory" not in result.output


@preflight_run(lambda: _validate({
    "zookeeper_data_dir": "zookeeper/data",
    "mesos_agent_resources": {"cpus": "abc"},
    "flink_conf_extra": {"jobmanager.rpc.address": "127.0.0.1"},
    "flink_session_state": "running",
    "java_version": "8",
}))
def test_every_problem_is_listed_at_once(result) -> None:
    """Five broken inputs in five roles: one refusal that names each variable, short (no argument_spec dump)."""
    refused(result,
            "[zk-1] zookeeper: zookeeper_data_dir is 'zookeeper/data'; set an absolute path",
            "[a-1] mesos: mesos_agent_resources['cpus']: 'abc' is not a number",
            "[a-1, am-1] flink: flink_conf_extra['jobmanager.rpc.address'] is '127.0.0.1', a loopback address",
            "[am-1] flink_session: value of flink_session_state must be one of: started, stopped, restarted, absent, got: running",
            "[zk-1, a-1, am-1] java: java_version='8': Debian 12 ships OpenJDK 17 only")
    assert _problem_count(result.output) == 5, result.output
    assert "argument_spec_data" not in result.output
    assert result.output.count("TASK [Stop with every problem found") == 1


@preflight_run(lambda: _validate({"mesos_agent_attributes": {"rack": "1;zone"}}, playbook="playbooks/site.yml"))
def test_site_stops_before_the_first_play_that_changes_hosts(result) -> None:
    """site.yml imports validate.yml first: a bad agent attribute stops the run before the ZooKeeper play."""
    refused(result, "mesos_agent_attributes['rack']: '1;zone' contains ';'")
    assert FIRST_SITE_PLAY not in result.output, result.output


@preflight_run(lambda: _validate({}, {**GROUPS, "mesos_agents": {"a-1": {}, "a-2": {
    "ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": free_port(),
    "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no -o BatchMode=yes"}}}))
def test_unreachable_host_is_named_with_what_the_cluster_loses(result) -> None:
    refused(result, "unreachable: a-2", "in mesos_agents", "a Mesos agent (fewer TaskManager slots)",
            "set flink_mesos_allow_unreachable=true")
    assert "Failed to create temporary directory" not in result.output.split("TASK [Stop with every problem")[-1]


@preflight_run(lambda: _validate({"flink_mesos_allow_unreachable": True}, {**GROUPS, "mesos_agents": {"a-1": {}, "a-2": {
    "ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": free_port(),
    "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no -o BatchMode=yes"}}}))
def test_unreachable_host_can_be_allowed_explicitly(result) -> None:
    """With flink_mesos_allow_unreachable the reachable hosts are validated and nothing is refused."""
    assert "problem(s) in the inventory" not in result.output, result.output
    assert "unreachable: a-2" not in result.output


@preflight_run(lambda: _validate({"flink_job_name": "bad name!", "flink_job_jar": "/nonexistent.jar"},
                                 playbook="playbooks/job.yml"))
def test_job_playbook_validates_the_job_first(result) -> None:
    """job.yml imports validate.yml for java and flink_job: a bad job name is refused before the job play."""
    refused(result, "[am-1] flink_job: flink_job_name: 'bad name!' is not a valid instance name")
    assert "PLAY [Submit a Flink job as a per-job cluster on Mesos]" not in result.output, result.output


@preflight_run(lambda: _validate({"flink_session_state": "running", "flink_mesos_session": False}))
def test_per_job_only_cluster_does_not_check_the_session(result) -> None:
    """flink_mesos_session=false (site.yml without a session): flink_session's inputs are not its business; the
    same input is refused in test_every_problem_is_listed_at_once, so this pass is caused by the switch."""
    assert result.rc == 0, result.output
    assert "Stop with every problem found" in result.output
    assert "item=flink_session" not in result.output, result.output
    assert "item=flink)" in result.output, result.output
