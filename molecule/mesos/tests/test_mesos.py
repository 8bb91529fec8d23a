"""Verify the `mesos` scenario: three masters (ZooKeeper ensemble on them) and two agents.

Why these checks: they look at what the daemons themselves report (their /flags and the leader's /master/slaves),
not at the files the role wrote, so a flag that never reaches the daemon fails the test. With the TEST-ONLY
stand-in they prove the role's plumbing (units, MESOS_* environment, ZooKeeper URL, quorum, agent-info switch),
not Mesos itself; with MESOS_PACKAGE the same checks run against real Mesos.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

MASTERS = ["mesos-m1", "mesos-m2", "mesos-m3"]
AGENTS = ["mesos-a1", "mesos-a2"]
ZK_URL = "zk://mesos-m1:2181,mesos-m2:2181,mesos-m3:2181/mesos"


def _name(host: Any) -> str:
    """Inventory name of the testinfra host."""
    return host.backend.get_hostname()


def _journal(host: Any, unit: str) -> str:
    """The unit's last journal lines, for assertion messages."""
    return host.run(f"journalctl -u {unit} -n 50 --no-pager").stdout


def _get_json(host: Any, url: str) -> Any:
    """GET a URL from inside the container (follows redirects) and decode the JSON answer."""
    out = host.run(f"curl -fsSL --max-time 10 {url}")
    assert out.rc == 0, f"GET {url} failed on {_name(host)}: {out.stderr}"
    return json.loads(out.stdout)


def _is(host: Any, group: str) -> bool:
    """True when the host is in the inventory group (the scenario decides roles by group, like the role)."""
    return group in host.ansible.get_variables().get("group_names", [])


def test_units_of_this_host_are_active_and_enabled(host: Any) -> None:
    """Masters run mesos-master, agents mesos-agent, both role-owned units, enabled at boot."""
    unit = "mesos-master" if _is(host, "mesos_masters") else "mesos-agent"
    svc = host.service(unit)
    assert svc.is_running, f"{unit} is not running on {_name(host)}:\n{_journal(host, unit)}"
    assert svc.is_enabled, f"{unit} is not enabled on {_name(host)}"
    fragment = host.check_output(f"systemctl show -p FragmentPath --value {unit}")
    assert fragment == f"/etc/systemd/system/{unit}.service", f"{unit} runs from {fragment}, not the role's unit"
    assert f"EnvironmentFile=/etc/mesos/{'master' if unit == 'mesos-master' else 'agent'}.env" in host.file(fragment).content_string


def test_package_units_this_host_does_not_use_are_disabled_and_stopped(host: Any) -> None:
    """The package enabled and started mesos-master AND mesos-slave on install; the unused ones must be off."""
    unused = ["mesos-slave"] + (["mesos-master"] if _is(host, "mesos_agents") else [])
    for unit in unused:
        enabled = host.run(f"systemctl is-enabled {unit}").stdout.strip()
        active = host.run(f"systemctl is-active {unit}").stdout.strip()
        assert enabled == "disabled", f"{unit} is '{enabled}' on {_name(host)}"
        assert active in ("inactive", "failed"), f"{unit} is '{active}' on {_name(host)}:\n{_journal(host, unit)}"


def test_environment_file_is_private_and_has_mesos_variables(host: Any) -> None:
    """Flags live in a root-owned env file as MESOS_<FLAG>; agents carry the in-container settings."""
    path = "/etc/mesos/master.env" if _is(host, "mesos_masters") else "/etc/mesos/agent.env"
    env = host.file(path)
    assert env.user == "root" and env.mode == 0o640
    content = env.content_string
    assert content.startswith("#"), "the environment file must start with the ansible_managed comment"
    assert f'MESOS_HOSTNAME="{_name(host)}"' in content


@pytest.mark.parametrize("master", MASTERS)
def test_master_received_its_flags(host: Any, master: str) -> None:
    """Each master's /master/flags shows the ZooKeeper URL, quorum 2 (majority of 3) and the work dir."""
    if _name(host) != master:
        pytest.skip("checked on the master itself")
    flags = _get_json(host, "http://127.0.0.1:5050/master/flags")["flags"]
    assert flags["zk"] == ZK_URL, _journal(host, "mesos-master")
    assert flags["quorum"] == "2"
    assert flags["work_dir"] == "/var/lib/mesos/master"
    assert flags["cluster"] == "scenario-mesos"
    assert flags["hostname"] == master
    assert flags["port"] == "5050"


def test_exactly_one_leader_and_others_redirect(host: Any) -> None:
    """Every master agrees on one leader; non-leaders answer /master/state with 307 to it."""
    if _name(host) != "mesos-m1":
        pytest.skip("checked once, from mesos-m1")
    leaders = set()
    for master in MASTERS:
        code = host.check_output(
            f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 http://{master}:5050/master/state")
        if code == "200":
            leaders.add(master)
        else:
            assert code == "307", f"{master} answered {code} to /master/state"
    assert len(leaders) == 1, f"leaders: {leaders}"
    state = _get_json(host, "http://mesos-m2:5050/master/state")
    assert state["leader"].startswith("master@"), state.get("leader")
    assert state["activated_slaves"] == 2


def test_agents_registered_with_their_attributes(host: Any) -> None:
    """The leader lists both agents with their resources; a2 keeps its rack, a1 got the side_effect change."""
    if _name(host) != "mesos-m1":
        pytest.skip("checked once, from mesos-m1")
    slaves = _get_json(host, "http://mesos-m1:5050/master/slaves")["slaves"]
    by_host = {s["hostname"]: s for s in slaves if s.get("active")}
    assert sorted(by_host) == AGENTS, f"registered agents: {sorted(by_host)}"
    assert by_host["mesos-a2"]["attributes"] == {"rack": "r2", "zone": "b"}
    # side_effect.yml changed mesos-a1's rack with mesos_agent_allow_info_change_losing_tasks: true
    assert by_host["mesos-a1"]["attributes"] == {"rack": "r9", "zone": "a"}
    for agent in by_host.values():
        assert agent["resources"]["cpus"] == 2
        assert agent["resources"]["mem"] == 1024


def test_agent_received_its_flags(host: Any) -> None:
    """Each agent's own /flags: the zk:// master URL and the documented in-container switches."""
    if not _is(host, "mesos_agents"):
        pytest.skip("agents only")
    flags = _get_json(host, "http://127.0.0.1:5051/flags")["flags"]
    assert flags["master"] == ZK_URL, _journal(host, "mesos-agent")
    assert flags["work_dir"] == "/var/lib/mesos/agent"
    assert flags["launcher"] == "posix"
    assert flags["switch_user"] == "false"
    assert flags["systemd_enable_support"] == "false"
    assert flags["containerizers"] == "mesos"
    assert flags["resources"] == "cpus:2;mem:1024;ports:[31000-32000]"
    expected = "rack:r9;zone:a" if _name(host) == "mesos-a1" else "rack:r2;zone:b"
    assert flags["attributes"] == expected


def test_agent_info_change_made_a_new_agent(host: Any) -> None:
    """With the switch, the role removed meta/slaves/latest and the agent checkpointed a new agent ID."""
    if _name(host) != "mesos-a1":
        pytest.skip("mesos-a1 only")
    slaves_dir = host.file("/var/lib/mesos/agent/meta/slaves")
    assert slaves_dir.is_directory
    ids = [d for d in slaves_dir.listdir() if d != "latest"]
    assert len(ids) >= 2, f"expected the old and the new agent ID under meta/slaves, got {ids}"
    assert host.file("/var/lib/mesos/agent/meta/slaves/latest").is_symlink


def test_published_facts(host: Any) -> None:
    """mesos_master_url is the zk:// URL; the stand-in ships no libmesos.so, so mesos_native_library is ''."""
    facts = json.loads(host.file("/root/mesos-scenario-facts.json").content_string)
    assert facts["mesos_master_url"] == ZK_URL
    has_lib = any(host.file(f"{d}/libmesos.so").exists for d in ("/usr/lib", "/usr/local/lib", "/usr/lib64"))
    assert (facts["mesos_native_library"] != "") == has_lib
